"""The reader: a small model that reads a question with a passage, points at the exact answer span and says how
likely the passage answers the question.

It is m3e-small fine-tuned with two heads (training/train_reader.py, data card training/DATA_CARD.md), shipped as
int8 ONNX package data in ``qa/data/reader/`` (``reader.onnx``, ``tokenizer.json``, ``reader.json``), checked by
sha256 and run with ONNX Runtime; nothing is unpickled. It is independent of the embedding model of the index.
A passage is cut into windows of ``max_tokens`` (question + passage tokens, overlapping by ``stride``); given a focus
(the answer picker's sentence) only the window that holds most of it is read, else every window, each in its own run
(dynamic quantization takes one activation scale per run, so a reading does not depend on the others).
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from qa.errors import ModelUnavailable

READER_DIR = Path(__file__).resolve().parent / "data" / "reader"


@dataclass(frozen=True)
class Reading:
    """What the reader found in one passage: the best answer span (character offsets into the passage text; empty
    when none), the answer logit and the span's margin over "no answer", and the calibrated probability."""

    short_answer: str
    start: int
    end: int
    answer_logit: float
    span_margin: float
    probability: float


class Reader:
    """The shipped reader model, loaded once."""

    def __init__(self, folder: Path = READER_DIR):
        """Load the model after checking its files against the checksums in ``reader.json``.

        Args:
            folder: The reader's folder (default: the package's).

        Raises:
            ModelUnavailable: If a file is missing or does not match its checksum.
        """
        import onnxruntime
        from tokenizers import Tokenizer

        try:
            self.meta = json.loads((folder / "reader.json").read_text(encoding="utf-8"))
            for name, digest in self.meta["files"].items():
                if hashlib.sha256((folder / name).read_bytes()).hexdigest() != digest:
                    raise ModelUnavailable(f"The reader file {folder / name} does not match its checksum: reinstall qa.")
        except (OSError, ValueError, KeyError) as error:
            raise ModelUnavailable(f"The reader in {folder} cannot be read ({error}): reinstall qa.") from error
        self.tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))  # questions alone: no truncation
        self.pairs = Tokenizer.from_file(str(folder / "tokenizer.json"))  # (question, passage) windows
        self.pairs.no_padding()
        self.pairs.enable_truncation(int(self.meta["max_tokens"]), stride=int(self.meta["stride"]),
                                     strategy="only_second")
        options = onnxruntime.SessionOptions()
        options.log_severity_level = 3
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        self.session = onnxruntime.InferenceSession(str(folder / "reader.onnx"), options,
                                                    providers=["CPUExecutionProvider"])
        calibration = self.meta.get("calibration", {})
        self.weights = np.array(calibration.get("weights", [1.0, 0.0]), dtype=np.float64)
        self.bias = float(calibration.get("bias", 0.0))

    def _question(self, question: str) -> str:
        """Clip a question to the question tokens the model was trained with."""
        ids = self.tokenizer.encode(question, add_special_tokens=False).ids
        limit = int(self.meta["max_question_tokens"])
        return question if len(ids) <= limit else self.tokenizer.decode(ids[:limit]).replace(" ", "")

    def windows(self, question: str, text: str) -> list:
        """Tokenize a (question, passage) pair into overlapping windows of at most ``max_tokens`` tokens.

        Args:
            question: The prepared question.
            text: The passage text.

        Returns:
            The ``tokenizers`` encodings of the windows.
        """
        first = self.pairs.encode(self._question(question), text)
        return [first, *first.overflowing]

    def _run(self, window) -> tuple[np.ndarray, np.ndarray, float]:
        feed = {"input_ids": np.array([window.ids], dtype=np.int64),
                "attention_mask": np.array([window.attention_mask], dtype=np.int64),
                "token_type_ids": np.array([window.type_ids], dtype=np.int64)}
        start, end, answer = self.session.run(None, feed)
        return start[0], end[0], float(answer[0])


    def read(self, question: str, text: str, focus: tuple[int, int] | None = None) -> Reading:
        """Read one passage.

        Args:
            question: The prepared question.
            text: The passage text.
            focus: A character span of the text (the likeliest answer sentence): read only the window that holds
                most of it. None: read every window.

        Returns:
            The best span over the windows read, the highest answer logit and the calibrated probability.
        """
        best_answer, best = -math.inf, (-math.inf, "", 0, 0)
        windows = self.windows(question, text)
        if focus is not None and len(windows) > 1:
            windows = [max(windows, key=lambda window: _overlap(window, focus))]
        for window in windows:
            start, end, answer = self._run(window)
            best_answer = max(best_answer, answer)
            margin, first, last = best_span(start, end, window.sequence_ids, int(self.meta["max_answer_tokens"]))
            if margin > best[0]:
                begin, finish = window.offsets[first][0], window.offsets[last][1]
                best = (margin, text[begin:finish], begin, finish)
        margin, span, begin, finish = best
        probability = self.probability(best_answer, margin)
        return Reading(span.strip(), begin, finish, best_answer, margin, probability)

    def probability(self, answer_logit: float, span_margin: float) -> float:
        """The calibrated probability that a passage answers (logistic in the answer logit and the span margin,
        fitted by ``benchmarks/calibrate_reader.py``).

        Args:
            answer_logit: The answer head's highest logit over the windows.
            span_margin: The best span's score over the no-answer score.

        Returns:
            A probability in 0..1.
        """
        z = self.bias + float(self.weights @ np.array([answer_logit, max(min(span_margin, 30.0), -30.0)]))
        return 1.0 / (1.0 + math.exp(-max(min(z, 50.0), -50.0)))


def best_span(start: np.ndarray, end: np.ndarray, sequence_ids: list, longest: int) -> tuple[float, int, int]:
    """The best span (start ≤ end, at most ``longest`` tokens) of the passage tokens of one window.

    Args:
        start: The window's start logits.
        end: Its end logits.
        sequence_ids: Which sequence each token belongs to (1: the passage).
        longest: The most tokens an answer may have.

    Returns:
        The span's score minus the no-answer ([CLS]) score, and its first and last token.
    """
    context = [i for i, sequence in enumerate(sequence_ids) if sequence == 1]
    if not context:
        return -math.inf, 0, 0
    first, last = context[0], context[-1]
    scores = start[first:last + 1, None] + end[None, first:last + 1]
    allowed = np.triu(np.ones_like(scores, dtype=bool)) & ~np.triu(np.ones_like(scores, dtype=bool), longest)
    scores = np.where(allowed, scores, -np.inf)
    best = np.unravel_index(int(np.argmax(scores)), scores.shape)
    return float(scores[best] - (start[0] + end[0])), first + int(best[0]), first + int(best[1])


def _overlap(window, focus: tuple[int, int]) -> int:
    """How many characters of the focus span the passage part of a window covers."""
    spans = [window.offsets[i] for i, sequence in enumerate(window.sequence_ids) if sequence == 1]
    if not spans:
        return 0
    return max(0, min(spans[-1][1], focus[1]) - max(spans[0][0], focus[0]))


@lru_cache(maxsize=2)
def load_reader(folder: Path = READER_DIR) -> Reader:
    """The reader of a folder, loaded once per process.

    Args:
        folder: The reader's folder (default: the package's).

    Returns:
        The reader.
    """
    return Reader(folder)
