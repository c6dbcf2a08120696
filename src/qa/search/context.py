"""The document-context channel: how well a passage's document title and section match what the question names."""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from qa.documents import Passage, tokenize


class ContextLevel:
    """One level of document context (document titles, or whole contexts): which passages share a context, which
    contexts hold each term, and how well each term tells the contexts apart."""

    def __init__(self, contexts: list[str]):
        """Index the context of every passage.

        Args:
            contexts: One context text per passage, in index order; passages with the same text share a row.
        """
        numbers: dict[str, int] = {}
        self.rows = np.array([numbers.setdefault(context, len(numbers)) for context in contexts], dtype=np.int64)
        postings: dict[str, list[int]] = {}
        for context, number in numbers.items():
            for term in set(tokenize(context)):
                postings.setdefault(term, []).append(number)
        self.count = len(numbers)
        self.postings = {term: np.array(found, dtype=np.int64) for term, found in postings.items()}
        self.idf = {term: math.log(1 + (self.count - len(found) + 0.5) / (len(found) + 0.5))
                    for term, found in self.postings.items()}
        self.mass = np.zeros(self.count, dtype=np.float32)  # the idf of all of each context's terms
        for term, found in self.postings.items():
            self.mass[found] += self.idf[term]

    def _weights(self, terms: list[str]) -> dict[str, float]:
        """The idf of each of the question's terms that occurs in some context (its context terms)."""
        return {term: self.idf[term] for term in dict.fromkeys(terms) if term in self.postings}

    def _found(self, terms: list[str]) -> tuple[np.ndarray, float]:
        """Sum the idf of the question's context terms per context; also return their total."""
        found = np.zeros(self.count, dtype=np.float32)
        weights = self._weights(terms)
        for term, weight in weights.items():
            found[self.postings[term]] += weight
        return found, sum(weights.values())

    def shares(self, terms: list[str], rows_with: Callable[[str], np.ndarray], count: int) -> np.ndarray:
        """Score every passage by the share of the question's context terms (idf-weighted) it holds, in its
        context or in its text (a report's opening paragraph about 2020年 has no 2020 heading over it).

        Args:
            terms: The question's terms; those found in no context are ignored.
            rows_with: The passages holding a term (in context or text), e.g. from the BM25 index.
            count: The number of passages.

        Returns:
            One share (0..1) per passage; all zeros when the question has no context term.
        """
        weights = self._weights(terms)
        total = sum(weights.values())
        found = np.zeros(count, dtype=np.float32)
        for term, weight in weights.items():
            found[rows_with(term)] += weight
        return found / total if total else found

    def naming(self, terms: list[str]) -> np.ndarray:
        """Score every passage by how fully the question names its context: the share of the question's context
        terms the context has × the share of the context's own terms (idf-weighted) the question has.

        Args:
            terms: The question's terms.

        Returns:
            One score (0..1) per passage.
        """
        found, total = self._found(terms)
        if not total:
            return np.zeros(len(self.rows), dtype=np.float32)
        return (found / total * found / np.maximum(self.mass, 1e-9))[self.rows]


class ContextIndex:
    """The document-context channel: how well a passage's document context matches what the question names.

    A question that names a document's place, body or year (金城镇, 国务院, 2024年政府工作报告) should prefer that
    document's passages even when the passage text does not repeat the name, and a question naming a year should
    prefer the section about that year. Only the question's terms that occur in some context count, weighted by how
    well they tell contexts apart (a year or a place in one title counts; 政府工作报告 in every title hardly does).
    The score is the mean of two parts: how fully the question names a passage's document title
    (:meth:`ContextLevel.naming`: a word that merely occurs in a long title does not name it) and the share of the
    question's context terms the passage holds in its whole context (:attr:`~qa.documents.Passage.context`: title,
    section and the years the section means) or in its text.
    """

    def __init__(self, passages: list[Passage]):
        """Index the titles and contexts of the passages.

        Args:
            passages: The index's passages, in order.
        """
        self.titles = ContextLevel([p.title for p in passages])
        self.contexts = ContextLevel([p.context for p in passages])

    def scores(self, terms: list[str], rows_with: Callable[[str], np.ndarray]) -> np.ndarray:
        """Score every passage by how well its document context matches the question.

        Args:
            terms: The question's terms.
            rows_with: The passages holding a term in their context or text.

        Returns:
            One score (0..1) per passage.
        """
        return (self.titles.naming(terms) + self.contexts.shares(terms, rows_with, len(self.titles.rows))) / 2
