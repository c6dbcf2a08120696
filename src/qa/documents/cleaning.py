"""Rebuilding paragraphs from lines: rejoining lines a line or page break cut, telling numbered headings, dropping
scraping boilerplate."""

from __future__ import annotations

import functools
import re

from qa.documents.text import CLAUSE_MARKS, _ends_paragraph

NUMBERED_HEADING = re.compile(r"^(?:[一二三四五六七八九十]+、|（[一二三四五六七八九十]+）|第[一二三四五六七八九十百\d]+[章节部分篇])")
DANGLING_END = "的《“‘（(、，,"
CONTINUATION_START = "，,、。；;：:》）)”’！？!?"
LONE_TOKEN = re.compile(r"^(?:public domain|false|true|null|none|undefined|nan)$", re.IGNORECASE)
LICENSE_NOTICE = re.compile(r"公有领域|版权所有|著作权法|维基文库|all rights reserved|creative commons|\bcc[- ]by\b|"
                            r"wikisource|public domain", re.IGNORECASE)
HEADING_MAX_CHARS = 16
WRAPPED_LINE_CHARS = 60


def _joins_next(line: str) -> bool:
    """A body line that ends without sentence punctuation, or on a word that cannot end one, was cut by a break."""
    if line.startswith("#") or _is_numbered_heading(line):
        return False
    if line.endswith(tuple(DANGLING_END)):
        return True
    if _ends_paragraph(line):
        return False
    return len(line) >= WRAPPED_LINE_CHARS or any(mark in line for mark in CLAUSE_MARKS)


def _continues(line: str) -> bool:
    """A line that starts with closing or clause punctuation continues the line before it."""
    return line.startswith(tuple(CONTINUATION_START))


def is_boilerplate(paragraph: str) -> bool:
    """Tell scraping leftovers (license notices, lone ``false``, ``Public domain``) from content.

    Args:
        paragraph: A whole paragraph.

    Returns:
        True when the paragraph is boilerplate to drop.
    """
    return bool(LONE_TOKEN.match(paragraph)) or (len(paragraph) <= 200 and bool(LICENSE_NOTICE.search(paragraph)))


def _join(left: str, right: str) -> str:
    if left[-1:].isascii() and left[-1:].isalnum() and right[:1].isascii() and right[:1].isalnum():
        return f"{left} {right}"
    return left + right


def _join_all(parts: list[str]) -> str:
    return functools.reduce(_join, parts)


def merge_broken_lines(lines: list[str]) -> list[str]:
    """Rejoin paragraphs that a line or page break cut in the middle of a sentence.

    Args:
        lines: Cleaned, non-empty lines.

    Returns:
        Whole paragraphs.
    """
    paragraphs: list[str] = []
    for line in lines:
        joinable = paragraphs and not line.startswith("#") and not paragraphs[-1].startswith("#")
        if joinable and (_joins_next(paragraphs[-1]) or _continues(line)):
            paragraphs[-1] = _join(paragraphs[-1], line)
        else:
            paragraphs.append(line)
    return paragraphs


def _is_numbered_heading(line: str) -> bool:
    plain = not any(mark in line for mark in CLAUSE_MARKS) and not _ends_paragraph(line)
    return plain and len(line) <= 2 * HEADING_MAX_CHARS and bool(NUMBERED_HEADING.match(line))
