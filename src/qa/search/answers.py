"""Picking the sentence(s) of a passage that answer a question: weighted word overlap, semantic similarity and
question cues (多少 → numbers, 何时 → dates, 谁 → people …: :data:`qa.search.asked.CUES`)."""

from __future__ import annotations

import math
import re

import numpy as np

from qa import index as index_store
from qa.documents import tokenize
from qa.search.analyzer import Query
from qa.search.corpus_stats import CorpusStats

# Answer picking: weight of the sentence's cosine and of a matching question cue, next to word overlap (weight 1);
# a neighbouring sentence within NEIGHBOUR_MARGIN of the best one is shown with it. Measured on CMRC (README).
SEMANTIC_WEIGHT = 0.3
CUE_WEIGHT = 0.1
NEIGHBOUR_MARGIN = 0.1


def overlap(terms: list[str], idf: dict[str, float], sentence_terms: list[set[str]]) -> np.ndarray:
    """Score sentences by the question terms they hold, each weighted by its idf and by how few of the passage's
    sentences hold it.

    Args:
        terms: The question's search terms, without those of the document title (the topic, not the fact).
        idf: The corpus idf of each term.
        sentence_terms: The terms of each sentence of the passage.

    Returns:
        One share (0..1) per sentence.
    """
    weights = {}
    for term in terms:
        holding = sum(term in found for found in sentence_terms)
        weights[term] = idf[term] * (math.log(1 + len(sentence_terms) / holding) if holding else 1.0)
    total = sum(weights.values()) or 1.0
    return np.array([sum(w for term, w in weights.items() if term in found) / total for found in sentence_terms])


def cue_matches(cues: tuple[re.Pattern, ...], sentences: list[str]) -> np.ndarray:
    """Mark the sentences that hold what the question asks for (a number for 多少, a date for 何时 …).

    Args:
        cues: The sentence patterns the question's words call for (:attr:`qa.search.asked.Asked.cues`).
        sentences: The passage's sentences.

    Returns:
        1.0 or 0.0 per sentence.
    """
    return np.array([float(any(p.search(s) for p in cues)) for s in sentences])


def pick(sentences: list[str], scores: np.ndarray) -> str:
    """Return the best sentence, joined with a neighbour that scores within :data:`NEIGHBOUR_MARGIN` of it.

    Args:
        sentences: The passage's sentences.
        scores: Their scores.

    Returns:
        The answering sentence(s), verbatim.
    """
    best = int(np.argmax(scores))
    neighbours = [i for i in (best - 1, best + 1) if 0 <= i < len(sentences)]
    close = [i for i in neighbours if scores[i] >= scores[best] - NEIGHBOUR_MARGIN]
    if close:
        nearest = max(close, key=lambda i: scores[i])
        return "".join(sentences[min(best, nearest) : max(best, nearest) + 1])
    return sentences[best]


def sentence_scores(cues: tuple[re.Pattern, ...], cosines: np.ndarray, overlaps: np.ndarray, sentences: list[str]) -> np.ndarray:
    """Combine word overlap, semantic similarity and cues into one score per sentence.

    Args:
        cues: The sentence patterns the question calls for.
        cosines: Each sentence's cosine to the question.
        overlaps: Each sentence's :func:`overlap`.
        sentences: The sentences.

    Returns:
        The scores.
    """
    return overlaps + SEMANTIC_WEIGHT * cosines + CUE_WEIGHT * cue_matches(cues, sentences)


class AnswerPicker:
    """Picks the answering sentence(s) of the passages of one index."""

    def __init__(self, index: index_store.Index, stats: CorpusStats):
        """Pair the picker with an index and its statistics.

        Args:
            index: The loaded index (sentence vectors).
            stats: Its corpus statistics (sentences, idf).
        """
        self.index, self.stats = index, stats

    def pick(self, query: Query, position: int) -> str:
        """Pick the sentence(s) of a passage that answer the question.

        Word overlap (question terms weighted by idf, by how few of the passage's sentences hold them, and ignored
        when they are in the document title: the topic, not the fact) plus the sentence's cosine to the question
        plus a bonus when it has what the question asks for (a number for 多少, a date for 何时 …). A neighbouring
        sentence scoring nearly as well is included.

        Args:
            query: The analyzed question.
            position: The passage's number in the index.

        Returns:
            The answering sentence(s), verbatim from the passage.
        """
        sentences, sentence_terms = self.stats.sentences_of(position)
        start = int(self.index.sentence_starts[position])
        cosines = self.index.sentence_vectors[start : start + len(sentences)] @ query.vector
        title_terms = set(tokenize(self.index.passages[position].title))
        terms = [term for term in query.search_terms if term not in title_terms]
        overlaps = overlap(terms, {term: self.stats.idf(term) for term in terms}, sentence_terms)
        return pick(sentences, sentence_scores(query.asked.cues, cosines, overlaps, sentences))
