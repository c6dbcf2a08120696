"""Preparing a question: Traditional → Simplified (OpenCC), full-width → ASCII, cleaning and the length limit."""

from __future__ import annotations

from functools import lru_cache

from qa.documents import clean_line
from qa.errors import BadQuestion

FULL_WIDTH = {code: code - 0xFEE0 for code in [*range(0xFF10, 0xFF1A), *range(0xFF21, 0xFF3B), *range(0xFF41, 0xFF5B),
                                                0xFF05, 0xFF0E]}
FULL_WIDTH[0x3000] = 0x20


@lru_cache(maxsize=1)
def _t2s():
    from opencc import OpenCC

    return OpenCC("t2s")


def normalize_text(text: str) -> str:
    """Fold Traditional characters to Simplified (OpenCC t2s) and full-width digits and letters to ASCII.

    Args:
        text: Any text.

    Returns:
        The normalized text.
    """
    return _t2s().convert(text.translate(FULL_WIDTH))


def prepare_question(question: str, max_chars: int) -> tuple[str, list[str]]:
    """Clean a question, convert it to Simplified Chinese with ASCII digits and letters, and cut it to length.

    Args:
        question: The raw question.
        max_chars: The longest question kept.

    Returns:
        The cleaned question and notices for the user (e.g. that it was truncated).

    Raises:
        BadQuestion: If nothing is left to ask.
    """
    if not isinstance(question, str):
        raise BadQuestion("The question must be text.")
    cleaned = clean_line(normalize_text(" ".join(question.splitlines())))
    if not cleaned:
        raise BadQuestion("请输入问题。The question is empty: type a question, e.g. 2020年全年签约了多少个项目？")
    notices = []
    if len(cleaned) > max_chars:
        cleaned = cleaned[:max_chars]
        notices.append(f"问题过长，只使用了前 {max_chars} 个字。The question was cut to its first {max_chars} characters.")
    return cleaned, notices
