"""The on-disk index: building, saving, loading and checking it.

Layout of an index folder::

    index/
      current -> builds/20261127T015500-ab12   (symlink, swapped atomically)
      builds/<build>/manifest.json  passages.jsonl  dense.faiss
                     sparse/  (bm25s index over jieba terms)  sentences.npz  (sentence vectors for answers)
      .lock                                      (held while a build runs)

A build is written into ``builds/.tmp-*`` and becomes visible only when the ``current`` link is replaced in one
``rename``: a reader never sees a half-written index, and a killed build leaves the previous one in place.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import shutil
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import bm25s
import faiss
import numpy as np

from qa.config import QAError, Settings, get_settings
from qa.documents import Corpus, Passage, fingerprint, load_corpus, split_sentences, tokenize
from qa.embedding import Encoder

log = logging.getLogger(__name__)

FORMAT_VERSION = 2
CURRENT = "current"
BUILDS = "builds"
MANIFEST = "manifest.json"
PASSAGES = "passages.jsonl"
DENSE = "dense.faiss"
SPARSE = "sparse"
SENTENCES = "sentences.npz"
REBUILD_HINT = "Run: qa index build"
ADD_BATCH = 65_536


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


def dense_index_factory(count: int, settings: Settings) -> str:
    """Choose the dense index type for a corpus size: exact up to ``dense_exact_max`` vectors, IVF above.

    Args:
        count: How many vectors the index will hold.
        settings: The settings (threshold and IVF parameters).

    Returns:
        A FAISS factory string: ``Flat`` (exact inner product) or ``IVF<lists>,<code>`` (e.g. ``IVF1024,SQ8``).
    """
    if count <= settings.dense_exact_max:
        return "Flat"
    lists = settings.dense_ivf_lists or 2 ** round(np.log2(np.sqrt(count)))
    return f"IVF{lists},{settings.dense_ivf_code}"


def new_dense_index(count: int, dimension: int, settings: Settings) -> faiss.Index:
    """Create an empty inner-product index of the type :func:`dense_index_factory` chooses.

    Args:
        count: How many vectors it will hold.
        dimension: The vectors' dimension.
        settings: The settings.

    Returns:
        The index (an IVF index still needs training), with its search-time probe count set (saved with it).
    """
    factory = dense_index_factory(count, settings)
    if factory == "Flat":
        return faiss.IndexFlatIP(dimension)
    index = faiss.index_factory(dimension, factory, faiss.METRIC_INNER_PRODUCT)
    faiss.extract_index_ivf(index).nprobe = settings.dense_ivf_probe
    return index


def training_sample(vectors: np.ndarray, index: faiss.Index, per_list: int = 64) -> np.ndarray:
    """Pick the vectors an IVF index is trained on (a random sample, ``per_list`` per cluster).

    Args:
        vectors: All vectors (or a large part of them).
        index: The IVF index.
        per_list: Training vectors per cluster (FAISS wants 39 to 256).

    Returns:
        The sample (float32, C-contiguous).
    """
    wanted = faiss.extract_index_ivf(index).nlist * per_list
    if len(vectors) <= wanted:
        return np.ascontiguousarray(vectors, dtype=np.float32)
    rows = np.sort(np.random.default_rng(0).choice(len(vectors), wanted, replace=False))
    return np.ascontiguousarray(vectors[rows], dtype=np.float32)


def make_dense_index(vectors: np.ndarray, settings: Settings | None = None) -> faiss.Index:
    """Build the dense index of a set of vectors (exact or IVF, by their number).

    Args:
        vectors: Unit vectors, one row per passage.
        settings: The settings (default: the process's).

    Returns:
        The filled index.
    """
    settings = settings or get_settings()
    dense = new_dense_index(len(vectors), vectors.shape[1], settings)
    if not dense.is_trained:
        dense.train(training_sample(vectors, dense))
    for start in range(0, len(vectors), ADD_BATCH):  # in batches: IVF's temporary residuals stay small
        dense.add(np.ascontiguousarray(vectors[start : start + ADD_BATCH], dtype=np.float32))
    return dense


def _write_build(folder: Path, corpus: Corpus, vectors: np.ndarray, manifest: dict) -> None:
    folder.mkdir(parents=True)
    dense = make_dense_index(vectors)
    faiss.write_index(dense, str(folder / DENSE))
    with (folder / PASSAGES).open("w", encoding="utf-8") as out:
        for passage in corpus.passages:
            out.write(json.dumps(passage.to_dict(), ensure_ascii=False) + "\n")
    (folder / MANIFEST).write_text(json.dumps(manifest, ensure_ascii=False, indent=2), encoding="utf-8")


def passage_terms(passage: Passage) -> list[str]:
    """Return the BM25 terms of a passage: its document title, section and text.

    Args:
        passage: The passage.

    Returns:
        Its terms (``[""]`` when it has none, so that every passage has a BM25 row).
    """
    return tokenize(f"{passage.title}\n{passage.section}\n{passage.text}") or [""]


def passage_sentences(passage: Passage) -> list[str]:
    """Return the sentences of a passage as answers are picked from them (the passage itself if it has none).

    Args:
        passage: The passage.

    Returns:
        Its sentences.
    """
    return split_sentences(passage.text) or [passage.text]


def _write_retrieval_extras(folder: Path, passages: list[Passage], sentence_vectors: np.ndarray) -> None:
    """Write the BM25 index and the sentence vectors (with each passage's first sentence number)."""
    sparse = bm25s.BM25()
    sparse.index([passage_terms(p) for p in passages], show_progress=False)
    sparse.save(str(folder / SPARSE), show_progress=False)
    starts = np.cumsum([0] + [len(passage_sentences(p)) for p in passages])
    np.savez(folder / SENTENCES, vectors=sentence_vectors, starts=starts)


def _load_retrieval_extras(folder: Path) -> tuple[bm25s.BM25, np.ndarray, np.ndarray]:
    sparse = bm25s.BM25.load(str(folder / SPARSE), show_progress=False, verbosity=0)
    with np.load(folder / SENTENCES) as saved:
        return sparse, saved["vectors"], saved["starts"]


def _swap_in(index_dir: Path, build: Path) -> None:
    link = index_dir / f".{CURRENT}.new"
    if link.is_symlink():
        link.unlink()
    link.symlink_to(build.relative_to(index_dir))
    os.replace(link, index_dir / CURRENT)


def _clean_old_builds(index_dir: Path, keep: int = 2) -> None:
    """Remove leftovers of killed builds and all but the newest ``keep`` builds (readers may still use those)."""
    builds = index_dir / BUILDS
    current = (index_dir / CURRENT).resolve()
    finished = sorted((p for p in builds.iterdir() if not p.name.startswith(".")), key=lambda p: p.name)
    for path in [p for p in builds.iterdir() if p.name.startswith(".tmp-")] + finished[:-keep]:
        if path.resolve() != current:
            shutil.rmtree(path, ignore_errors=True)


def build(corpus_dir: Path, index_dir: Path, encoder: Encoder, max_chars: int = 360,
          progress: Callable[[int, int], None] | None = None) -> Index:
    """Build an index of a corpus folder and swap it in atomically.

    Args:
        corpus_dir: The documents.
        index_dir: The index folder (created if needed).
        encoder: The embedding model.
        max_chars: The longest passage.
        progress: Called with (texts embedded so far, total) while embedding passages and then their sentences.

    Returns:
        The new index.

    Raises:
        QAError: If the corpus holds no readable passage or another build is running.
    """
    corpus = load_corpus(corpus_dir, max_chars)
    if not corpus.passages:
        skipped = "".join(f"\n  {name}: {why}" for name, why in corpus.skipped)
        raise QAError(f"No readable text in {corpus_dir}; the index was left as it was.{skipped}")
    with build_lock(index_dir):
        done = 0

        def advance(count: int) -> None:
            nonlocal done
            done += count
            if progress:
                progress(done, len(corpus.passages) + len(sentences))

        sentences = [s for p in corpus.passages for s in passage_sentences(p)]
        vectors = encoder.encode_passages([p.text for p in corpus.passages], advance)
        sentence_vectors = encoder.encode_passages(sentences, advance)
        stamp = datetime.now(timezone.utc)
        manifest = {
            "format_version": FORMAT_VERSION,
            "model": encoder.spec,
            "dimension": encoder.dimension,
            "corpus_dir": str(corpus_dir.resolve()),
            "corpus_fingerprint": fingerprint(corpus_dir),
            "documents": len({p.doc_id for p in corpus.passages}),
            "passages": len(corpus.passages),
            "max_passage_chars": max_chars,
            "skipped": [{"file": name, "reason": why} for name, why in corpus.skipped],
            "built_at": stamp.isoformat(timespec="seconds"),
        }
        builds = index_dir / BUILDS
        name = f"{stamp:%Y%m%dT%H%M%S}-{os.getpid()}-{time.monotonic_ns() % 10**6:06d}"
        temporary = builds / f".tmp-{name}"
        _write_build(temporary, corpus, vectors, manifest)
        _write_retrieval_extras(temporary, corpus.passages, sentence_vectors)
        final = builds / name
        temporary.rename(final)
        _swap_in(index_dir, final)
        _clean_old_builds(index_dir)
    return load(index_dir)


def _broken(index_dir: Path, what: str) -> QAError:
    return QAError(f"The index in {index_dir} is broken ({what}). {REBUILD_HINT} --index {index_dir}")


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
        raise QAError(f"No index in {index_dir}. {REBUILD_HINT} --index {index_dir}")
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
    except (OSError, ValueError, TypeError, KeyError, AttributeError, RuntimeError) as error:
        raise _broken(index_dir, f"{type(error).__name__}: {error}") from error
    if dense.ntotal != len(passages) or manifest.get("passages") != len(passages):
        raise _broken(index_dir, f"{dense.ntotal} vectors for {len(passages)} passages")
    if dense.d != manifest.get("dimension"):
        raise _broken(index_dir, f"vectors of dimension {dense.d}, manifest says {manifest.get('dimension')}")
    if len(sentence_starts) != len(passages) + 1 or sentence_starts[-1] != len(sentence_vectors):
        raise _broken(index_dir, "sentence vectors do not match the passages")
    return Index(path=folder, manifest=manifest, passages=passages, dense=dense, sparse=sparse,
                 sentence_vectors=sentence_vectors, sentence_starts=sentence_starts)
