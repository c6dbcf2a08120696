"""Measure the whole search (default settings, the shipped reader) on the held-out written questions over the local
reports: each question asked of its own report in an index of all of them, never trained on.

    python training/eval_pipeline.py [--reader-passages N] [--decline-threshold T]

Prints hit@1 (the first passage holds the answer), f1 of the short answer and the share of answerable and of
unanswerable questions declined, as JSON.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from reader_data import passages_by_document, written_rows  # noqa: E402

from qa import QA  # noqa: E402
from qa.evaluate.metrics import contains_answer  # noqa: E402
from qa.evaluate.spans import f1  # noqa: E402


def report_passages() -> dict[str, list[dict]]:
    """The passages of each local report (doc_id → passages in order)."""
    return {doc: passages for doc, passages in passages_by_document().items() if doc.startswith("local-")}


def write_corpus(reports: dict[str, list[dict]], folder: Path) -> None:
    """One text file per report: its title, then each passage as a paragraph."""
    for doc_id, passages in reports.items():
        paragraphs = [passages[0]["title"], *(p["text"] for p in passages)]
        (folder / f"{doc_id}.txt").write_text("\n\n".join(paragraphs) + "\n", encoding="utf-8")


def heldout_questions() -> list[tuple[str, dict]]:
    """(report id, written line) of every held-out local question."""
    return [(passage["doc_id"], row) for _, row, passage in written_rows("heldout", "local-*.jsonl")]


def measure(qa: QA, questions: list[tuple[str, dict]]) -> dict:
    """hit@1, f1 and declining over the questions."""
    hit, spans, declined = [], [], {True: [], False: []}
    for doc, row in questions:
        answer = qa.ask(row["question"], docs=[f"{doc}.txt"])
        answerable = bool(row.get("answerable"))
        declined[answerable].append(not answer.answerable)
        if answerable:
            hit.append(contains_answer(answer.hits[0].passage.text, (row["answer"],)))
            spans.append(f1(answer.hits[0].short_answer, (row["answer"],)))
    return {"questions": len(questions), "hit@1": round(float(np.mean(hit)), 3), "f1": round(float(np.mean(spans)), 3),
            "declined_answerable": round(float(np.mean(declined[True])), 3),
            "declined_unanswerable": round(float(np.mean(declined[False])), 3)}


def main(argv: list[str] | None = None) -> None:
    """Build the index of the local reports and measure."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reader-passages", type=int, help="QA_READER_PASSAGES (default: the shipped setting)")
    parser.add_argument("--decline-threshold", type=float, help="QA_DECLINE_THRESHOLD (default: the shipped one)")
    args = parser.parse_args(argv)
    settings = {name: value for name, value in (("reader_passages", args.reader_passages),
                                                 ("decline_threshold", args.decline_threshold)) if value is not None}
    reports = report_passages()
    with tempfile.TemporaryDirectory() as work:
        corpus = Path(work) / "corpus"
        corpus.mkdir()
        write_corpus(reports, corpus)
        print(json.dumps(measure(QA.open(Path(work) / "index", corpus, **settings), heldout_questions())))


if __name__ == "__main__":
    main()
