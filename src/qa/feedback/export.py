"""Turning verdicts into a question set in the JSONL format of ``qa eval`` (eval/README.md).

The last verdict of each reply counts. 👍 on an answer → answerable with its short answer (or its answer sentence);
👍 on a declined question → unanswerable; 👎 with 不在资料中 → unanswerable; 👎 with a right answer (typed, or the
card that answered) that occurs in some indexed passage → answerable with it. The rest (👎 without a usable
correction, a correction found in no passage, verdicts that disagree about one question) is listed, not exported.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass, field

from qa.evaluate.metrics import squeeze
from qa.evaluate.questions import BadLine, make_question
from qa.feedback.store import DOWN, UP, FeedbackFile

CONFIRMED, CORRECTED, NOT_IN_DOCUMENTS = "confirmed", "corrected", "not-in-documents"
SHOWN_CHARS = 40


@dataclass
class Outcome:
    """What one verdict says about its question: answerable with an answer, or not answerable."""

    line: int
    answerable: bool
    answer: str | None
    kind: str


@dataclass
class Export:
    """The exported question lines and, one message each, the verdicts left out."""

    questions: list[dict] = field(default_factory=list)
    left_out: list[str] = field(default_factory=list)


class PassageTexts:
    """The indexed passages' texts, to tell whether a correction occurs in one (whitespace ignored, as ``qa eval``
    matches answers)."""

    def __init__(self, texts: Iterable[str]):
        """Keep the passages' texts without whitespace.

        Args:
            texts: The passage texts.
        """
        self._joined = "\x00".join(squeeze(text) for text in texts)

    def __contains__(self, answer: str) -> bool:
        flat = squeeze(answer)
        return bool(flat) and "\x00" not in flat and flat in self._joined


def question_id(question: str) -> str:
    """Return the exported id of a question: the same question always gets the same id.

    Args:
        question: The question text.

    Returns:
        ``fb-`` and 12 hex digits.
    """
    return "fb-" + hashlib.sha1(question.encode("utf-8")).hexdigest()[:12]


def outcome(number: int, record: dict, passages: PassageTexts) -> Outcome | str:
    """Read one verdict as a gold answer.

    Args:
        number: Its line number.
        record: The feedback line.
        passages: The indexed passages.

    Returns:
        The outcome, or why the verdict gives no usable answer.
    """
    shown, correction = record.get("shown") or {}, record.get("correction")
    if record["verdict"] == UP:
        if shown.get("answerable") is False:
            return Outcome(number, False, None, CONFIRMED)
        answer = shown.get("short_answer") or shown.get("answer")
        if not isinstance(answer, str) or not answer.strip():
            return "👍 but the line does not say which answer was shown"
        return Outcome(number, True, answer.strip(), CONFIRMED)
    if record["verdict"] != DOWN or not correction:
        return "👎 without a correction"
    if correction.get("kind") == "not_in_documents":
        return Outcome(number, False, None, NOT_IN_DOCUMENTS)
    text = correction.get("text")
    if not isinstance(text, str) or not text.strip():
        return "👎 with an empty correction"
    if text not in passages:
        return f"👎 with a correction that occurs in no indexed passage: {text[:SHOWN_CHARS]!r}"
    return Outcome(number, True, text.strip(), CORRECTED)


def merge(question: str, outcomes: list[Outcome]) -> dict | str:
    """Make one question line from all the usable verdicts on a question.

    Args:
        question: The question.
        outcomes: Its verdicts' outcomes (at least one).

    Returns:
        The question line, or why the verdicts cannot make one.
    """
    if len({item.answerable for item in outcomes}) > 1:
        lines = ", ".join(str(item.line) for item in outcomes)
        return f"verdicts disagree whether the documents answer it (lines {lines})"
    kinds = {item.kind for item in outcomes}
    kind = next(k for k in (CORRECTED, NOT_IN_DOCUMENTS, CONFIRMED) if k in kinds)
    answers = list(dict.fromkeys(item.answer for item in outcomes if item.answer))
    answerable = outcomes[0].answerable
    try:
        checked = make_question(question_id(question), question, answers, answerable, kind)
    except BadLine as error:
        return str(error)
    return {"id": checked.id, "question": checked.question, "answers": list(checked.answers),
            "answerable": checked.answerable, "kind": checked.kind}


def export_questions(feedback: FeedbackFile, passage_texts: Iterable[str]) -> Export:
    """Turn the verdicts of a feedback file into a question set.

    Args:
        feedback: The read feedback file.
        passage_texts: The texts of the indexed passages (a correction must occur in one).

    Returns:
        The question lines (one per question, in the order first judged) and the verdicts left out.
    """
    passages = PassageTexts(passage_texts)
    exported = Export()
    grouped: dict[str, list[Outcome]] = {}
    for number, record in feedback.latest():
        question = record["question"].strip()
        result = outcome(number, record, passages)
        if isinstance(result, str):
            exported.left_out.append(f"line {number}: {question[:SHOWN_CHARS]} — {result}")
        else:
            grouped.setdefault(question, []).append(result)
    for question, outcomes in grouped.items():
        line = merge(question, outcomes)
        if isinstance(line, str):
            exported.left_out.append(f"{question[:SHOWN_CHARS]} — {line}")
        else:
            exported.questions.append(line)
    return exported
