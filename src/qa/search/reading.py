"""The reader as a search part: read the best fused passages, re-rank them with the reader's probability, and find
the sentence(s) holding each short answer (:mod:`qa.reader` is the model)."""

from __future__ import annotations

import numpy as np

from qa.reader import Reader, Reading


def read_top(reader: Reader, question: str, texts: list[str], focuses: list[str]) -> list[Reading]:
    """Read each passage text with the question, around its likeliest answer sentence.

    Args:
        reader: The reader model.
        question: The prepared question.
        texts: The passages' texts, best fused first.
        focuses: Each passage's answer sentence by the answer picker (a substring of its text).

    Returns:
        One reading per text.
    """
    readings = []
    for text, focus in zip(texts, focuses):
        start = text.find(focus) if focus else -1
        readings.append(reader.read(question, text, (start, start + len(focus)) if start >= 0 else None))
    return readings


def rerank(fused: np.ndarray, readings: list[Reading], weight: float) -> list[int]:
    """Order the read passages by fused retrieval score + ``weight`` × the reader's probability.

    Args:
        fused: The read passages' retrieval scores, best first.
        readings: Their readings.
        weight: The reader's weight (0: keep the retrieval order).

    Returns:
        Positions into ``readings``, best first (ties keep the retrieval order).
    """
    combined = np.asarray(fused, dtype=np.float64) + weight * np.array([r.probability for r in readings])
    return [int(i) for i in np.argsort(-combined, kind="stable")]


def sentences_holding(sentences: list[str], text: str, start: int, end: int) -> str:
    """Return the passage's sentence(s) that hold the character span ``text[start:end]``.

    Args:
        sentences: The passage's sentences, verbatim and in order.
        text: The passage text.
        start: The span's first character.
        end: One past its last character.

    Returns:
        The covering sentences joined as in the text, or "" when the sentences cannot be placed in the text.
    """
    cursor, covering = 0, []
    for sentence in sentences:
        found = text.find(sentence, cursor)
        if found < 0:
            return ""
        cursor = found + len(sentence)
        if found < end and cursor > start:
            covering.append((found, cursor))
    return text[covering[0][0]:covering[-1][1]] if covering else ""
