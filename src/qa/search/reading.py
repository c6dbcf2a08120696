"""The reader as a search part: read the best fused passages one by one until one answers, put that one first, and
find the sentence(s) holding each short answer (:mod:`qa.reader` is the model)."""

from __future__ import annotations

import numpy as np

from qa.reader import Reader, Reading


def read_focused(reader: Reader, question: str, text: str, focus: str) -> Reading:
    """Read a passage with the question, around its likeliest answer sentence.

    Args:
        reader: The reader model.
        question: The prepared question.
        text: The passage text.
        focus: The passage's answer sentence by the answer picker (a substring of the text; "" for none).

    Returns:
        The reading.
    """
    start = text.find(focus) if focus else -1
    return reader.read(question, text, (start, start + len(focus)) if start >= 0 else None)


def answering_first(order: np.ndarray, readings: dict[int, Reading], threshold: float) -> np.ndarray:
    """Move the first passage the reader says answers (probability ≥ ``threshold``) to the front.

    Args:
        order: Passage positions, best fused first.
        readings: The readings of the passages read, by position.
        threshold: The probability from which a passage answers (``Settings.decline_threshold``).

    Returns:
        The new order (the retrieval order when no passage read answers or the first does).
    """
    answering = next((at for at, i in enumerate(order) if int(i) in readings
                      and readings[int(i)].probability >= threshold), 0)
    return np.concatenate([order[answering:answering + 1], order[:answering], order[answering + 1:]])


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
