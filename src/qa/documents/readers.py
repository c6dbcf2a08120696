"""Reading files into documents: encoding detection, the txt/md, docx, pdf and html readers, BEIR ``corpus.jsonl``
and JSON-lines files."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from pathlib import Path

from charset_normalizer import from_bytes

from qa.config import QAError
from qa.documents.passage import Document
from qa.documents.text import CLAUSE_MARKS, _ends_paragraph, clean_line

log = logging.getLogger(__name__)

TEXT_SUFFIXES = {".txt", ".md", ".markdown"}
SUFFIXES = TEXT_SUFFIXES | {".docx", ".pdf", ".html", ".htm"}
BEIR_CORPUS = "corpus.jsonl"
TITLE_MAX_CHARS = 60


def decode_bytes(data: bytes, name: str = "file") -> str:
    """Decode a text file in UTF-8 (with or without BOM), GBK/GB18030 or whatever charset-normalizer detects.

    Args:
        data: The raw bytes.
        name: The file's name, for the error message.

    Returns:
        The decoded text.

    Raises:
        QAError: If the bytes are binary or in no detectable text encoding.
    """
    if b"\x00" in data[:8192] and not data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise QAError(f"{name} looks like a binary file, not text.")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("gb18030")
    except UnicodeDecodeError:
        pass
    best = from_bytes(data).best()
    if best is None:
        raise QAError(f"{name}: cannot tell its text encoding; save it as UTF-8.")
    return str(best)


def _read_docx(path: Path) -> tuple[str | None, list[str]]:
    import docx

    document = docx.Document(str(path))
    lines = []
    for paragraph in document.paragraphs:
        style = (paragraph.style.name or "").lower() if paragraph.style is not None else ""
        marker = "# " if style == "title" else "## " if style.startswith("heading") else ""
        lines.append(marker + paragraph.text)
    return (document.core_properties.title or None), lines


def _read_pdf(path: Path) -> tuple[str | None, list[str]]:
    from pypdf import PdfReader

    reader = PdfReader(str(path))
    title = reader.metadata.title if reader.metadata else None
    lines = []
    for page in reader.pages:
        lines.extend((page.extract_text() or "").splitlines())
    return title, lines


def _read_html(path: Path) -> tuple[str | None, list[str]]:
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(decode_bytes(path.read_bytes(), path.name), "html.parser")
    for tag in soup(["script", "style", "noscript", "template"]):
        tag.decompose()
    for heading in soup.find_all(["h1", "h2", "h3", "h4", "h5", "h6"]):
        heading.insert(0, "\n# " if heading.name == "h1" else "\n## ")
        heading.append("\n")
    title = soup.title.get_text(strip=True) if soup.title else None
    if soup.title:
        soup.title.decompose()
    return title or None, soup.get_text("\n").splitlines()


def read_file(path: Path, doc_id: str) -> Document:
    """Read one document file into cleaned lines with its title.

    Args:
        path: The file (.txt, .md, .docx, .pdf, .html).
        doc_id: The id the document's passages will carry.

    Returns:
        The document.

    Raises:
        QAError: If the file cannot be read.
    """
    suffix = path.suffix.lower()
    try:
        if suffix in TEXT_SUFFIXES:
            title, lines = None, decode_bytes(path.read_bytes(), path.name).splitlines()
        elif suffix == ".docx":
            title, lines = _read_docx(path)
        elif suffix == ".pdf":
            title, lines = _read_pdf(path)
        elif suffix in {".html", ".htm"}:
            title, lines = _read_html(path)
        else:
            raise QAError(f"{path.name}: unsupported file type {suffix!r}.")
    except QAError:
        raise
    except Exception as error:  # every parser has its own exceptions for broken files
        raise QAError(f"{path.name} cannot be read ({type(error).__name__}: {error}).") from error
    lines = [clean_line(line) for line in lines]
    lines = [line for line in lines if line]
    if title is None and lines and _is_title(lines[0]):
        title = lines.pop(0).lstrip("#").strip()
    return Document(doc_id=doc_id, title=clean_line(title or path.stem), lines=lines)


def _is_title(line: str) -> bool:
    if line.startswith("#"):
        return line.startswith("# ")
    return len(line) <= TITLE_MAX_CHARS and not _ends_paragraph(line) and not any(m in line for m in CLAUSE_MARKS)


def read_beir_corpus(path: Path) -> list[Document]:
    """Read a BEIR ``corpus.jsonl`` (one JSON object a line with ``_id``, ``title``, ``text``).

    Args:
        path: The ``corpus.jsonl`` file.

    Returns:
        One document per valid line; malformed lines are logged and skipped.
    """
    documents = []
    for number, record in json_lines(path):
        try:
            if isinstance(record, ValueError):
                raise record
            doc_id, text = str(record["_id"]), str(record["text"])
        except (ValueError, KeyError, TypeError) as error:
            log.warning("%s line %d skipped: %s", path.name, number, error)
            continue
        cleaned = [clean_line(part) for part in text.splitlines()]
        title = clean_line(str(record.get("title") or doc_id))
        documents.append(Document(doc_id=doc_id, title=title, lines=[line for line in cleaned if line]))
    return documents


def json_lines(path: Path) -> Iterator[tuple[int, object]]:
    """Read a JSON-lines file (UTF-8, with or without BOM), skipping blank lines.

    Args:
        path: The file.

    Yields:
        (line number, the parsed value — or the ``ValueError`` when the line is not valid JSON).
    """
    with path.open(encoding="utf-8-sig") as lines:
        for number, line in enumerate(lines, 1):
            if not line.strip():
                continue
            try:
                yield number, json.loads(line)
            except ValueError as error:
                yield number, error
