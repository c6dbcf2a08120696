"""Reading documents and cutting them into passages.

Supported: ``.txt``/``.md`` in any common encoding, ``.docx``, ``.pdf``, ``.html`` and BEIR ``corpus.jsonl``.
Every reader turns a file into lines (a marked title comes as a ``# `` line, headings as ``## `` lines); one chunker
then rebuilds paragraphs that a line or page break cut, finds headings and captions, and splits long
paragraphs at sentence ends.
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
import re
import unicodedata
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path

from charset_normalizer import from_bytes

from qa.config import QAError

log = logging.getLogger(__name__)

TEXT_SUFFIXES = {".txt", ".md", ".markdown"}
SUFFIXES = TEXT_SUFFIXES | {".docx", ".pdf", ".html", ".htm"}
BEIR_CORPUS = "corpus.jsonl"

SENTENCE_END = "。！？!?；;…"
CLOSING = "”’」』）)】》\"'"
PARAGRAPH_END = SENTENCE_END + "：:"
CLAUSE_MARKS = "，,。；;"
INVISIBLE = re.compile(r"[\u200b-\u200f\u2028\u2029\u202a-\u202e\u2060-\u2064\ufeff\u00ad]")
SPACES = re.compile(r"[ \t\u00a0\u3000\u2002-\u200a\u202f\u205f]+")
CJK_GAP = re.compile(r"(?<=[\u4e00-\u9fff]) (?=[\u4e00-\u9fff])")
CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f\ud800-\udfff]")  # control characters and lone surrogates
SENTENCE = re.compile(rf"[^{SENTENCE_END}]+(?:[{SENTENCE_END}]+[{CLOSING}]*|$)|[{SENTENCE_END}]+[{CLOSING}]*")
NUMBERED_HEADING = re.compile(r"^(?:[一二三四五六七八九十]+、|（[一二三四五六七八九十]+）|第[一二三四五六七八九十百\d]+[章节部分篇])")
TERM = re.compile(r"[\w\u4e00-\u9fff]")
STOPWORDS = frozenset(
    "的 地 得 了 着 过 是 在 和 与 及 或 等 也 都 就 而 被 把 对 中 上 下 为 以 于 之 其 这 那 有 个 吗 呢 吧 啊 么 呀 哦 "
    "什么 哪些 哪个 哪里 哪儿 哪 多少 几 谁 怎么 怎样 怎么样 如何 为什么 是否 是不是 请问 一下 告诉 我 你 我们 你们".split()
)
NUMBER_TERM = re.compile(r"^(\d+(?:\.\d+)?)%$")
DANGLING_END = "的《“‘（(、，,"
CONTINUATION_START = "，,、。；;：:》）)”’！？!?"
LONE_TOKEN = re.compile(r"^(?:public domain|false|true|null|none|undefined|nan)$", re.IGNORECASE)
LICENSE_NOTICE = re.compile(r"公有领域|版权所有|著作权法|维基文库|all rights reserved|creative commons|\bcc[- ]by\b|"
                            r"wikisource|public domain", re.IGNORECASE)
HEADING_MAX_CHARS = 16
FRAGMENT_CHARS = 8
BODY_MIN_CHARS = 30
WRAPPED_LINE_CHARS = 60
TITLE_MAX_CHARS = 60


@dataclass(frozen=True)
class Passage:
    """The unit that is embedded, retrieved and shown."""

    passage_id: str
    doc_id: str
    title: str
    section: str
    text: str
    position: int

    def to_dict(self) -> dict:
        """Return the passage as a plain dict (the on-disk and JSON form).

        Returns:
            A dict with the passage's fields.
        """
        return asdict(self)


@dataclass
class Document:
    """A document as cleaned lines, before chunking."""

    doc_id: str
    title: str
    lines: list[str] = field(default_factory=list)


@dataclass
class Corpus:
    """What was read from a corpus folder: documents, their passages, and the files that were skipped."""

    documents: list[Document]
    passages: list[Passage]
    skipped: list[tuple[str, str]]


def clean_line(text: str) -> str:
    """Remove invisible and control characters, collapse whitespace and drop it between Chinese characters
    (typographic padding such as 李\u3000强); punctuation is left as it is.

    Args:
        text: One line of text.

    Returns:
        The cleaned line.
    """
    text = CONTROL.sub("", INVISIBLE.sub("", text))
    return CJK_GAP.sub("", SPACES.sub(" ", text)).strip()


def tokenize(text: str) -> list[str]:
    """Cut text into search terms: jieba words (search mode), numbers and Latin words kept whole, lower-cased,
    full-width characters folded (NFKC), a percentage kept as its number, punctuation and stopwords dropped.

    Args:
        text: Any text.

    Returns:
        The terms in order.
    """
    import jieba

    jieba.setLogLevel(logging.WARNING)
    terms = []
    for word in jieba.cut_for_search(unicodedata.normalize("NFKC", text)):
        word = NUMBER_TERM.sub(r"\1", word.strip().lower())
        if word and TERM.search(word) and word not in STOPWORDS:
            terms.append(word)
    return terms


def split_sentences(text: str) -> list[str]:
    """Split Chinese (or mixed) text after sentence-ending punctuation.

    Args:
        text: A paragraph.

    Returns:
        The sentences, punctuation kept, empty pieces dropped.
    """
    return [s.strip() for s in SENTENCE.findall(text) if s.strip()]


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


def _ends_paragraph(line: str) -> bool:
    return line.endswith(tuple(PARAGRAPH_END + CLOSING + "."))


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


def corpus_files(corpus_dir: Path) -> list[Path]:
    """List the files of a corpus folder that ``qa`` reads (hidden files excluded), in a stable order.

    Args:
        corpus_dir: The corpus folder.

    Returns:
        The files, sorted by relative path.
    """
    files = [
        path
        for path in corpus_dir.rglob("*")
        if path.is_file()
        and not any(part.startswith(".") for part in path.relative_to(corpus_dir).parts)
        and (path.suffix.lower() in SUFFIXES or path.name == BEIR_CORPUS)
    ]
    return sorted(files, key=lambda p: p.relative_to(corpus_dir).as_posix())


def load_corpus(corpus_dir: Path, max_chars: int = 360) -> Corpus:
    """Read every supported file of a corpus folder and chunk it; unreadable files are skipped and listed.

    Args:
        corpus_dir: The corpus folder (a BEIR ``corpus.jsonl`` in it is read too).
        max_chars: The longest passage.

    Returns:
        The documents, passages and skipped files.

    Raises:
        QAError: If the folder does not exist.
    """
    if not corpus_dir.is_dir():
        raise QAError(f"Corpus folder {corpus_dir} does not exist. Create it and put documents in it.")
    documents, skipped = [], []
    for path in corpus_files(corpus_dir):
        relative = path.relative_to(corpus_dir).as_posix()
        try:
            if path.name == BEIR_CORPUS:
                documents.extend(read_beir_corpus(path))
            else:
                documents.append(read_file(path, relative))
        except (QAError, OSError) as error:
            log.warning("skipped %s: %s", relative, error)
            skipped.append((relative, str(error)))
    passages = [p for document in documents for p in chunk(document, max_chars)]
    return Corpus(documents=documents, passages=passages, skipped=skipped)


def fingerprint(corpus_dir: Path) -> str:
    """Return a hash of the corpus's files (names and contents): it changes whenever the corpus does.

    Args:
        corpus_dir: The corpus folder.

    Returns:
        A hex digest ("" for a missing folder).
    """
    if not corpus_dir.is_dir():
        return ""
    digest = hashlib.sha256()
    for path in corpus_files(corpus_dir):
        digest.update(path.relative_to(corpus_dir).as_posix().encode())
        digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()
