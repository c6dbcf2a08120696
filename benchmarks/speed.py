"""Throughput, accuracy and latency measurements on real data (CMRC 2018 trial set, the town report).

Every function here measures one thing and returns plain numbers; ``run.py`` decides what to run and prints.
"""

from __future__ import annotations

import json
import shutil
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from qa import index as index_store
from qa.config import Settings
from qa.documents.text import forget_tokenizations
from qa.embedding import Encoder

ROOT = Path(__file__).resolve().parents[1]
TRIAL = ROOT / "eval" / "cmrc2018-trial"  # CC BY-SA 4.0, eval/cmrc2018-trial/LICENSE.md
TOWN_CORPUS = ROOT / "corpus"
TOWN_QUESTIONS = ROOT / "eval" / "town.jsonl"


@dataclass
class Trial:
    """The CMRC 2018 trial set in BEIR layout."""

    folder: Path
    documents: list[str]
    questions: list[tuple[str, str]]
    relevant: dict[str, set[str]]


def read_jsonl(path: Path) -> list[dict]:
    """Read a JSON-lines file.

    Args:
        path: The file.

    Returns:
        One dict per non-empty line.
    """
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def load_trial(folder: Path = TRIAL) -> Trial:
    """Load the trial set: document texts, questions and which documents answer them.

    Args:
        folder: The BEIR folder.

    Returns:
        The trial set.
    """
    relevant: dict[str, set[str]] = {}
    for line in (folder / "qrels.tsv").read_text(encoding="utf-8").splitlines()[1:]:
        query_id, doc_id, *_ = line.split("\t")
        relevant.setdefault(query_id, set()).add(doc_id)
    questions = [(q["_id"], q["text"]) for q in read_jsonl(folder / "queries.jsonl")]
    documents = [d["text"] for d in read_jsonl(folder / "corpus.jsonl")]
    return Trial(folder, documents, questions, relevant)


def seconds(action: Callable[[], object]) -> float:
    """Time one call.

    Args:
        action: What to run.

    Returns:
        Wall-clock seconds it took.
    """
    start = time.perf_counter()
    action()
    return time.perf_counter() - start


def raw_encode_seconds(model, texts: list[str], batch_size: int = 32) -> float:
    """Time plain ``SentenceTransformer.encode`` of texts (normalized vectors, as ``qa`` stores them).

    Args:
        model: A loaded ``SentenceTransformer``.
        texts: The texts.
        batch_size: Its batch size (sentence-transformers' default).

    Returns:
        Seconds.
    """
    return seconds(lambda: model.encode(texts, batch_size=batch_size, normalize_embeddings=True,
                                        convert_to_numpy=True, show_progress_bar=False))


def corpus_folder(trial: Trial, work: Path) -> Path:
    """Make a corpus folder holding only the trial set's ``corpus.jsonl`` (what ``qa`` indexes of a BEIR set).

    Args:
        trial: The trial set.
        work: A scratch folder.

    Returns:
        The corpus folder.
    """
    folder = work / "trial-corpus"
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copy(trial.folder / "corpus.jsonl", folder / "corpus.jsonl")
    return folder


def build_seconds(corpus_dir: Path, index_dir: Path, encoder: Encoder,
                  max_chars: int) -> tuple[float, index_store.Index]:
    """Time ``qa``'s whole index build from scratch (read, chunk, tokenize, embed, index, write, load), with no
    tokenization remembered from an earlier build in the same process.

    Args:
        corpus_dir: The documents.
        index_dir: A folder for the index (emptied first).
        encoder: The loaded model (loading is not timed).
        max_chars: The passage length setting.

    Returns:
        Seconds and the built index.
    """
    shutil.rmtree(index_dir, ignore_errors=True)
    forget_tokenizations()
    start = time.perf_counter()
    built = index_store.build(corpus_dir, index_dir, encoder, max_chars)
    return time.perf_counter() - start, built


def dense_hit_at_1(built: index_store.Index, encoder: Encoder, trial: Trial) -> float:
    """Measure dense hit@1: the top passage comes from a document the qrels name.

    Args:
        built: An index of the trial corpus.
        encoder: The model that built it.
        trial: The trial set.

    Returns:
        The fraction of questions whose first passage is relevant.
    """
    vectors = encoder.encode_queries([text for _, text in trial.questions])
    _, ids = built.dense.search(vectors, 1)
    hits = [built.passages[int(row[0])].doc_id in trial.relevant.get(query_id, set())
            for (query_id, _), row in zip(trial.questions, ids)]
    return float(np.mean(hits))


def benchmark_questions(trial: Trial, count: int = 200) -> list[str]:
    """Pick the questions of the latency test: the town question set, then trial questions up to ``count``.

    Args:
        trial: The trial set (its questions fill up the list; they are questions the report does not answer).
        count: How many questions.

    Returns:
        ``count`` distinct questions.
    """
    town = [q["question"] for q in read_jsonl(TOWN_QUESTIONS)] if TOWN_QUESTIONS.exists() else []
    others = [text for _, text in trial.questions]
    return list(dict.fromkeys(town + others))[:count]


def latencies_ms(action: Callable[[str], object], questions: list[str], warmup: int = 5) -> np.ndarray:
    """Time one call per question, after a few untimed warm-up calls.

    Args:
        action: Called with each question.
        questions: The questions.
        warmup: How many of them are asked first, untimed.

    Returns:
        Milliseconds per question.
    """
    for question in questions[:warmup]:
        action(question)
    return np.array([1000 * seconds(lambda q=question: action(q)) for question in questions])


def percentiles(values: np.ndarray) -> dict[str, float]:
    """Summarize latencies.

    Args:
        values: Milliseconds.

    Returns:
        ``{"p50": …, "p95": …}`` rounded to 0.01 ms.
    """
    return {"p50": round(float(np.percentile(values, 50)), 2), "p95": round(float(np.percentile(values, 95)), 2)}


def best_and_median(times: list[float]) -> tuple[float, float]:
    """Return the fastest and the median of repeated timings.

    Args:
        times: Seconds of each repetition.

    Returns:
        (min, median).
    """
    return min(times), statistics.median(times)


def settings_for(backend: str, work: Path) -> Settings:
    """Settings of a benchmark run: the user's model cache, a scratch index, the given backend.

    Args:
        backend: ``torch`` or ``onnx-int8``.
        work: The scratch folder.

    Returns:
        The settings.
    """
    return Settings(backend=backend, index_dir=work / f"index-{backend}", corpus_dir=TOWN_CORPUS)
