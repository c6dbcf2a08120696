"""Metrics of one evaluation run (docs/contracts.md): hit@k, mrr@10, ndcg@10 through ranx, answer@1, declining, latency.

A result is relevant when its ``doc_id`` is in the question's qrels or its text contains a gold answer (whitespace
ignored). ranx judges each question against the relevant results of its own ranking (at least one placeholder, so a
question with none scores 0): hit@k and mrr@10 are the usual ones, and ndcg@10's ideal ranking puts the relevant
passages that were retrieved first.
"""

from __future__ import annotations

import re
import warnings
from dataclasses import dataclass

import numpy as np

from qa.evaluate.questions import Question
from qa.evaluate.spans import exact_match, f1

HIT_KS = (1, 3, 5, 10)
RANKING_METRICS = {f"hit@{k}": f"hit_rate@{k}" for k in HIT_KS} | {"mrr@10": "mrr@10", "ndcg@10": "ndcg@10"}
NOT_RETRIEVED = "__no_relevant_result__"
WHITESPACE = re.compile(r"\s+")


@dataclass
class Record:
    """The system's reply to one question of a set, as written to ``results.jsonl``."""

    question: Question
    retriever: str
    answerable: bool
    results: list[dict]
    latency_ms: float

    def to_dict(self) -> dict:
        """Return the ``results.jsonl`` line.

        Returns:
            ``{"id", "question", "answerable", "results", "retriever", "latency_ms"}``; ``results`` as in
            ``qa ask --json``.
        """
        return {"id": self.question.id, "question": self.question.question, "answerable": self.answerable,
                "results": self.results, "retriever": self.retriever, "latency_ms": self.latency_ms}


def squeeze(text: str) -> str:
    """Remove all whitespace, so that matching ignores it.

    Args:
        text: Any text.

    Returns:
        The text without whitespace.
    """
    return WHITESPACE.sub("", text)


def contains_answer(text: str, answers: tuple[str, ...]) -> bool:
    """Say whether a text contains one of the gold answers, whitespace ignored.

    Args:
        text: A passage or answer sentence.
        answers: The gold answers.

    Returns:
        True if some non-empty answer occurs in the text.
    """
    flat = squeeze(text)
    return any(squeeze(answer) and squeeze(answer) in flat for answer in answers)


def relevance(record: Record) -> list[bool]:
    """Judge each result of a record.

    Args:
        record: A question and its results.

    Returns:
        One flag per result, in rank order.
    """
    question = record.question
    return [result["doc_id"] in question.relevant_docs or contains_answer(result["text"], question.answers)
            for result in record.results]


def answer_at_1(record: Record) -> float | None:
    """Score whether the top result's answer sentence contains a gold answer.

    Args:
        record: A question and its results.

    Returns:
        1.0 or 0.0, or None when the question has no gold answer strings.
    """
    if not record.question.answers:
        return None
    return float(bool(record.results) and contains_answer(record.results[0]["answer"], record.question.answers))


def short_answer_scores(record: Record) -> tuple[float, float] | None:
    """Score the first result's short answer against the gold answers (exact match, F1).

    Args:
        record: A question and its results.

    Returns:
        (em, f1), or None when the question has no gold answers or the results carry no ``short_answer``.
    """
    if not record.question.answers or not record.results or "short_answer" not in record.results[0]:
        return None
    short = record.results[0]["short_answer"]
    return exact_match(short, record.question.answers), f1(short, record.question.answers)


def ranking_scores(records: list[Record]) -> list[dict[str, float]]:
    """Compute hit@1/3/5/10, mrr@10 and ndcg@10 of each record with ranx.

    Args:
        records: Records of answerable questions.

    Returns:
        One ``{metric: value}`` per record, in the same order.
    """
    if not records:
        return []
    from ranx import Qrels, Run, evaluate

    keys = [f"q{i:09d}" for i in range(len(records))]
    qrels, run = {}, {}
    for key, record in zip(keys, records):
        flags = relevance(record)
        depth = len(flags)
        run[key] = {f"r{rank}": float(depth - rank + 1) for rank in range(1, depth + 1)}
        qrels[key] = {f"r{rank}": 1 for rank, relevant in enumerate(flags, 1) if relevant} or {NOT_RETRIEVED: 1}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        scores = evaluate(Qrels(qrels), Run(run), list(RANKING_METRICS.values()), return_mean=False)
    order = sorted(range(len(keys)), key=keys.__getitem__)  # ranx returns queries sorted by id
    per_record = [dict.fromkeys(RANKING_METRICS, 0.0) for _ in records]
    for position, index in enumerate(order):
        for name, ranx_name in RANKING_METRICS.items():
            per_record[index][name] = float(np.atleast_1d(scores[ranx_name])[position])
    return per_record


def _mean(values: list[float | None]) -> float | None:
    known = [value for value in values if value is not None]
    return round(float(np.mean(known)), 4) if known else None


def summarize(records: list[Record], scores: dict[int, dict[str, float]], with_kinds: bool = True) -> dict:
    """Summarize records: ranking metrics and answer@1 over the answerable questions, declining, latency.

    Args:
        records: The records of one retriever.
        scores: Ranking scores by record position (see :func:`ranking_scores`), for the answerable records.
        with_kinds: Also break the figures down by question ``kind``.

    Returns:
        ``{"n", "n_unanswerable", "hit@1", …, "mrr@10", "ndcg@10", "answer@1", ["em", "f1"], ["declined_unanswerable",
        "declined_answerable"], "latency_p50_ms", "latency_p95_ms", ["by_kind"]}``; a metric without questions is
        None.
    """
    answerable = [i for i, r in enumerate(records) if r.question.answerable]
    unanswerable = [i for i, r in enumerate(records) if not r.question.answerable]
    summary = {"n": len(answerable), "n_unanswerable": len(unanswerable)}
    for name in RANKING_METRICS:
        summary[name] = _mean([scores[i][name] for i in answerable])
    summary["answer@1"] = _mean([answer_at_1(records[i]) for i in answerable])
    spans = [found for i in answerable if (found := short_answer_scores(records[i])) is not None]
    if spans:
        summary["em"] = _mean([em for em, _ in spans])
        summary["f1"] = _mean([score for _, score in spans])
    if unanswerable:
        summary["declined_unanswerable"] = _mean([float(not records[i].answerable) for i in unanswerable])
        summary["declined_answerable"] = _mean([float(not records[i].answerable) for i in answerable])
    latencies = [r.latency_ms for r in records]
    summary["latency_p50_ms"] = round(float(np.percentile(latencies, 50)), 2) if latencies else None
    summary["latency_p95_ms"] = round(float(np.percentile(latencies, 95)), 2) if latencies else None
    kinds = sorted({r.question.kind for r in records if r.question.kind})
    if with_kinds and kinds:
        summary["by_kind"] = {kind: _kind_summary(records, scores, kind) for kind in kinds + ["other"]}
        if summary["by_kind"]["other"]["n"] + summary["by_kind"]["other"]["n_unanswerable"] == 0:
            del summary["by_kind"]["other"]
    return summary


def _kind_summary(records: list[Record], scores: dict[int, dict[str, float]], kind: str) -> dict:
    chosen = [i for i, r in enumerate(records) if (r.question.kind or "other") == kind]
    return summarize([records[i] for i in chosen], {j: scores[i] for j, i in enumerate(chosen) if i in scores},
                     with_kinds=False)


def score_retriever(records: list[Record]) -> dict:
    """Compute the full summary of one retriever's records.

    Args:
        records: The records of one retriever, one per question.

    Returns:
        The summary (see :func:`summarize`).
    """
    answerable = [i for i, r in enumerate(records) if r.question.answerable]
    ranked = ranking_scores([records[i] for i in answerable])
    return summarize(records, dict(zip(answerable, ranked)))
