"""Building an index: reading the corpus, embedding what changed, writing a build into a temporary folder and
swapping it in."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path

import bm25s
import faiss
import numpy as np

from qa.config import QAError
from qa.documents import Corpus, Passage, fingerprint, load_corpus
from qa.embedding import Encoder
from qa.index.dense import make_dense_index
from qa.index.reuse import _fill, _old_passages, _reusable, _reuse_rows, count_changes
from qa.index.store import (
    BUILDS,
    DENSE,
    FORMAT_VERSION,
    MANIFEST,
    PASSAGES,
    SENTENCES,
    SPARSE,
    TEMPORARY,
    VECTOR_KEYS,
    VECTORS,
    Index,
    _swap_in,
    build_lock,
    clean_leftovers,
    load,
)
from qa.index.texts import _keys, embedding_recipe, embedding_texts, passage_sentences, passage_terms

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


def _write_retrieval_extras(folder: Path, passages: list[Passage], sentence_vectors: np.ndarray,
                            sentence_keys: np.ndarray) -> None:
    """Write the BM25 index and the sentence vectors (with each passage's first sentence number and their keys)."""
    sparse = bm25s.BM25()
    sparse.index([passage_terms(p) for p in passages], show_progress=False)
    sparse.save(str(folder / SPARSE), show_progress=False)
    starts = np.cumsum([0] + [len(passage_sentences(p)) for p in passages])
    np.savez(folder / SENTENCES, vectors=sentence_vectors, starts=starts, keys=sentence_keys)


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
