"""The dense (FAISS) index of the passage vectors: its type by corpus size (exact or IVF), training and filling it."""

from __future__ import annotations

import faiss
import numpy as np

from qa.config import Settings, get_settings

ADD_BATCH = 65_536


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
