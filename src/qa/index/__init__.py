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

Modules: :mod:`~qa.index.store` (the folder layout, :class:`Index`, :func:`load`, the build lock, swapping a build
in), :mod:`~qa.index.dense` (the FAISS index type and filling it), :mod:`~qa.index.texts` (what is indexed and
embedded per passage, the embedding recipe), :mod:`~qa.index.reuse` (reusing the current build's vectors) and
:mod:`~qa.index.building` (:func:`build`).
"""

from qa.index.building import build, read_corpus
from qa.index.dense import ADD_BATCH, dense_index_factory, make_dense_index, new_dense_index, training_sample
from qa.index.reuse import Reusable, count_changes
from qa.index.store import (
    BUILDS,
    CURRENT,
    DENSE,
    FORMAT_VERSION,
    MANIFEST,
    PASSAGES,
    REBUILD_HINT,
    SENTENCES,
    SPARSE,
    TEMPORARY,
    VECTOR_KEYS,
    VECTORS,
    Index,
    build_lock,
    clean_leftovers,
    current_build,
    exists,
    load,
)
from qa.index.texts import (
    RECIPE_VERSION,
    embedding_recipe,
    embedding_texts,
    passage_embedding_text,
    passage_sentences,
    passage_terms,
    text_key,
)

__all__ = [
    "ADD_BATCH", "BUILDS", "CURRENT", "DENSE", "FORMAT_VERSION", "MANIFEST", "PASSAGES", "REBUILD_HINT",
    "RECIPE_VERSION", "SENTENCES", "SPARSE", "TEMPORARY", "VECTORS", "VECTOR_KEYS", "Index", "Reusable", "build",
    "build_lock", "clean_leftovers", "count_changes", "current_build", "dense_index_factory", "embedding_recipe",
    "embedding_texts", "exists", "load", "make_dense_index", "new_dense_index", "passage_embedding_text",
    "passage_sentences", "passage_terms", "read_corpus", "text_key", "training_sample",
]
