"""Answerability checks: each looks at one kind of evidence and returns a named :class:`Verdict`.

- ``years``: a question naming a year that none of the searched passages mention (2022年 asked of the 2020 report)
  cannot be answered, however well its other words match.
- ``asked_value``: a question asking for a kind of value its answer sentence does not hold (多少名学生 without a number
  of people, 面积 without an area: :mod:`qa.search.asked`); decides only without the reader.
- ``no_overlap``: not one of the question's words (nor a synonym or official wording of one) is in the first passage
  (今天天气怎么样？ asked of a work report); only recorded: beside the reader it declined more colloquial answerable
  questions than unanswerable ones.
- ``reader``: the reader model's calibrated probability that the best passage answers (:mod:`qa.reader`); declines
  below ``Settings.decline_threshold``.
- ``evidence``: logistic(intercept + weights · (coverage, dense standout, retrievers agree)), fitted on answerable and
  unanswerable questions (docs/retrieval.md, benchmarks/calibrate.py); declines below ``Settings.evidence_threshold``
  (the judge when the reader is off).

Which of them decide is :attr:`qa.search.Searcher.deciding` (measured in docs/retrieval.md); the others are only
recorded in the trace.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from qa.documents import tokenize
from qa.search.analyzer import Query
from qa.search.corpus_stats import CorpusStats
from qa.search.scorers import Scores

# All three evidence features are scale-free; the threshold is chosen on held-out question files by calibrate.py.
EVIDENCE_INTERCEPT = -3.35
EVIDENCE_WEIGHTS = np.array([5.79, 0.21, 3.13])


@dataclass(frozen=True)
class Verdict:
    """One check's finding: whether it declines the question, its score if it has one, why, what to tell the
    user when it declines, and whether it counts (a check that does not count is only recorded, e.g. the
    retrievers' evidence while the reader judges)."""

    name: str
    declines: bool
    why: str
    score: float | None = None
    notice: str = ""
    counts: bool = True

    def to_dict(self) -> dict:
        """The verdict for a trace."""
        found = {"check": self.name, "declines": self.declines, "counts": self.counts, "why": self.why}
        return found if self.score is None else {**found, "score": round(self.score, 4)}


def named_years(query: Query, stats: CorpusStats, rows: np.ndarray) -> Verdict:
    """Decline a question naming a year that none of the searched passages mention.

    Args:
        query: The analyzed question.
        stats: The corpus statistics.
        rows: The passage numbers searched.

    Returns:
        The verdict (named ``years``).
    """
    missing = uncovered_years(query.asked.years, stats, rows)
    if not missing:
        named = "、".join(query.asked.years) or "no year"
        return Verdict("years", False, f"names {named}; every named year is in the searched documents")
    return Verdict("years", True, f"no searched passage mentions {', '.join(missing)}",
                   notice=f"资料中没有关于{'、'.join(y + '年' for y in missing)}的内容。"
                          f"The documents do not mention {', '.join(missing)}.")


def uncovered_years(years: tuple[str, ...] | list[str], stats: CorpusStats, rows: np.ndarray) -> list[str]:
    """Return the years that none of the searched passages mention (the BM25 index keeps a year as a term).

    Args:
        years: Years a question names (``"2022"``).
        stats: The corpus statistics.
        rows: The passage numbers searched.

    Returns:
        The missing years, in the question's order.
    """
    everything = len(rows) == stats.count
    missing = []
    for year in years:
        found = stats.rows_with(year)
        if not len(found) or not (everything or np.isin(found, rows, assume_unique=True).any()):
            missing.append(year)
    return missing


def asked_value(query: Query, answer: str) -> Verdict:
    """Decline a question asking for a kind of value that its answer sentence does not hold.

    Args:
        query: The analyzed question.
        answer: The answer sentence(s) of the first passage.

    Returns:
        The verdict (named ``asked_value``).
    """
    if not query.asked.values:
        return Verdict("asked_value", False, "asks for no particular kind of value")
    if query.asked.lacking(answer):
        return Verdict("asked_value", True, "the answer sentence lacks the kind of value asked for",
                       notice="资料中没有找到所问的数值或日期。The documents do not give the kind of value asked for.")
    return Verdict("asked_value", False, "the answer sentence holds the kind of value asked for")


def coverage(query: Query, stats: CorpusStats, position: int) -> float:
    """Return the idf-weighted share of the question's terms found in a passage, as terms or as text (so that a word
    jieba cut differently still counts). A term counts as found when the passage has one of its synonyms or the
    official words for it (厂子 → 企业, ``src/qa/data/colloquial.tsv``); terms that only frame the question (有没有,
    平时) do not count.

    Args:
        query: The analyzed question.
        stats: The corpus statistics.
        position: The passage's number in the index.

    Returns:
        A share between 0 and 1 (1 for a question without terms).
    """
    passage_terms, text = stats.passage_terms[position], stats.passage_texts[position]
    covered = {t for term, others in query.expansions + query.everyday if any(o in text for o in others)
               for t in tokenize(term)}
    weights = {term: stats.idf(term) for term in query.terms if term not in query.frames}
    total = sum(weights.values())
    if not total:
        return 1.0
    found = passage_terms | covered
    return sum(w for term, w in weights.items() if term in found or term in text) / total


def evidence_features(query: Query, scores: Scores, rows: np.ndarray, stats: CorpusStats
                      ) -> tuple[float, float, bool]:
    """Measure what the evidence score is made of (``benchmarks/calibrate.py`` fits its weights on these).

    Args:
        query: The analyzed question.
        scores: The scores of the passages searched.
        rows: The passage numbers those scores belong to.
        stats: The corpus statistics.

    Returns:
        The coverage of the question by the top hybrid passage, how many standard deviations the best cosine lies
        above the mean, and whether dense and BM25 put the same passage first.
    """
    top = int(rows[np.argmax(scores.hybrid)])
    dense = scores.dense
    standout = float((dense.max() - dense.mean()) / dense.std()) if dense.std() > 0 else 0.0
    agree = int(np.argmax(dense)) == int(np.argmax(scores.sparse))
    return coverage(query, stats, top), standout, agree


def no_overlap(features: tuple[float, float, bool], floor: float = 0.02) -> Verdict:
    """Decline when the first passage holds (almost) none of the question's words.

    Args:
        features: From :func:`evidence_features` (the first is the coverage).
        floor: The largest idf-weighted share of the question's words that still counts as none.

    Returns:
        The verdict (named ``no_overlap``).
    """
    share = features[0]
    if share <= floor:
        return Verdict("no_overlap", True, f"the first passage holds {share:.0%} of the question's words")
    return Verdict("no_overlap", False, f"the first passage holds {share:.0%} of the question's words")


def evidence(coverage_share: float, standout: float, agree: bool) -> float:
    """Combine the retrievers' evidence into a 0..1 score that the question is answered by the top passage.

    Args:
        coverage_share: The idf-weighted share of the question's terms found in the top hybrid passage.
        standout: How many standard deviations the best cosine lies above the mean cosine over the passages.
        agree: Whether the dense and the sparse retriever put the same passage first.

    Returns:
        The calibrated evidence score.
    """
    z = EVIDENCE_INTERCEPT + float(EVIDENCE_WEIGHTS @ np.array([coverage_share, standout, float(agree)]))
    return 1.0 / (1.0 + math.exp(-z))


def evidence_check(features: tuple[float, float, bool], threshold: float) -> Verdict:
    """Decline when the retrievers' evidence is below the threshold.

    Args:
        features: From :func:`evidence_features`.
        threshold: ``Settings.evidence_threshold``.

    Returns:
        The verdict (named ``evidence``) with the evidence as its score.
    """
    score = evidence(*features)
    share, standout, agree = features
    why = (f"coverage {share:.2f}, dense standout {standout:.2f}, retrievers {'agree' if agree else 'differ'}: "
           f"evidence {score:.2f} {'<' if score < threshold else '≥'} threshold {threshold}")
    return Verdict("evidence", score < threshold, why, score)


def reader_check(probability: float, threshold: float) -> Verdict:
    """Decline when the reader's probability that a passage it read answers is below the threshold for all of them.

    Args:
        probability: The highest calibrated probability of the passages read (``Settings.reader_passages``).
        threshold: ``Settings.decline_threshold``.

    Returns:
        The verdict (named ``reader``) with the probability as its score.
    """
    relation = "<" if probability < threshold else "≥"
    return Verdict("reader", probability < threshold,
                   f"the reader gives the likeliest passage {probability:.2f} {relation} threshold {threshold}",
                   probability)
