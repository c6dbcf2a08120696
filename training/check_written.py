"""Check a file of written reader-training questions against the passages it refers to.

Usage: python training/check_written.py training/data/written/FILE.jsonl

Every line must be {"passage_id", "question", "answer", "answerable", "kind"}; an answerable line's answer must occur
verbatim in its passage's text; an unanswerable line has answer "". Prints each problem with its line number and a
count per kind; exits 1 when any line is wrong.
"""

import json
import sys
from collections import Counter
from pathlib import Path

PASSAGES = Path(__file__).parent / "data" / "passages"
KINDS = {"colloquial", "indirect", "short", "typo", "list", "plan", "detail", "formal", "missing", "outside"}


def passages() -> dict[str, str]:
    """Every passage text by id, from all files under training/data/passages."""
    texts = {}
    for path in PASSAGES.glob("*.jsonl"):
        for line in path.open(encoding="utf-8"):
            try:
                record = json.loads(line)
                texts[record["passage_id"]] = record["text"]
            except (json.JSONDecodeError, KeyError):
                print(f"{path.name}: skipped a passage line that is not complete JSON with passage_id and text")
    return texts


def problems(record: dict, texts: dict[str, str]) -> list[str]:
    """What is wrong with one written line (empty when nothing)."""
    wrong = []
    if set(record) != {"passage_id", "question", "answer", "answerable", "kind"}:
        wrong.append(f"keys {sorted(record)}")
    if record.get("passage_id") not in texts:
        wrong.append(f"unknown passage_id {record.get('passage_id')!r}")
    if record.get("kind") not in KINDS:
        wrong.append(f"kind {record.get('kind')!r} not one of {sorted(KINDS)}")
    if not str(record.get("question", "")).strip():
        wrong.append("empty question")
    answer = record.get("answer", "")
    if record.get("answerable") is True:
        if not answer or answer not in texts.get(record.get("passage_id"), ""):
            wrong.append(f"answer {answer!r} is not a verbatim part of the passage")
    elif record.get("answerable") is False:
        if answer != "":
            wrong.append("an unanswerable line must have answer \"\"")
    else:
        wrong.append("answerable must be true or false")
    return wrong


def main(path: str) -> int:
    """Check one file; return the exit code."""
    texts = passages()
    kinds, bad = Counter(), 0
    for number, line in enumerate(Path(path).open(encoding="utf-8"), 1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as error:
            print(f"line {number}: not JSON ({error})")
            bad += 1
            continue
        for problem in problems(record, texts):
            print(f"line {number}: {problem}")
            bad += 1
        kinds[(record.get("kind"), record.get("answerable"))] += 1
    print(f"{sum(kinds.values())} lines, {bad} problems; by (kind, answerable): {dict(sorted(kinds.items(), key=str))}")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
