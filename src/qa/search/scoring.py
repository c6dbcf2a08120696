"""Scoring helpers: score normalization for fusion, the document-context channel, and the evidence that a question
is answered at all (for declining)."""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from qa.documents import Passage, tokenize

# Declining: evidence = logistic(intercept + weights · (coverage, dense standout, retrievers agree)), fitted on
# answerable and unanswerable questions (README) with the intercept set so that 0.5 lets ~98 % of answerable ones
# through; the question is declined below Settings.decline_threshold. All three features are scale-free.
EVIDENCE_INTERCEPT = -3.35
EVIDENCE_WEIGHTS = np.array([5.79, 0.21, 3.13])


def min_max(scores: np.ndarray, floor: float = 0.0) -> np.ndarray:
    """Scale scores to 0..1 by their range, or by ``floor`` when the range is smaller (so that differences the
    retriever cannot tell from noise are not blown up to the full scale).

    Args:
        scores: One retriever's scores over the passages.
        floor: The smallest range to divide by.

    Returns:
        The scaled scores (all zeros when they are all equal).
    """
    low, spread = float(scores.min()), max(float(scores.max() - scores.min()), floor)
    return (scores - low) / spread if spread > 0 else np.zeros_like(scores)


def evidence(coverage: float, standout: float, agree: bool) -> float:
    """Combine the retrievers' evidence into a 0..1 score that the question is answered by the top passage.

    Args:
        coverage: The idf-weighted share of the question's terms found in the top hybrid passage.
        standout: How many standard deviations the best cosine lies above the mean cosine over the passages.
        agree: Whether the dense and the sparse retriever put the same passage first.

    Returns:
        The calibrated evidence score.
    """
    z = EVIDENCE_INTERCEPT + float(EVIDENCE_WEIGHTS @ np.array([coverage, standout, float(agree)]))
    return 1.0 / (1.0 + math.exp(-z))


class ContextIndex:
    """Which passages have a term in their document context (title and section), for the context channel.

    A question that names a document's place, body or year (金城镇, 国务院, 2024年) should prefer that document's
    passages even when the passage text itself does not repeat the name. The channel scores a passage by the
    idf-weighted share of the question's terms that occur in its title or section; passages sharing a context
    share the work (one posting list per term over the distinct contexts).
    """

    def __init__(self, passages: list[Passage]):
        """Index the contexts of the passages.

        Args:
            passages: The index's passages, in order.
        """
        contexts: dict[str, int] = {}
        self.rows = np.array([contexts.setdefault(f"{p.title}\n{p.section}", len(contexts)) for p in passages],
                             dtype=np.int64)
        postings: dict[str, list[int]] = {}
        for context, number in contexts.items():
            for term in set(tokenize(context)):
                postings.setdefault(term, []).append(number)
        self.count = len(contexts)
        self.postings = {term: np.array(found, dtype=np.int64) for term, found in postings.items()}

    def scores(self, terms: list[str], idf: Callable[[str], float]) -> np.ndarray:
        """Score every passage by the idf-weighted share of the terms found in its title or section.

        Args:
            terms: The question's terms.
            idf: The corpus idf of a term.

        Returns:
            One share (0..1) per passage.
        """
        weights = {term: idf(term) for term in dict.fromkeys(terms)}
        total = sum(weights.values())
        found = np.zeros(self.count, dtype=np.float32)
        for term, weight in weights.items():
            if term in self.postings:
                found[self.postings[term]] += weight
        return (found / total)[self.rows] if total else np.zeros(len(self.rows), dtype=np.float32)
