"""The on-disk index: building, saving, loading and checking it.

Layout of an index folder::

    index/
      current -> builds/20261127T015500-ab12   (symlink, swapped atomically)
      builds/<build>/manifest.json  passages.jsonl  dense.faiss
                     sparse/  (bm25s index over jieba terms)  sentences.npz  (sentence vectors for answers)
                     vectors.npy  vector_keys.npy  (the passage vectors, float32, and a digest of each embedded text)
      .lock                                      (held while a build runs)

A build is written into ``builds/.tmp-*`` and becomes visible only when the ``current`` link is replaced in one
``rename``: a reader never sees a half-written index, and a killed build leaves the previous one in place.

Builds are incremental: the vectors of passages (and sentences) whose embedded text is unchanged are copied from the
current build when it was made with the same *embedding recipe* (model, backend, prefix, passage length and what text
of a passage is embedded, see :func:`embedding_recipe`); only new or changed text is embedded.
"""

from __future__ import annotations

import fcntl
import hashlib
import inspect
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
VECTORS = "vectors.npy"
VECTOR_KEYS = "vector_keys.npy"
TEMPORARY = ".tmp-"
RECIPE_VERSION = 2  # bump when what is embedded per passage or sentence changes in a way the recipe cannot see
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


def text_key(text: str) -> int:
    """Return a 64-bit digest of a text (how reusable vectors are recognized).

    Args:
        text: The text.

    Returns:
        The digest as an unsigned integer.
    """
    return int.from_bytes(hashlib.blake2b(text.encode("utf-8"), digest_size=8).digest(), "little")


def _keys(texts: list[str]) -> np.ndarray:
    return np.fromiter((text_key(t) for t in texts), dtype=np.uint64, count=len(texts))


def _write_build(folder: Path, passages: list[Passage], vectors: np.ndarray, keys: np.ndarray, manifest: dict) -> None:
    """Write the dense index, the passages and their vectors (with keys for reuse), then the manifest."""
    folder.mkdir(parents=True)
    dense = make_dense_index(vectors)
    faiss.write_index(dense, str(folder / DENSE))
    np.save(folder / VECTORS, np.ascontiguousarray(vectors, dtype=np.float32))
    np.save(folder / VECTOR_KEYS, keys)
    with (folder / PASSAGES).open("w", encoding="utf-8") as out:
        for passage in passages:
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


def passage_embedding_text(passage: Passage) -> str:
    """Return what the dense model embeds for a passage: its document title and section, each on a line of its
    own, before its text, so that a question naming a document's place, body or year finds that document's passages.

    Args:
        passage: The passage.

    Returns:
        The text to embed.
    """
    return "\n".join(part for part in (passage.title, passage.section, passage.text) if part)


def embedding_texts(passages: list[Passage]) -> list[str]:
    """Return what is embedded for each passage (:func:`passage_embedding_text`).

    Args:
        passages: The passages.

    Returns:
        One text per passage.
    """
    return [passage_embedding_text(p) for p in passages]


def embedding_recipe(encoder: Encoder, max_chars: int) -> dict:
    """Describe everything that decides a stored vector, so that vectors are reused only under the same recipe.

    Args:
        encoder: The embedding model.
        max_chars: The longest passage.

    Returns:
        Version, model, dimension, backend, passage prefix, passage length and a digest of the code that chooses the
        text embedded per passage (the source of :func:`passage_embedding_text`).
    """
    code = inspect.getsource(passage_embedding_text)
    return {"version": RECIPE_VERSION, "model": encoder.spec, "dimension": encoder.dimension,
            "backend": getattr(encoder, "backend_name", "torch"), "passage_prefix": getattr(encoder, "passage_prefix", ""),
            "max_passage_chars": max_chars, "passage_text": hashlib.sha1(code.encode()).hexdigest()[:12]}


def _write_retrieval_extras(folder: Path, passages: list[Passage], sentence_vectors: np.ndarray,
                            sentence_keys: np.ndarray) -> None:
    """Write the BM25 index and the sentence vectors (with each passage's first sentence number and their keys)."""
    sparse = bm25s.BM25()
    sparse.index([passage_terms(p) for p in passages], show_progress=False)
    sparse.save(str(folder / SPARSE), show_progress=False)
    starts = np.cumsum([0] + [len(passage_sentences(p)) for p in passages])
    np.savez(folder / SENTENCES, vectors=sentence_vectors, starts=starts, keys=sentence_keys)


def _load_retrieval_extras(folder: Path) -> tuple[bm25s.BM25, np.ndarray, np.ndarray]:
    sparse = bm25s.BM25.load(str(folder / SPARSE), show_progress=False, verbosity=0)
    with np.load(folder / SENTENCES) as saved:
        return sparse, saved["vectors"], saved["starts"]


@dataclass
class Reusable:
    """Vectors of the current build that a new build may copy: key → row, and the rows."""

    passage_rows: dict[int, int]
    passage_vectors: np.ndarray
    sentence_rows: dict[int, int]
    sentence_vectors: np.ndarray


def _reusable(index_dir: Path, recipe: dict) -> Reusable | None:
    """Open the current build's vectors for reuse, if it was built with the same recipe and has them.

    Args:
        index_dir: The index folder.
        recipe: The new build's :func:`embedding_recipe`.

    Returns:
        The reusable vectors, or None (nothing is reused).
    """
    folder = current_build(index_dir)
    if folder is None:
        return None
    try:
        manifest = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
        if manifest.get("embedding_recipe") != recipe:
            log.info("The current build was made with another embedding recipe: embedding everything.")
            return None
        vectors = np.load(folder / VECTORS, mmap_mode="r")
        keys = np.load(folder / VECTOR_KEYS)
        with np.load(folder / SENTENCES) as saved:
            sentence_vectors, sentence_keys = saved["vectors"], saved["keys"]
    except Exception as error:  # a broken or older build: numpy, json and the OS each raise their own errors
        log.warning("Cannot reuse the vectors of %s (%s): embedding everything.", folder, error)
        return None
    if len(keys) != len(vectors) or len(sentence_keys) != len(sentence_vectors):
        return None
    return Reusable(dict(zip(keys.tolist(), range(len(keys)))), vectors,
                    dict(zip(sentence_keys.tolist(), range(len(sentence_keys)))), sentence_vectors)


def _old_passages(index_dir: Path) -> list[Passage]:
    """Return the current build's passages (none when there is no readable build), to count what changed."""
    folder = current_build(index_dir)
    try:
        lines = (folder / PASSAGES).read_text(encoding="utf-8").splitlines() if folder else []
        return [Passage(**json.loads(line)) for line in lines]
    except Exception as error:  # a broken build: counted as empty
        log.warning("Cannot read the passages of %s (%s).", folder, error)
        return []


def count_changes(old: list[Passage], new: list[Passage]) -> dict[str, int]:
    """Compare two builds' passages: a new id where an old passage of the same document and position is gone
    counts as changed, other new ids as added, other gone ids as removed.

    Args:
        old: The current build's passages.
        new: The new build's passages.

    Returns:
        Counts ``added``, ``changed``, ``removed``, ``unchanged``.
    """
    old_ids, new_ids = {p.passage_id for p in old}, {p.passage_id for p in new}
    gone = {(p.doc_id, p.position) for p in old if p.passage_id not in new_ids}
    fresh = [p for p in new if p.passage_id not in old_ids]
    changed = sum((p.doc_id, p.position) in gone for p in fresh)
    return {"added": len(fresh) - changed, "changed": changed, "removed": len(gone) - changed,
            "unchanged": len(new) - len(fresh)}


def _reuse_rows(keys: np.ndarray, rows: dict[int, int]) -> list[int | None]:
    """For each key, the row of the stored vector to copy (None: embed it)."""
    return [rows.get(key) for key in keys.tolist()]


def _fill(texts: list[str], sentences: list[list[str]], rows: list[int | None], sentence_rows: list[int | None],
          stored: Reusable | None, encoder: Encoder, advance: Callable[[int], None]) -> tuple[np.ndarray, np.ndarray]:
    """Copy the stored vectors of reused passages (and of their sentences); embed the other passages, whose sentence
    vectors come from the same forward pass (:meth:`Encoder.encode_passages_with_sentences`).

    Args:
        texts: What is embedded per passage.
        sentences: Each passage's sentences.
        rows: Per passage, the stored row to copy or None to embed it.
        sentence_rows: Per sentence (all passages in order), its stored row (used for reused passages).
        stored: The reusable vectors of the previous build (None when nothing is reused).
        encoder: The embedding model.
        advance: Progress callback (passages embedded).

    Returns:
        Passage vectors and sentence vectors (float32), in corpus order.
    """
    starts = np.cumsum([0] + [len(group) for group in sentences])
    vectors = np.empty((len(texts), encoder.dimension), dtype=np.float32)
    sentence_vectors = np.empty((int(starts[-1]), encoder.dimension), dtype=np.float32)
    copied = [i for i, row in enumerate(rows) if row is not None]
    missing = [i for i, row in enumerate(rows) if row is None]
    if copied:
        vectors[copied] = stored.passage_vectors[np.array([rows[i] for i in copied])]
        positions = np.concatenate([np.arange(starts[i], starts[i + 1]) for i in copied])
        sentence_vectors[positions] = stored.sentence_vectors[np.array([sentence_rows[j] for j in positions])]
    if missing:
        new, new_sentences = encoder.encode_passages_with_sentences(
            [texts[i] for i in missing], [sentences[i] for i in missing], advance)
        vectors[missing] = new
        positions = np.concatenate([np.arange(starts[i], starts[i + 1]) for i in missing])
        sentence_vectors[positions] = new_sentences
    return vectors, sentence_vectors


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


def read_corpus(corpus_dir: Path, max_chars: int) -> Corpus:
    """Read a corpus for a build, refusing one without readable text.

    Args:
        corpus_dir: The documents.
        max_chars: The longest passage.

    Returns:
        The corpus.

    Raises:
        QAError: If the folder is missing or holds no readable passage (the skipped files are listed).
    """
    corpus = load_corpus(corpus_dir, max_chars)
    if not corpus.passages:
        skipped = "".join(f"\n  {name}: {why}" for name, why in corpus.skipped)
        raise QAError(f"No readable text in {corpus_dir}; the index was left as it was.{skipped}")
    return corpus


def build(corpus_dir: Path, index_dir: Path, encoder: Encoder, max_chars: int = 360,
          progress: Callable[[int, int], None] | None = None, full: bool = False) -> Index:
    """Build an index of a corpus folder and swap it in atomically, reusing the vectors of unchanged passages.

    Args:
        corpus_dir: The documents.
        index_dir: The index folder (created if needed).
        encoder: The embedding model.
        max_chars: The longest passage.
        progress: Called with (texts embedded so far, total to embed) while embedding passages and sentences.
        full: Embed everything, reusing nothing.

    Returns:
        The new index; its manifest's ``changes`` says what was added, changed, removed and reused.

    Raises:
        QAError: If the corpus is missing or holds no readable passage, or another build is running.
    """
    with build_lock(index_dir):
        clean_leftovers(index_dir)
        corpus = read_corpus(corpus_dir, max_chars)
        recipe = embedding_recipe(encoder, max_chars)
        reusable = None if full else _reusable(index_dir, recipe)
        texts = embedding_texts(corpus.passages)
        passage_keys = [f"{p.passage_id}\x1f{t}" for p, t in zip(corpus.passages, texts)]
        keys = _keys(passage_keys)
        grouped = [passage_sentences(p) for p in corpus.passages]
        sentences = [s for group in grouped for s in group]
        sentence_keys = _keys([f"{key}\x1f{s}" for key, group in zip(passage_keys, grouped) for s in group])
        rows = _reuse_rows(keys, reusable.passage_rows) if reusable else [None] * len(texts)
        sentence_rows = _reuse_rows(sentence_keys, reusable.sentence_rows) if reusable else [None] * len(sentences)
        starts = np.cumsum([0] + [len(group) for group in grouped])
        rows = [None if row is None or None in sentence_rows[starts[i] : starts[i + 1]] else row
                for i, row in enumerate(rows)]
        done, total = 0, rows.count(None)

        def advance(count: int) -> None:
            nonlocal done
            done += count
            if progress:
                progress(done, total)

        vectors, sentence_vectors = _fill(texts, grouped, rows, sentence_rows, reusable, encoder, advance)
        sentences_reused = sum(len(group) for group, row in zip(grouped, rows) if row is not None)
        changes = {**count_changes(_old_passages(index_dir), corpus.passages),
                   "reused": len(rows) - rows.count(None), "embedded": rows.count(None),
                   "sentences_reused": sentences_reused, "sentences_embedded": len(sentences) - sentences_reused}
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
            "embedding_recipe": recipe,
            "full": full or reusable is None,
            "changes": changes,
        }
        name = f"{stamp:%Y%m%dT%H%M%S}-{os.getpid()}-{time.monotonic_ns() % 10**6:06d}"
        temporary = index_dir / BUILDS / f"{TEMPORARY}{name}"
        _write_build(temporary, corpus.passages, vectors, keys, manifest)
        _write_retrieval_extras(temporary, corpus.passages, sentence_vectors, sentence_keys)
        final = index_dir / BUILDS / name
        temporary.rename(final)
        _swap_in(index_dir, final)
        clean_leftovers(index_dir)
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
