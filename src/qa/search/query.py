"""Preparing a question: Traditional → Simplified (OpenCC), full-width → ASCII, cleaning, length limit, and the
domain synonyms (``src/qa/data/synonyms.tsv`` plus a user file) that are added to it at query time."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from qa.config import QAError
from qa.documents import clean_line, tokenize

SYNONYMS_FILE = Path(__file__).resolve().parent.parent / "data" / "synonyms.tsv"
FULL_WIDTH = {code: code - 0xFEE0 for code in [*range(0xFF10, 0xFF1A), *range(0xFF21, 0xFF3B), *range(0xFF41, 0xFF5B),
                                                0xFF05, 0xFF0E]}
FULL_WIDTH[0x3000] = 0x20


@dataclass
class Query:
    """A prepared question: its text, vector, terms and the synonyms it brought in."""

    text: str
    vector: np.ndarray
    terms: list[str]
    expansions: list[tuple[str, list[str]]]

    @property
    def search_terms(self) -> list[str]:
        """The question's terms plus the terms of its synonyms."""
        extra = [term for _, others in self.expansions for other in others for term in tokenize(other)]
        return list(dict.fromkeys(self.terms + extra))


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
        QAError: If nothing is left to ask.
    """
    if not isinstance(question, str):
        raise QAError("The question must be text.")
    cleaned = clean_line(normalize_text(" ".join(question.splitlines())))
    if not cleaned:
        raise QAError("请输入问题。The question is empty: type a question, e.g. 2020年全年签约了多少个项目？")
    notices = []
    if len(cleaned) > max_chars:
        cleaned = cleaned[:max_chars]
        notices.append(f"问题过长，只使用了前 {max_chars} 个字。The question was cut to its first {max_chars} characters.")
    return cleaned, notices


def read_synonyms(path: Path) -> list[list[str]]:
    """Read a synonyms file: one group of equivalent terms a line, separated by tabs or commas; ``#`` comments.

    Args:
        path: The file.

    Returns:
        The groups (each with at least two terms), terms normalized like questions.

    Raises:
        QAError: If the file cannot be read.
    """
    try:
        lines = path.read_text(encoding="utf-8-sig").splitlines()
    except (OSError, UnicodeDecodeError) as error:
        raise QAError(f"Cannot read the synonyms file {path} ({error}); fix QA_SYNONYMS_FILE.") from error
    groups = []
    for line in lines:
        line = line.split("#", 1)[0]
        terms = [normalize_text(t.strip()).lower() for t in re.split(r"[\t,，]", line) if t.strip()]
        if len(terms) >= 2:
            groups.append(list(dict.fromkeys(terms)))
    return groups


def expand(text: str, groups: list[list[str]]) -> list[tuple[str, list[str]]]:
    """Find the synonym groups a question uses.

    Args:
        text: The prepared question.
        groups: Synonym groups from :func:`read_synonyms`.

    Returns:
        (the term found in the question, its synonyms) for every group it uses.
    """
    lowered = text.lower()
    found = []
    for group in groups:
        present = [term for term in group if term in lowered]
        if present:
            longest = max(present, key=len)
            found.append((longest, [term for term in group if term not in lowered]))
    return [(term, others) for term, others in found if others]
