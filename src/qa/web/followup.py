"""Reading a short follow-up question ("那2021年呢？") in the context of the previous question."""

from __future__ import annotations

import re

from qa.search.asked import QUESTION_WORD, YEAR_MENTION

# An elliptical follow-up ("那2021年呢？", "那一般公共预算收入呢？") starts with a continuation word or ends with 呢
# ("what about …?"), and what is left is a short phrase with no question word of its own: it borrows the predicate
# of the previous question.
FOLLOW_UP_START = re.compile(r"^(?:那么|那|还有|另外|以及|and|what about)\s*", re.IGNORECASE)
FOLLOW_UP_END = re.compile(r"(?:的)?呢\s*[？?。.!！]*$")
FOLLOW_UP_MAX_CHARS = 12
END_PUNCTUATION = "？?。.!！ "


def _strip_follow_up(question: str) -> str:
    core = FOLLOW_UP_START.sub("", question.strip())
    return FOLLOW_UP_END.sub("", core).strip(END_PUNCTUATION + "，,")


def is_follow_up(question: str) -> bool:
    """Tell whether a question is elliptical: marked as a follow-up (那… / …呢) and, without the marks, a short
    phrase with no question word of its own.

    Args:
        question: The new question.

    Returns:
        True when the question only makes sense after the previous one (e.g. "那2021年呢？").
    """
    text = question.strip()
    if not (FOLLOW_UP_START.match(text) or FOLLOW_UP_END.search(text)):
        return False
    core = _strip_follow_up(text)
    return len(core) <= FOLLOW_UP_MAX_CHARS and not QUESTION_WORD.search(core)


def contextualize(question: str, previous: str | None) -> str:
    """Read an elliptical follow-up in the context of the previous question.

    The rule: if the follow-up names a year and the previous question has one, the new year replaces the old one
    ("2020年全年签约了多少个项目？" + "那2021年呢？" → "2021年全年签约了多少个项目？"); otherwise the follow-up's own
    words are put before the previous question, so the search sees both. Questions that are not elliptical, or
    that have no previous question, are returned as they are.

    Args:
        question: The new question.
        previous: The previous question as it was searched, or None.

    Returns:
        The question to search.
    """
    if not previous or not is_follow_up(question):
        return question
    core = _strip_follow_up(question)
    if not core:
        return previous
    year = YEAR_MENTION.search(core)
    if year and YEAR_MENTION.search(previous):
        stamp = year.group(0).strip()
        replaced = YEAR_MENTION.sub(stamp if stamp.endswith("年") else stamp + "年", previous, count=1)
        rest = (core[: year.start()] + core[year.end() :]).strip(END_PUNCTUATION + "，,的")
        return f"{rest}，{replaced}" if rest else replaced
    return core + "，" + previous
