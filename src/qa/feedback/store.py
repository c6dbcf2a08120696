"""The feedback file: one JSON line per verdict (👍, 👎, a correction), appended under a file lock, read back with
corrupt lines reported and skipped.

A line (docs/feedback.md)::

    {"time": "2026-01-05T08:30:00+00:00", "reply": "9f1c…", "source": "chat", "question": "…",
     "shown": {"answerable": true, "answer": "…", "short_answer": null, "passages": ["…"], "confidence": 0.87,
               "index_build": "…", "index_built_at": "…"},
     "verdict": "down", "correction": {"kind": "text", "text": "17个"}}

A reply judged again (👎 and then a correction, or a changed mind) gets another line with the same ``reply``; the
last one counts. Nothing about the person is stored.
"""

from __future__ import annotations

import fcntl
import json
import os
import re
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from qa.config import QAError

UP, DOWN, WITHDRAWN = "up", "down", "withdrawn"
VERDICTS = (UP, DOWN, WITHDRAWN)
SOURCES = ("chat", "api")
NOT_IN_DOCUMENTS = "不在资料中"
NOT_IN_DOCUMENTS_WORDS = {NOT_IN_DOCUMENTS, "资料中没有", "not in the documents", "not in documents"}
CARD = re.compile(r"^[#＃]\s*(\d{1,3})$")
MAX_CORRECTION_CHARS = 1000
TRAILING_PUNCTUATION = "。.!！ "


def new_reply_id() -> str:
    """Return a fresh id for one judged reply (random; it says nothing about the person).

    Returns:
        16 hex digits.
    """
    return uuid.uuid4().hex[:16]


def now() -> str:
    """Return the current time as stored in the file.

    Returns:
        ISO 8601 in UTC to the second, e.g. ``2026-01-05T08:30:00+00:00``.
    """
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def describe_shown(answer, index=None) -> dict:
    """Record what a reply showed: its answer and short answer, the passages, the confidence and the index build.

    Args:
        answer: A :class:`qa.search.Answer`.
        index: The :class:`qa.index.Index` that answered, or None.

    Returns:
        ``{"answerable", "answer", "short_answer", "passages", "confidence", "index_build", "index_built_at"}``.
    """
    hits = list(answer.hits)
    top = hits[0] if hits else None
    short = top.short_answer if top else ""
    confidence = answer.confidence
    manifest = getattr(index, "manifest", None) or {}
    path = getattr(index, "path", None)
    return {
        "answerable": bool(getattr(answer, "answerable", False)),
        "answer": getattr(top, "answer", None) or None,
        "short_answer": short or None,
        "passages": [hit.passage.passage_id for hit in hits],
        "confidence": None if confidence is None else round(float(confidence), 4),
        "index_build": path.name if path is not None else None,
        "index_built_at": manifest.get("built_at"),
    }


def card_of(shown_cards: list[dict], number: int) -> dict:
    """Make the correction "card ``number`` answered" from the cards a reply showed.

    Args:
        shown_cards: The reply's cards in rank order, each ``{"passage", "answer"}``.
        number: The card's number as shown (#1 is the first).

    Returns:
        ``{"kind": "card", "card", "passage", "text"}`` — ``text`` is that card's answer sentence.

    Raises:
        QAError: If the reply showed no such card.
    """
    if not 1 <= number <= len(shown_cards):
        raise QAError(f"The reply showed {len(shown_cards)} card(s); there is no card #{number}.")
    card = shown_cards[number - 1]
    return {"kind": "card", "card": number, "passage": card["passage"], "text": card["answer"]}


def parse_correction(text: str | None, shown_cards: list[dict] | None = None) -> dict | None:
    """Read a correction as a person or a program gives it.

    Args:
        text: The right answer as text, or 不在资料中 (the documents do not hold it), or ``#N`` (card N of the reply
            answered), or empty.
        shown_cards: The reply's cards (for ``#N``), each ``{"passage", "answer"}``.

    Returns:
        None (no correction), ``{"kind": "not_in_documents"}``, a card correction (:func:`card_of`) or
        ``{"kind": "text", "text"}``.

    Raises:
        QAError: If it is too long or names a card the reply did not show.
    """
    if text is None:
        return None
    if not isinstance(text, str):
        raise QAError("The correction must be text.")
    cleaned = text.strip()
    if not cleaned:
        return None
    if len(cleaned) > MAX_CORRECTION_CHARS:
        raise QAError(f"The correction is {len(cleaned)} characters long; at most {MAX_CORRECTION_CHARS} are kept. "
                      "Give the answer itself (a number, a name, a sentence).")
    if cleaned.strip(TRAILING_PUNCTUATION).lower() in NOT_IN_DOCUMENTS_WORDS:
        return {"kind": "not_in_documents"}
    card = CARD.match(cleaned)
    if card:
        return card_of(shown_cards or [], int(card.group(1)))
    return {"kind": "text", "text": cleaned}


def make_record(question: str, verdict: str, shown: dict | None, correction: dict | None = None,
                reply: str | None = None, source: str = "api") -> dict:
    """Build one feedback line.

    Args:
        question: The question as it was searched.
        verdict: ``up`` (👍), ``down`` (👎) or ``withdrawn`` (the person took the verdict back).
        shown: What the reply showed (:func:`describe_shown`), or None when unknown.
        correction: A correction (:func:`parse_correction`); only with ``down``.
        reply: The judged reply's id (a new one when None).
        source: ``chat`` or ``api``.

    Returns:
        The record, in the key order of docs/feedback.md.

    Raises:
        QAError: If the question is empty, the verdict unknown, or a correction comes with a 👍.
    """
    if not isinstance(question, str) or not question.strip():
        raise QAError("请输入问题 / The question is empty: say which question the verdict is about.")
    if verdict not in VERDICTS:
        raise QAError(f"The verdict must be one of {', '.join(VERDICTS)}, not {verdict!r}.")
    if correction is not None and verdict != DOWN:
        raise QAError("A correction goes with a 👎 (helpful=false): a helpful answer needs no correction.")
    return {"time": now(), "reply": reply or new_reply_id(), "source": source, "question": question.strip(),
            "shown": shown, "verdict": verdict, "correction": correction}


def _write_all(fd: int, data: bytes) -> None:
    while data:
        written = os.write(fd, data)
        data = data[written:]


def append(path: Path, record: dict) -> None:
    """Append one record as one line: under an exclusive ``flock``, written whole, flushed to disk.

    Concurrent writers (threads or processes) never interleave or lose lines; a previous line left without its
    newline (a crash, a hand edit) is ended first, so that it cannot swallow this one.

    Args:
        path: The feedback file (its folder is created).
        record: The record (:func:`make_record`).

    Raises:
        QAError: If the file cannot be written.
    """
    line = (json.dumps(record, ensure_ascii=False, separators=(",", ":")) + "\n").encode("utf-8")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o644)
    except OSError as error:
        raise QAError(f"Cannot write feedback to {path} ({error.strerror}). "
                      "Set QA_FEEDBACK_FILE to a file in a writable folder.") from error
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        try:
            size = os.fstat(fd).st_size
            if size and os.pread(fd, 1, size - 1) != b"\n":
                line = b"\n" + line
            _write_all(fd, line)
            os.fsync(fd)
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
    except OSError as error:
        raise QAError(f"Cannot write feedback to {path} ({error.strerror}).") from error
    finally:
        os.close(fd)


@dataclass
class FeedbackFile:
    """What was read from a feedback file: ``(line number, record)`` pairs and the lines that were skipped."""

    path: Path
    records: list[tuple[int, dict]] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    def latest(self) -> list[tuple[int, dict]]:
        """Keep the last line of each reply (a later verdict replaces an earlier one), without withdrawn ones.

        Returns:
            ``(line number, record)`` pairs in the order of their last line.
        """
        last: dict[str, tuple[int, dict]] = {}
        for number, record in self.records:
            reply = record.get("reply") or f"line-{number}"
            last.pop(reply, None)
            last[reply] = (number, record)
        return [(number, record) for number, record in last.values() if record["verdict"] != WITHDRAWN]


def check_record(record) -> str | None:
    """Say what is wrong with a line read back, if anything.

    Args:
        record: The parsed JSON value.

    Returns:
        The problem, or None when the record can be used.
    """
    if not isinstance(record, dict):
        return "not a JSON object"
    if not isinstance(record.get("question"), str) or not record["question"].strip():
        return "no question"
    if record.get("verdict") not in VERDICTS:
        return f"unknown verdict {record.get('verdict')!r}"
    try:
        datetime.fromisoformat(str(record.get("time")))
    except ValueError:
        return f"bad time {record.get('time')!r}"
    for key, kind in (("shown", dict), ("correction", dict)):
        if record.get(key) is not None and not isinstance(record[key], kind):
            return f"'{key}' must be an object"
    return None


def read(path: Path) -> FeedbackFile:
    """Read a feedback file (under a shared lock, so a line being written is not seen half-written).

    Args:
        path: The feedback file.

    Returns:
        The usable records and, for each other line, a message with its line number.

    Raises:
        QAError: If the file does not exist or cannot be read.
    """
    if not path.is_file():
        raise QAError(f"No feedback file at {path}: no verdict has been given yet (or set QA_FEEDBACK_FILE).")
    loaded = FeedbackFile(path)
    try:
        with path.open("rb") as handle:
            fcntl.flock(handle, fcntl.LOCK_SH)
            data = handle.read()
    except OSError as error:
        raise QAError(f"Cannot read {path} ({error.strerror}).") from error
    for number, raw in enumerate(data.split(b"\n"), 1):
        if not raw.strip():
            continue
        try:
            record = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, ValueError) as error:
            loaded.problems.append(f"{path.name} line {number}: not valid JSON ({type(error).__name__})")
            continue
        problem = check_record(record)
        if problem:
            loaded.problems.append(f"{path.name} line {number}: {problem}")
        else:
            loaded.records.append((number, record))
    return loaded
