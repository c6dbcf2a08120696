"""Training and held-out examples for the reader: (question, passage, answer span or none).

Sources (see training/DATA_CARD.md):
- DRCD dev + test (Traditional Chinese Wikipedia, CC BY-SA 3.0), converted to Simplified with OpenCC; each question
  with its own paragraph (answerable) and, for half of them, with another paragraph of its article that does not hold
  the answer (unanswerable: a hard, same-topic negative).
- People-worded questions written by helper sessions over the State Council reports and DRCD paragraphs
  (training/data/written/, passages in training/data/passages/); every answerable one is also paired with the passage of
  its document that shares most characters with the question but lacks the answer (less any listed as likely
  answering after all: training/noisy_siblings.py, ``train_reader.py --drop-siblings``).
Held out: DRCD articles and written passages whose id hashes into the last tenth (never trained on).
"""

from __future__ import annotations

import hashlib
import json
import random
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path

HERE = Path(__file__).parent
WRITTEN = HERE / "data" / "written"
PASSAGES = HERE / "data" / "passages"


@dataclass(frozen=True)
class Example:
    """One reader example: the answer is ``context[start:start + len(answer)]``, or ``start == -1`` for none."""

    question: str
    context: str
    answer: str
    start: int
    source: str
    kind: str


def held_out(key: str) -> bool:
    """Whether an article or passage id belongs to the held-out tenth."""
    return int(hashlib.sha1(key.encode("utf-8")).hexdigest(), 16) % 10 == 9


def _t2s():
    import opencc

    return opencc.OpenCC("t2s").convert


def _starts(context: str, answer: str) -> list[int]:
    """Every position where ``answer`` occurs in ``context``."""
    starts, at = [], context.find(answer)
    while at != -1:
        starts.append(at)
        at = context.find(answer, at + 1)
    return starts


def _locate(context: str, answer: str, near: int) -> int:
    """The occurrence of ``answer`` in ``context`` closest to ``near`` (-1 if none)."""
    return min(_starts(context, answer), key=lambda s: abs(s - near), default=-1)


def drcd_examples(paths: list[Path], split: str, seed: int = 13) -> list[Example]:
    """DRCD questions in Simplified Chinese with their paragraph, plus same-article negatives.

    Args:
        paths: DRCD SQuAD-layout JSON files.
        split: ``"train"`` or ``"heldout"`` (articles chosen by :func:`held_out`).
        seed: Seed of the negative sampling.
    """
    convert, rng, examples = _t2s(), random.Random(seed), []
    for path in paths:
        for article in json.loads(path.read_text(encoding="utf-8"))["data"]:
            if held_out(article["id"]) != (split == "heldout"):
                continue
            contexts = [convert(p["context"]) for p in article["paragraphs"]]
            for index, paragraph in enumerate(article["paragraphs"]):
                for qa in paragraph["qas"]:
                    question, gold = convert(qa["question"]), qa["answers"][0]
                    answer = convert(gold["text"]).strip()
                    start = _locate(contexts[index], answer, gold["answer_start"])
                    if not answer or start < 0:
                        continue
                    examples.append(Example(question, contexts[index], answer, start, "drcd", "drcd"))
                    others = [c for i, c in enumerate(contexts) if i != index and answer not in c]
                    if others and rng.random() < 0.5:
                        examples.append(Example(question, rng.choice(others), "", -1, "drcd", "drcd-other"))
    return examples


@cache
def _passages() -> dict[str, dict]:
    records = {}
    for path in sorted(PASSAGES.glob("*.jsonl")):
        for line in path.open(encoding="utf-8"):
            record = json.loads(line)
            records[record["passage_id"]] = record
    return records


@cache
def passages_by_document() -> dict[str, list[dict]]:
    """Each document's passage records in file order: doc_id (the passage id for a record without one) → records."""
    by_document: dict[str, list[dict]] = {}
    for record in _passages().values():
        by_document.setdefault(record.get("doc_id", record["passage_id"]), []).append(record)
    return by_document


def _article(passage_id: str) -> str:
    """The key a written passage is held out by: its DRCD article for DRCD paragraphs (``drcd-1147-5`` → ``1147``),
    so a held-out question never sits on a paragraph of an article trained on."""
    return passage_id.split("-")[1] if passage_id.startswith("drcd-") else passage_id


def _bigrams(text: str) -> set[str]:
    return {text[i:i + 2] for i in range(len(text) - 1)}


def _occurrence(text: str, answer: str, question: str, reach: int = 12) -> int:
    """Where ``answer`` occurs in ``text`` (-1 if nowhere); of several occurrences, the one whose surroundings share
    most character pairs with the question ("10个" twice in a passage: the one next to what was asked)."""
    pairs = _bigrams(question)
    return max(_starts(text, answer), key=lambda s: (len(pairs & _bigrams(text[max(0, s - reach):s + len(answer) + reach])), -s),
               default=-1)


def _nearest_without(question: str, answer: str, candidates: list[dict]) -> dict | None:
    """The candidate passage sharing most character pairs with the question that does not hold the answer."""
    pairs = _bigrams(question)
    pool = [c for c in candidates if answer not in c["text"]]
    return max(pool, key=lambda c: len(pairs & _bigrams(c["text"])), default=None)


def written_rows(split: str, pattern: str = "*.jsonl") -> Iterator[tuple[str, dict, dict]]:
    """Each written line of a split with its passage: (source file stem, line, passage record).

    Args:
        split: ``"train"`` or ``"heldout"`` (passages chosen by :func:`held_out`).
        pattern: Which files of training/data/written to read (a glob).
    """
    passages = _passages()
    for path in sorted(WRITTEN.glob(pattern)):
        for line in path.open(encoding="utf-8"):
            try:
                row = json.loads(line)
                passage = passages[row["passage_id"]]
            except (json.JSONDecodeError, KeyError):
                continue
            if held_out(_article(row["passage_id"])) == (split == "heldout"):
                yield path.stem, row, passage


def pair_key(question: str, context: str) -> tuple[str, str]:
    """How a (question, passage) pair is named in a list of dropped negatives: the question and the passage's sha1."""
    return question, hashlib.sha1(context.encode("utf-8")).hexdigest()


def pair_keys(path: Path | None) -> frozenset:
    """The :func:`pair_key` keys listed in a JSONL file of ``{question, context_sha1}`` lines (training/noisy_siblings.py
    writes one); none without a file."""
    if path is None:
        return frozenset()
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    return frozenset((row["question"], row["context_sha1"]) for row in rows)


def written_examples(split: str, pattern: str = "*.jsonl", drop: frozenset = frozenset()) -> list[Example]:
    """The helper-written people-worded questions (training/data/written/*.jsonl) and their hard negatives.

    Args:
        split: ``"train"`` or ``"heldout"`` (passages chosen by :func:`held_out`).
        pattern: Which files of training/data/written to read (a glob).
        drop: Sibling negatives to leave out, as :func:`pair_key` keys (those that likely answer after all).
    """
    by_document, examples = passages_by_document(), []
    for source, row, passage in written_rows(split, pattern):
        text, answer = passage["text"], row["answer"] if row.get("answerable") else ""
        start = _occurrence(text, answer, row["question"]) if answer else -1
        if answer and start < 0:
            continue
        examples.append(Example(row["question"], text, answer, start, source, row["kind"]))
        siblings = [p for p in by_document.get(passage.get("doc_id", ""), []) if p is not passage]
        negative = _nearest_without(row["question"], answer, siblings) if answer else None
        if negative is not None and pair_key(row["question"], negative["text"]) not in drop:
            examples.append(Example(row["question"], negative["text"], "", -1, source, "sibling"))
    return examples
