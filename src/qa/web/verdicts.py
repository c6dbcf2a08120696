"""👍 / 👎 in the chat, the correction box shown after a 👎, and the ``/feedback`` endpoint for programs.

Every verdict is appended to the feedback file at once (:mod:`qa.feedback.store`); a correction given afterwards is
another line for the same reply, which replaces the first when the file is read. The chat keeps, per reply, what it
showed (question, answer, passages, confidence, index build) in the page's state, so a verdict records exactly what
the person saw; the endpoint records what the system answers to the question now.
"""

from __future__ import annotations

import html
import logging

import gradio as gr

from qa.config import QAError
from qa.feedback import (
    DOWN,
    NOT_IN_DOCUMENTS,
    UP,
    WITHDRAWN,
    append,
    card_of,
    describe_shown,
    make_record,
    new_reply_id,
    parse_correction,
)
from qa.web.holder import SearcherHolder

log = logging.getLogger(__name__)

TRUE_WORDS = {"true": True, "yes": True, "1": True, "false": False, "no": False, "0": False}
THANKS = {UP: "已记录：有帮助，谢谢！Recorded as helpful — thanks.",
          DOWN: "已记录：没有帮助。如愿意，可在下方给出正确答案。Recorded as not helpful; you may give the right "
                "answer below.",
          WITHDRAWN: "已撤回评价。Your verdict was withdrawn."}
CORRECTED = "已记录更正，谢谢！Thanks — the correction is recorded."


def remember(answer, index) -> dict:
    """Keep what a chat reply showed, for the verdict that may follow.

    Args:
        answer: The searcher's answer.
        index: The index that answered.

    Returns:
        ``{"reply", "question", "shown", "cards"}``; ``cards`` are ``{"passage", "answer"}`` in rank order.
    """
    return {"reply": new_reply_id(), "question": answer.question, "shown": describe_shown(answer, index),
            "cards": [{"passage": hit.passage.passage_id, "answer": hit.answer} for hit in answer.hits]}


def status(message: str, error: bool = False) -> str:
    """Render the line under the chat that says what happened to a verdict.

    Args:
        message: The message.
        error: Whether it reports a failure.

    Returns:
        Safe HTML.
    """
    css = "qa-error" if error else "qa-notice"
    return f'<div class="qa-feedback-status {css}">{html.escape(message)}</div>'


def helpful_flag(value) -> bool:
    """Read the endpoint's ``helpful`` argument.

    Args:
        value: A bool, or yes/no/true/false/1/0 as text.

    Returns:
        The flag.

    Raises:
        QAError: For anything else.
    """
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in TRUE_WORDS:
        return TRUE_WORDS[value.strip().lower()]
    raise QAError(f"helpful must be true or false, not {value!r}.")


class Verdicts:
    """The handlers of the 👍/👎 buttons, the correction box and the ``/feedback`` endpoint."""

    def __init__(self, holder: SearcherHolder):
        """Write verdicts to the holder's configured feedback file.

        Args:
            holder: The searcher holder (its settings name the file; the endpoint asks its searcher).
        """
        self.holder = holder

    @property
    def path(self):
        """The feedback file (``QA_FEEDBACK_FILE``)."""
        return self.holder.settings.feedback_file

    def _write(self, entry: dict, verdict: str, correction: dict | None = None) -> None:
        append(self.path, make_record(entry["question"], verdict, entry["shown"], correction, entry["reply"],
                                      source="chat"))

    def judge(self, judged: dict | None, data: gr.LikeData):
        """Record a 👍 or 👎 (or its withdrawal) on a reply; a 👎 opens the correction box.

        Args:
            judged: The replies of this chat by message index (:func:`remember`).
            data: Which message was judged and how (``liked``: True, False, or "" when taken back).

        Returns:
            (status HTML, correction box update, the reply being corrected, card choices update).
        """
        entry = (judged or {}).get(data.index)
        if entry is None:
            return status("这条消息不能评价。Only answers can be judged."), gr.update(visible=False), None, gr.update()
        verdict = UP if data.liked is True else DOWN if data.liked is False else WITHDRAWN
        try:
            self._write(entry, verdict)
        except QAError as error:
            log.error("feedback not recorded: %s", error)
            return status(f"评价未能保存 / not recorded: {error}", error=True), gr.update(visible=False), None, \
                gr.update()
        if verdict != DOWN:
            return status(THANKS[verdict]), gr.update(visible=False), None, gr.update()
        cards = [f"#{number}" for number in range(1, len(entry["cards"]) + 1)]
        return status(THANKS[DOWN]), gr.update(visible=True), data.index, gr.update(choices=cards, value=None)

    def correct(self, judged: dict | None, pending: int | None, text: str | None, card: str | None):
        """Record the correction typed (or the card chosen) in the box after a 👎.

        Args:
            judged: The replies of this chat by message index.
            pending: The message index of the reply the box is about.
            text: The right answer as typed (wins over a chosen card), or empty.
            card: The chosen card, e.g. "#2", or None.

        Returns:
            (status HTML, correction box update, pending reply, cleared text, cleared card choice).
        """
        entry = (judged or {}).get(pending)
        if entry is None:
            return status("请先点“踩”。Mark the answer as not helpful first."), gr.update(visible=False), None, "", None
        try:
            if text and text.strip():
                correction = parse_correction(text, entry["cards"])
            elif card:
                correction = card_of(entry["cards"], int(card.lstrip("#")))
            else:
                return status("没有填写更正。Nothing to send: type the answer or pick a card."), gr.update(), \
                    pending, text, card
            self._write(entry, DOWN, correction)
        except QAError as error:
            return status(str(error), error=True), gr.update(), pending, text, card
        return status(CORRECTED), gr.update(visible=False), None, "", None

    def not_in_documents(self, judged: dict | None, pending: int | None):
        """Record that the documents do not hold the answer (不在资料中).

        Args:
            judged: The replies of this chat by message index.
            pending: The message index of the reply the box is about.

        Returns:
            (status HTML, correction box update, pending reply, cleared text, cleared card choice).
        """
        return self.correct(judged, pending, NOT_IN_DOCUMENTS, None)

    def api_feedback(self, question: str, helpful: bool, correction: str | None = None) -> dict:
        """Record a verdict from a program (a chat bot, a web page): was the answer to this question helpful?

        What was shown is recorded as what the system answers to the question now (same index, default top_k).

        Args:
            question: The question that was asked, e.g. 2020年全年签约了多少个项目？
            helpful: true (👍) or false (👎).
            correction: With helpful=false, optionally: the right answer as text, 不在资料中 (the documents do not
                hold it), or #N (card N of the reply answered).

        Returns:
            The line written to the feedback file (docs/feedback.md).
        """
        try:
            if not isinstance(question, str) or not question.strip():
                raise QAError("请输入问题 / The question is empty: say which question the verdict is about.")
            verdict = UP if helpful_flag(helpful) else DOWN
            searcher = self.holder.searcher
            answer = searcher.search(question)
            entry = remember(answer, searcher.index)
            record = make_record(entry["question"], verdict, entry["shown"],
                                 parse_correction(correction, entry["cards"]), entry["reply"], source="api")
            append(self.path, record)
        except QAError as error:
            raise gr.Error(str(error), print_exception=False) from None
        return record
