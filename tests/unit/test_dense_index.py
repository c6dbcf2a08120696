"""The dense index type follows the corpus size: exact (flat) up to a threshold, IVF above, settings saved with it."""

from __future__ import annotations

import faiss
import numpy as np

from qa.config import Settings
from qa.index import dense_index_factory, make_dense_index


def clustered(count: int, dimension: int = 64, clusters: int = 50, seed: int = 0) -> np.ndarray:
    """Unit vectors around random centres (a stand-in for embeddings that come in topics)."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(clusters, dimension))
    vectors = centres[rng.integers(clusters, size=count)] + 0.3 * rng.normal(size=(count, dimension))
    return (vectors / np.linalg.norm(vectors, axis=1, keepdims=True)).astype(np.float32)


def test_small_corpora_get_an_exact_index():
    settings = Settings()
    assert dense_index_factory(10, settings) == "Flat"
    assert dense_index_factory(settings.dense_exact_max, settings) == "Flat"
    index = make_dense_index(clustered(100), settings)
    assert isinstance(index, faiss.IndexFlatIP) and index.ntotal == 100


def test_large_corpora_get_an_ivf_index_sized_by_the_corpus():
    settings = Settings(dense_exact_max=1000)
    assert dense_index_factory(1_000_000, settings) == "IVF1024,SQ8"
    assert dense_index_factory(5000, settings) == "IVF64,SQ8"
    tuned = Settings(dense_exact_max=1000, dense_ivf_lists=100, dense_ivf_code="Flat")
    assert dense_index_factory(5000, tuned) == "IVF100,Flat"


def test_ivf_index_finds_the_exact_neighbours_and_keeps_its_probe_count(tmp_path):
    settings = Settings(dense_exact_max=1000, dense_ivf_probe=16)
    vectors, queries = clustered(5000), clustered(50, seed=1)
    index = make_dense_index(vectors, settings)
    assert isinstance(faiss.extract_index_ivf(index), faiss.IndexIVF) and index.ntotal == 5000
    faiss.write_index(index, str(tmp_path / "dense.faiss"))
    loaded = faiss.read_index(str(tmp_path / "dense.faiss"))
    assert faiss.extract_index_ivf(loaded).nprobe == 16
    _, found = loaded.search(queries, 10)
    _, exact = faiss.knn(queries, vectors, 10, metric=faiss.METRIC_INNER_PRODUCT)
    recall = np.mean([len(set(f) & set(e)) / 10 for f, e in zip(found, exact)])
    assert recall >= 0.9, f"recall@10 {recall:.3f}"
