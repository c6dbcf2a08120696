"""Exact match and F1 of a short answer, CMRC 2018 style: punctuation and whitespace dropped, each Chinese
character a token (a run of Latin letters or digits one token), F1 from the longest common run of tokens, the best
over the gold answers."""

from __future__ import annotations

import re
import unicodedata

TOKEN = re.compile(r"[A-Za-z0-9]+(?:\.[0-9]+)?|[^\sA-Za-z0-9]")


def tokens(text: str) -> list[str]:
    """Cut a text into CMRC tokens, punctuation and whitespace dropped, letters lower-cased.

    Args:
        text: An answer.

    Returns:
        The tokens.
    """
    folded = unicodedata.normalize("NFKC", text).lower()
    return [t for t in TOKEN.findall(folded) if not unicodedata.category(t[0]).startswith(("P", "S"))]


def _longest_common_run(a: list[str], b: list[str]) -> int:
    best, previous = 0, [0] * (len(b) + 1)
    for x in a:
        current = [0] * (len(b) + 1)
        for j, y in enumerate(b, 1):
            if x == y:
                current[j] = previous[j - 1] + 1
                best = max(best, current[j])
        previous = current
    return best


def f1(prediction: str, gold: list[str] | tuple[str, ...]) -> float:
    """The best F1 of a prediction against the gold answers.

    Args:
        prediction: The short answer ("" scores 0).
        gold: The gold answers.

    Returns:
        0..1.
    """
    predicted, best = tokens(prediction), 0.0
    for answer in gold:
        expected = tokens(answer)
        common = _longest_common_run(predicted, expected)
        if common:
            precision, recall = common / len(predicted), common / len(expected)
            best = max(best, 2 * precision * recall / (precision + recall))
    return best


def exact_match(prediction: str, gold: list[str] | tuple[str, ...]) -> float:
    """1.0 when the prediction equals some gold answer after dropping punctuation and whitespace, else 0.0.

    Args:
        prediction: The short answer.
        gold: The gold answers.

    Returns:
        1.0 or 0.0.
    """
    predicted = tokens(prediction)
    return float(bool(predicted) and any(predicted == tokens(answer) for answer in gold))
