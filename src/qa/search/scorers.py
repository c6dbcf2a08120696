"""The scorers (dense, sparse, document context) and the fusion that ranks passages."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from qa import index as index_store
from qa.config import Settings
from qa.search.analyzer import Query
from qa.search.context import ContextIndex
from qa.search.corpus_stats import CorpusStats


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


@dataclass
class Scores:
    """Every retriever's score of each passage, and what each channel contributed to the hybrid score."""

    dense: np.ndarray
    sparse: np.ndarray
    hybrid: np.ndarray
    shares: dict[str, np.ndarray]

    def by(self, retriever: str) -> np.ndarray:
        """One retriever's scores (``dense``, ``sparse`` or ``hybrid``)."""
        return getattr(self, retriever)

    def restricted(self, rows: np.ndarray) -> Scores:
        """The scores of the passages searched only (a document filter)."""
        return Scores(self.dense[rows], self.sparse[rows], self.hybrid[rows],
                      {name: share[rows] for name, share in self.shares.items()})


class Scorer:
    """Scores every passage with the dense and the sparse retriever and fuses them with the context channel."""

    def __init__(self, index: index_store.Index, stats: CorpusStats, settings: Settings):
        """Prepare the scorers of one index.

        Args:
            index: The loaded index.
            stats: Its corpus statistics.
            settings: The fusion settings.
        """
        self.index, self.stats, self.settings = index, stats, settings
        self.contexts = ContextIndex(index.passages)

    def dense(self, query: Query) -> np.ndarray:
        """Dense scores: ``dense_passage_weight`` × the passage's cosine (it was embedded with its title and section)
        + the rest × its best sentence's cosine."""
        count = self.stats.count
        found, ids = self.index.dense.search(query.vector[None, :], min(count, self.settings.dense_candidates))
        valid = ids[0] >= 0
        passage_cosines = np.full(count, float(found[0][valid].min()) if valid.any() else 0.0, dtype=np.float32)
        passage_cosines[ids[0][valid]] = found[0][valid]
        sentence_cosines = self.index.sentence_vectors @ query.vector
        best_sentence = np.maximum.reduceat(sentence_cosines, self.index.sentence_starts[:-1].astype(np.int64))
        mix = self.settings.dense_passage_weight
        return mix * passage_cosines + (1 - mix) * best_sentence

    def sparse(self, query: Query) -> np.ndarray:
        """BM25 scores of the question's search terms (its terms and their synonyms)."""
        term_ids = self.index.sparse.get_tokens_ids(query.search_terms)
        if not term_ids:
            return np.zeros(self.stats.count, dtype=np.float32)
        return np.asarray(self.index.sparse.get_scores_from_ids(term_ids), dtype=np.float32)

    def context(self, query: Query) -> np.ndarray:
        """The document-context channel (:class:`~qa.search.context.ContextIndex`)."""
        return self.contexts.scores(query.terms, self.stats.rows_with)

    def score(self, query: Query) -> Scores:
        """Score every passage with every retriever.

        Args:
            query: The analyzed question.

        Returns:
            Dense cosines, BM25 scores and the hybrid score: the weighted sum of the min-max normalized dense and
            BM25 scores plus ``context_weight`` × the context channel, scaled back to 0..1; with each channel's share.
        """
        dense, sparse, context = self.dense(query), self.sparse(query), self.context(query)
        weight, context_weight = self.settings.sparse_weight, self.settings.context_weight
        sparse_part = weight * min_max(sparse)
        dense_part = (1 - weight) * min_max(dense, self.settings.dense_spread_floor)
        hybrid = (sparse_part + dense_part + context_weight * context) / (1 + context_weight)
        shares = {"dense": dense_part / (1 + context_weight), "sparse": sparse_part / (1 + context_weight),
                  "context": context_weight * context / (1 + context_weight)}
        return Scores(dense, sparse, hybrid, shares)
