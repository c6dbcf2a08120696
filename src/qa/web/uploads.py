"""Documents uploaded in the chat: checked (type, size), given safe names and saved into the corpus folder only."""

from __future__ import annotations

import os
import re
import shutil
import threading
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

from qa.config import QAError
from qa.documents import read_file

UPLOAD_SUFFIXES = (".txt", ".md", ".docx", ".pdf", ".html")
MAX_NAME_CHARS = 120
UNSAFE = re.compile(r"[^\w\u3000-\u303f\uff00-\uffef .()\-（）【】《》]")  # \w keeps Chinese letters and digits


@dataclass
class UploadOutcome:
    """What happened to a batch of uploaded files."""

    saved: list[str] = field(default_factory=list)
    rejected: list[tuple[str, str]] = field(default_factory=list)


def safe_upload_name(name: str) -> str:
    """Turn an uploaded file's name into a safe file name in the corpus folder.

    Only the last path component is kept (``/`` and ``\\`` both separate), control and unusual characters become
    ``_``, leading dots and spaces go (no hidden files, no ``..``), Chinese characters stay.

    Args:
        name: The name the browser sent, e.g. ``../../etc/passwd.txt`` or ``报告 2020.docx``.

    Returns:
        The safe name, e.g. ``passwd.txt`` or ``报告 2020.docx``.

    Raises:
        QAError: If nothing usable is left or the type is not accepted.
    """
    base = unicodedata.normalize("NFC", str(name)).replace("\\", "/").split("/")[-1]
    stem, dot, suffix = base.rpartition(".")
    stem, suffix = (stem, suffix.lower()) if dot else (base, "")
    if f".{suffix}" not in UPLOAD_SUFFIXES:
        raise QAError(f"{base or name!r}: only {', '.join(UPLOAD_SUFFIXES)} files can be added.")
    stem = re.sub(r"\.{2,}", ".", UNSAFE.sub("_", stem)).strip(" ._")
    if not stem:
        raise QAError(f"{name!r} has no usable file name; rename it and upload it again.")
    return f"{stem[: MAX_NAME_CHARS - len(suffix) - 1]}.{suffix}"


def check_upload(path: Path, max_mb: float) -> None:
    """Refuse a file that is missing or too large.

    Args:
        path: The uploaded file (in Gradio's upload folder).
        max_mb: The size limit in MB.

    Raises:
        QAError: If the file is too large or unreadable.
    """
    try:
        size = path.stat().st_size
    except OSError as error:
        raise QAError(f"{path.name} could not be read ({error}).") from error
    if size > max_mb * 1024 * 1024:
        raise QAError(f"{path.name} is {size / 1024 / 1024:.1f} MB; the limit is {max_mb:g} MB (QA_MAX_UPLOAD_MB).")


def corpus_target(corpus_dir: Path, name: str) -> Path:
    """Return where a safely named file goes, checking that it is directly inside the corpus folder.

    Args:
        corpus_dir: The corpus folder.
        name: A name from :func:`safe_upload_name`.

    Returns:
        The target path.

    Raises:
        QAError: If the target would be outside the corpus folder or is not a regular file.
    """
    root = corpus_dir.resolve()
    target = root / name
    if target.parent != root or (target.exists() and (target.is_symlink() or not target.is_file())):
        raise QAError(f"{name} cannot be written into the corpus folder.")
    return target


def place(path: Path, target: Path) -> None:
    """Copy an upload into a hidden folder of the corpus (which builds ignore), check that it can be read as a
    document, then rename it into place; an unreadable file is removed again.

    Args:
        path: The uploaded file.
        target: Its place in the corpus folder.

    Raises:
        QAError: If the file cannot be read as a document.
    """
    staging = target.parent / f".upload-{os.getpid()}-{threading.get_ident()}"
    staging.mkdir(exist_ok=True)
    partial = staging / target.name
    try:
        shutil.copyfile(path, partial)
        if not read_file(partial, target.name).lines:
            raise QAError(f"{target.name} holds no text.")
        os.replace(partial, target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def save_uploads(files: list[str | Path], corpus_dir: Path, max_mb: float) -> UploadOutcome:
    """Copy uploaded files into the corpus folder (a file of the same name is replaced); bad ones are rejected.

    Args:
        files: Paths of the uploaded files (Gradio keeps the original name as the last component).
        corpus_dir: The corpus folder.
        max_mb: The size limit in MB.

    Returns:
        The names saved and the files rejected with the reason.
    """
    outcome = UploadOutcome()
    corpus_dir.mkdir(parents=True, exist_ok=True)
    for item in files:
        path = Path(item)
        try:
            name = safe_upload_name(path.name)
            check_upload(path, max_mb)
            place(path, corpus_target(corpus_dir, name))
        except QAError as error:
            outcome.rejected.append((path.name, str(error)))
        except OSError as error:
            outcome.rejected.append((path.name, f"could not be saved ({error.strerror or error})."))
        else:
            outcome.saved.append(name)
    return outcome
