"""Cutting a document into passages: headings become sections, fragments go with the next paragraph, long
paragraphs split at sentence ends, each passage gets a stable id."""

from __future__ import annotations

import hashlib

from qa.documents.cleaning import HEADING_MAX_CHARS, _is_numbered_heading, _join_all, is_boilerplate, merge_broken_lines
from qa.documents.passage import Document, Passage
from qa.documents.text import CLAUSE_MARKS, _ends_paragraph, split_sentences

FRAGMENT_CHARS = 8
BODY_MIN_CHARS = 30


def _is_heading(paragraph: str, following: str | None) -> bool:
    if paragraph.startswith("#"):
        return True
    if _ends_paragraph(paragraph) or any(mark in paragraph for mark in CLAUSE_MARKS):
        return False
    if _is_numbered_heading(paragraph):
        return True
    return len(paragraph) <= HEADING_MAX_CHARS and following is not None and len(following) >= BODY_MIN_CHARS


def split_long(text: str, max_chars: int) -> list[str]:
    """Split a paragraph at sentence ends into pieces of similar length, each at most ``max_chars``.

    Args:
        text: The paragraph.
        max_chars: The longest piece allowed.

    Returns:
        The pieces (the paragraph itself when it is short enough).
    """
    if len(text) <= max_chars:
        return [text]
    sentences: list[str] = []
    for sentence in split_sentences(text):
        sentences.extend(sentence[i : i + max_chars] for i in range(0, len(sentence), max_chars))
    chunks, current, remaining = [], "", len(text)
    for sentence in sentences:
        target = remaining / -(-remaining // max_chars)
        if current and (len(current) + len(sentence) > max_chars or len(current) + len(sentence) / 2 > target):
            chunks.append(current)
            remaining -= len(current)
            current = ""
        current += sentence
    return chunks + [current] if current else chunks


def passage_id(doc_id: str, section: str, text: str, seen: set[str]) -> str:
    """Return an id that stays the same as long as the passage's document, section and text do.

    Args:
        doc_id: The document id.
        section: The passage's section.
        text: The passage text.
        seen: Ids already given in this document (a repeated text gets a suffix); updated.

    Returns:
        A 16-hex-digit id.
    """
    base = hashlib.sha1(f"{doc_id}\x1f{section}\x1f{text}".encode()).hexdigest()[:16]
    pid, n = base, 1
    while pid in seen:
        n += 1
        pid = f"{base}-{n}"
    seen.add(pid)
    return pid


def _blocks(paragraphs: list[str]) -> list[tuple[bool, str]]:
    """Mark headings, and put fragments (a salutation, a byline) in front of the paragraph after them."""
    blocks: list[tuple[bool, str]] = []
    carry: list[str] = []
    for i, paragraph in enumerate(paragraphs):
        following = paragraphs[i + 1] if i + 1 < len(paragraphs) else None
        if _is_heading(paragraph, following):
            blocks += [(False, _join_all(carry))] if carry else []
            blocks.append((True, paragraph.lstrip("#").strip()))
            carry = []
        elif len(paragraph) < FRAGMENT_CHARS:
            carry.append(paragraph)
        else:
            blocks.append((False, _join_all(carry + [paragraph])))
            carry = []
    return blocks + ([(False, _join_all(carry))] if carry else [])


def chunk(document: Document, max_chars: int = 360) -> list[Passage]:
    """Cut a document into passages: headings become sections, captions stay, long paragraphs split.

    Args:
        document: The document.
        max_chars: The longest passage.

    Returns:
        The passages in document order.
    """
    paragraphs = [p for p in merge_broken_lines(document.lines) if not is_boilerplate(p)]
    passages: list[Passage] = []
    section, seen = "", set()
    for is_heading, paragraph in _blocks(paragraphs):
        if is_heading:
            section = paragraph
            continue
        for text in split_long(paragraph, max_chars):
            pid = passage_id(document.doc_id, section, text, seen)
            passages.append(Passage(pid, document.doc_id, document.title, section, text, len(passages) + 1))
    return passages
