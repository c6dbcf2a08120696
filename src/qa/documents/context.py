"""A passage's document context: its document title and section, with the years a dated document's headings mean."""

from __future__ import annotations

import re

YEAR = re.compile(r"(?<!\d)((?:19|20)\d\d)年")
# Relative years in a section heading, as offsets from the year its document is dated (the title's first year).
RELATIVE_YEARS = {-1: re.compile(r"过去一年|去年|上年|上一年"), 0: re.compile(r"今年|本年"), 1: re.compile(r"明年|下一年")}


def resolved_years(title: str, section: str) -> list[str]:
    """Return the years a section heading means relative to its document's date.

    A heading often names a year relative to the document (过去一年工作回顾, 对今年政府工作的建议); in a document
    whose title is dated (2023年…政府工作报告) those become years (2022年, 2023年), so that a question naming the
    year finds the section about it.

    Args:
        title: The document title.
        section: The section heading.

    Returns:
        The resolved years, e.g. ``["2022年"]`` (none for an undated title or a heading without relative years).
    """
    dated = YEAR.search(title)
    if not dated:
        return []
    return [f"{int(dated.group(1)) + offset}年" for offset, pattern in RELATIVE_YEARS.items() if pattern.search(section)]


def context_text(title: str, section: str) -> str:
    """Return a passage's document context: title, section and the years the section means, one per line.

    Args:
        title: The document title.
        section: The section heading.

    Returns:
        The non-empty parts joined by newlines.
    """
    return "\n".join(part for part in (title, section, *resolved_years(title, section)) if part)
