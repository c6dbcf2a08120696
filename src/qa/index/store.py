"""The index folder on disk: its layout constants, the loaded :class:`Index`, finding, loading and checking the
current build, the build lock, swapping a finished build in and removing leftovers."""

from __future__ import annotations

import fcntl
import json
import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import bm25s
import faiss
import numpy as np

from qa.config import QAError, Settings
from qa.errors import IndexUnavailable
from qa.documents import Passage, fingerprint

FORMAT_VERSION = 2
CURRENT = "current"
BUILDS = "builds"
MANIFEST = "manifest.json"
PASSAGES = "passages.jsonl"
DENSE = "dense.faiss"
SPARSE = "sparse"
SENTENCES = "sentences.npz"
VECTORS = "vectors.npy"
VECTOR_KEYS = "vector_keys.npy"
TEMPORARY = ".tmp-"
REBUILD_HINT = "Run: qa index build"


@dataclass
class Index:
    """A loaded index: its manifest, passages, dense vectors, BM25 index and sentence vectors."""

    path: Path
    manifest: dict
    passages: list[Passage]
    dense: faiss.Index
    sparse: bm25s.BM25 | None = None
    sentence_vectors: np.ndarray | None = None
    sentence_starts: np.ndarray | None = None

    @property
    def model(self) -> str:
        """The model spec the index was built with."""
        return self.manifest["model"]

    def checked_corpus(self, settings: Settings) -> Path:
        """Return the corpus folder the index is checked against when none is named: the configured one if it was
        set (``QA_CORPUS_DIR``), else the folder the index was built from while it exists (an index built with
        ``--corpus`` elsewhere is not called stale for differing from ``corpus/``), else the configured default.

        Args:
            settings: The settings.

        Returns:
            The corpus folder.
        """
        recorded = self.manifest.get("corpus_dir")
        if "corpus_dir" in settings.model_fields_set or not recorded or not Path(recorded).is_dir():
            return settings.corpus_dir
        return Path(recorded)

    def staleness(self, corpus_dir: Path, model: str | None = None, max_chars: int | None = None) -> list[str]:
        """Say why the index no longer matches the corpus or settings.

        Args:
            corpus_dir: The corpus folder the index should reflect.
            model: The configured model spec, if it should be compared.
            max_chars: The configured passage length, if it should be compared.

        Returns:
            Reasons the index is stale (empty when it is up to date).
        """
        reasons = []
        if fingerprint(corpus_dir) != self.manifest["corpus_fingerprint"]:
            reasons.append(f"the documents in {corpus_dir} changed since the index was built")
        if model and model != self.model:
            reasons.append(f"it was built with model {self.model!r}, the configured model is {model!r}")
        if max_chars and max_chars != self.manifest.get("max_passage_chars"):
            reasons.append("the passage length setting changed")
        return reasons


def exists(index_dir: Path) -> bool:
    """Tell whether an index has been built in a folder.

    Args:
        index_dir: The index folder.

    Returns:
        True when the folder has a current build.
    """
    return (index_dir / CURRENT).is_symlink() or (index_dir / CURRENT).is_dir()


def current_build(index_dir: Path) -> Path | None:
    """Return the folder of the build in use, or None when there is none.

    Args:
        index_dir: The index folder.

    Returns:
        The resolved build folder.
    """
    return (index_dir / CURRENT).resolve() if exists(index_dir) else None


@contextmanager
def build_lock(index_dir: Path) -> Iterator[None]:
    """Hold the index folder's build lock; a second build into the same folder is refused.

    Args:
        index_dir: The index folder.

    Raises:
        QAError: If another build holds the lock.
    """
    index_dir.mkdir(parents=True, exist_ok=True)
    with open(index_dir / ".lock", "a+") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "another process"
            raise QAError(f"Another build is running in {index_dir} ({holder}). Wait for it to finish.") from None
        handle.seek(0)
        handle.truncate()
        handle.write(f"pid {os.getpid()} since {datetime.now(timezone.utc).isoformat(timespec='seconds')}")
        handle.flush()
        try:
            yield
        finally:
            handle.truncate(0)
            fcntl.flock(handle, fcntl.LOCK_UN)


def _swap_in(index_dir: Path, build: Path) -> None:
    """Point ``current`` at a finished build in one rename.

    Raises:
        QAError: If ``current`` is something qa did not make (e.g. a folder).
    """
    link = index_dir / f".{CURRENT}.new"
    if link.is_symlink():
        link.unlink()
    link.symlink_to(build.relative_to(index_dir))
    try:
        os.replace(link, index_dir / CURRENT)
    except OSError as error:
        link.unlink()
        raise QAError(f"Cannot replace {index_dir / CURRENT} ({error}); it is not a link made by qa. Move it away, "
                      f"or build into an empty folder with --index.") from error


def clean_leftovers(index_dir: Path, keep: int = 2) -> list[str]:
    """Remove leftovers of killed builds and all but the newest ``keep`` builds (readers may still use those); the
    current build is never removed. Call it only while holding :func:`build_lock`.

    Args:
        index_dir: The index folder.
        keep: Finished builds to keep.

    Returns:
        The names removed.
    """
    builds = index_dir / BUILDS
    if not builds.is_dir():
        return []
    current = current_build(index_dir)
    finished = sorted((p for p in builds.iterdir() if not p.name.startswith(".")), key=lambda p: p.name)
    removed = []
    for path in [p for p in builds.iterdir() if p.name.startswith(TEMPORARY)] + finished[:-keep]:
        if path.resolve() != current:
            shutil.rmtree(path, ignore_errors=True)
            removed.append(path.name)
    return removed


def _load_retrieval_extras(folder: Path) -> tuple[bm25s.BM25, np.ndarray, np.ndarray]:
    sparse = bm25s.BM25.load(str(folder / SPARSE), show_progress=False, verbosity=0)
    with np.load(folder / SENTENCES) as saved:
        return sparse, saved["vectors"], saved["starts"]


def _broken(index_dir: Path, what: str) -> QAError:
    return IndexUnavailable(f"The index in {index_dir} is broken ({what}). {REBUILD_HINT} --index {index_dir}")


def load(index_dir: Path) -> Index:
    """Load and validate the current index of a folder.

    Args:
        index_dir: The index folder.

    Returns:
        The index.

    Raises:
        QAError: If there is no index, or it is broken or of another format.
    """
    if not exists(index_dir):
        raise IndexUnavailable(f"No index in {index_dir}. {REBUILD_HINT} --index {index_dir}")
    folder = (index_dir / CURRENT).resolve()
    try:
        manifest = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
        version = manifest.get("format_version")
        if version != FORMAT_VERSION:
            raise _broken(index_dir, f"format version {version}, this qa reads {FORMAT_VERSION}")
        passages = [Passage(**json.loads(line)) for line in (folder / PASSAGES).read_text(encoding="utf-8").splitlines()]
        dense = faiss.read_index(str(folder / DENSE))
        sparse, sentence_vectors, sentence_starts = _load_retrieval_extras(folder)
    except QAError:
        raise
    except Exception as error:  # json, faiss, bm25s, numpy and zipfile each raise their own errors for broken files
        raise _broken(index_dir, f"{type(error).__name__}: {error}") from error
    if dense.ntotal != len(passages) or manifest.get("passages") != len(passages):
        raise _broken(index_dir, f"{dense.ntotal} vectors for {len(passages)} passages")
    if dense.d != manifest.get("dimension"):
        raise _broken(index_dir, f"vectors of dimension {dense.d}, manifest says {manifest.get('dimension')}")
    if len(sentence_starts) != len(passages) + 1 or sentence_starts[-1] != len(sentence_vectors):
        raise _broken(index_dir, "sentence vectors do not match the passages")
    return Index(path=folder, manifest=manifest, passages=passages, dense=dense, sparse=sparse,
                 sentence_vectors=sentence_vectors, sentence_starts=sentence_starts)
