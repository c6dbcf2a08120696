"""A corpus folder: the files that are read, reading and chunking them all, and the fingerprint that tells when the
corpus changed."""

from __future__ import annotations

import hashlib
import logging
from pathlib import Path

from qa.config import QAError
from qa.documents.chunking import chunk
from qa.documents.passage import Corpus
from qa.documents.readers import BEIR_CORPUS, SUFFIXES, read_beir_corpus, read_file

log = logging.getLogger(__name__)

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
