"""Incremental builds: opening the current build's vectors for reuse, counting what changed, and filling the new
build's vectors by copying stored ones and embedding the rest."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from qa.documents import Passage
from qa.embedding import Encoder
from qa.index.store import MANIFEST, PASSAGES, SENTENCES, VECTOR_KEYS, VECTORS, current_build

log = logging.getLogger(__name__)

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
