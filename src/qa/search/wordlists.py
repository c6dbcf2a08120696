"""The word lists a question is read with: domain synonyms (``src/qa/data/synonyms.tsv`` plus a user file) added to
it at query time, everyday → official wordings (``src/qa/data/colloquial.tsv``) that count when judging coverage, and
the words that only frame a spoken question (``src/qa/data/question_frames.txt``: 有没有, 平时, 一共)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from qa.errors import QAError
from qa.search.question import normalize_text

DATA = Path(__file__).resolve().parent.parent / "data"
SYNONYMS_FILE = DATA / "synonyms.tsv"
COLLOQUIAL_FILE = DATA / "colloquial.tsv"
FRAMES_FILE = DATA / "question_frames.txt"


@dataclass(frozen=True)
class SynonymGroup:
    """Words a question may use (``asked``) and the words the documents may write for the same thing (``written``).

    A plain group (GDP, 地区生产总值, 生产总值) has the same words on both sides; an everyday ⇄ official group (厂子 |
    企业) brings the official words into a question using an everyday one, but not the other way round.
    """

    asked: tuple[str, ...]
    written: tuple[str, ...]


def _uncommented_lines(path: Path, hint: str = "") -> list[str]:
    """Read the lines of a data file without their ``#`` comments."""
    try:
        lines = path.read_text(encoding="utf-8-sig").splitlines()
    except (OSError, UnicodeDecodeError) as error:
        raise QAError(f"Cannot read {path} ({error}). {hint}".strip()) from error
    return [line.split("#", 1)[0] for line in lines]


def _terms_of(part: str) -> list[str]:
    """Split one side of a synonyms line into normalized terms."""
    return list(dict.fromkeys(normalize_text(t.strip()).lower() for t in re.split(r"[\t,，]", part) if t.strip()))


def read_synonyms(path: Path) -> list[SynonymGroup]:
    """Read a synonyms file: one group a line, terms separated by tabs or commas; ``#`` starts a comment. A line
    ``everyday words | official words`` is one-way: a question using an everyday word is searched with the official
    words too.

    Args:
        path: The file.

    Returns:
        The groups, terms normalized like questions.

    Raises:
        QAError: If the file cannot be read, or a line is not a group (one term, or an empty side of "|").
    """
    groups = []
    for number, line in enumerate(_uncommented_lines(path, "Fix QA_SYNONYMS_FILE."), 1):
        sides = [_terms_of(side) for side in line.split("|")]
        if sides == [[]]:
            continue
        if len(sides) == 1 and len(sides[0]) >= 2:
            groups.append(SynonymGroup(tuple(sides[0]), tuple(sides[0])))
        elif len(sides) == 2 and all(sides):
            groups.append(SynonymGroup(tuple(sides[0]), tuple(sides[1])))
        else:
            raise QAError(f"{path}, line {number}: {line.strip()!r} is not a synonym group. Write two or more terms "
                          "separated by tabs, or 'everyday words | official words'.")
    return groups


def read_words(path: Path) -> frozenset[str]:
    """Read a word list: one word a line; ``#`` starts a comment.

    Args:
        path: The file.

    Returns:
        The words, normalized like questions.

    Raises:
        QAError: If the file cannot be read.
    """
    return frozenset(normalize_text(word).lower() for line in _uncommented_lines(path) if (word := line.strip()))


def framing_terms(text: str, terms: list[str], frames: frozenset[str]) -> frozenset[str]:
    """Find the question's terms that only frame it: those that occur only inside framing words the question uses
    (没有 inside 有没有; 平时, 一共, 加起来). A term also found outside them (家 in 大家的家庭) still counts.

    Args:
        text: The prepared question.
        terms: Its terms.
        frames: Framing words from :func:`read_words`.

    Returns:
        The framing terms.
    """
    lowered = text.lower()
    framed = np.zeros(len(lowered), dtype=bool)
    for frame in (frame for frame in frames if frame in lowered):
        for match in re.finditer(re.escape(frame), lowered):
            framed[match.start() : match.end()] = True
    return frozenset(term for term in terms if _only_inside(lowered, term, framed))


def _only_inside(text: str, term: str, framed: np.ndarray) -> bool:
    """Tell whether every occurrence of a term in a text lies in the framed characters (False if it has none)."""
    spans = [match.span() for match in re.finditer(re.escape(term), text)]
    return bool(spans) and all(framed[start:end].all() for start, end in spans)


def expand(text: str, groups: list[SynonymGroup]) -> list[tuple[str, list[str]]]:
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
        present = [term for term in group.asked if term in lowered]
        if present:
            longest = max(present, key=len)
            found.append((longest, [term for term in group.written if term not in lowered]))
    return [(term, others) for term, others in found if others]
