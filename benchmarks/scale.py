"""A million passages: ``qa``'s dense index (FAISS, the type ``qa.index`` chooses by size) and its BM25 side (bm25s).

The vectors are not noise: they are noisy mixtures of ~10k real m3e-small embeddings of real sentences (the town
report, the three national reports, the CMRC trial documents), so they keep the real ones' anisotropy and
cluster structure; the queries are noisy mixtures of real question embeddings (CMRC trial and town questions).
A synthetic vector is ``normalize((1-w)·a + w·b + σ·z)`` with ``a``, ``b`` two random real embeddings,
``w ~ U(0, 0.3)`` and ``z`` Gaussian with the real embeddings' own covariance. Its BM25 passage is the terms of the
two sentences ``a`` and ``b`` embed, so both sides describe the same million passages.

Usage (prints one JSON object as its last line)::

    .venv/bin/python benchmarks/scale.py --count 1000000

The first run embeds the real material (int8 encoder) into ``<cache>/bench/scale-material.npz`` in a child
process, so that the measured process's peak memory holds the indexes and the vectors, not the model.
"""

from __future__ import annotations

import argparse
import json
import re
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from speed import ROOT, TOWN_CORPUS, TOWN_QUESTIONS, load_trial, read_jsonl  # noqa: E402

MATERIAL_SENTENCES = 10_000
MIX = 0.3
NOISE = 0.5
QUERIES = 1000
TOP = 10
CHUNK = 50_000


def material_path() -> Path:
    """Return where the embedded real material is cached.

    Returns:
        ``<cache>/bench/scale-material.npz``.
    """
    from qa.config import get_settings

    return get_settings().cache_dir / "bench" / "scale-material.npz"


def real_sentences(limit: int = MATERIAL_SENTENCES) -> list[str]:
    """Collect distinct real sentences (8 to 200 characters) from the town report, national reports and CMRC,
    and, while there are fewer than ``limit``, their clauses (cut at commas) too.

    Args:
        limit: At most this many (a seeded random choice when there are more).

    Returns:
        The sentences.
    """
    from qa.documents import clean_line, split_sentences

    texts = [p.read_text(encoding="utf-8") for p in sorted(TOWN_CORPUS.glob("*.txt"))]
    texts += [p.read_text(encoding="utf-8") for p in sorted((ROOT / "eval" / "multi-corpus").glob("state-council-*.txt"))]
    texts += load_trial().documents
    found = [s for text in texts for line in text.splitlines() for s in split_sentences(clean_line(line))]
    clauses = [c for s in found for c in re.split(r"[，,]", s)]
    sentences = list(dict.fromkeys(s for s in found if 8 <= len(s) <= 200))
    known = set(sentences)
    extra = [c for c in dict.fromkeys(c for c in clauses if 8 <= len(c) <= 200) if c not in known]
    rng = np.random.default_rng(0)
    if len(sentences) >= limit:
        return [sentences[i] for i in np.sort(rng.choice(len(sentences), limit, replace=False))]
    wanted = min(len(extra), limit - len(sentences))
    return sentences + [extra[i] for i in np.sort(rng.choice(len(extra), wanted, replace=False))]


def real_questions() -> list[str]:
    """Collect the real questions: CMRC trial questions and the town question set.

    Returns:
        The distinct questions.
    """
    town = [q["question"] for q in read_jsonl(TOWN_QUESTIONS)] if TOWN_QUESTIONS.exists() else []
    return list(dict.fromkeys([text for _, text in load_trial().questions] + town))


def prepare_material(path: Path) -> None:
    """Embed the real sentences and questions (int8 encoder) and cut them into BM25 terms; save them.

    Args:
        path: Where to save (``.npz``).
    """
    from qa.config import Settings
    from qa.documents import tokenize
    from qa.embedding import Encoder

    encoder = Encoder(Settings(backend="onnx-int8"))
    sentences, questions = real_sentences(), real_questions()
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez(path, passages=encoder.encode_passages(sentences), queries=encoder.encode_queries(questions),
             passage_terms=np.array(json.dumps([tokenize(s) for s in sentences], ensure_ascii=False)),
             query_terms=np.array(json.dumps([tokenize(q) for q in questions], ensure_ascii=False)))


class Mixer:
    """Draws synthetic vectors shaped like a set of real ones (noisy mixtures of pairs, real covariance)."""

    def __init__(self, real: np.ndarray, mix: float = MIX, noise: float = NOISE):
        """Learn the real vectors' covariance.

        Args:
            real: Real unit vectors (rows).
            mix: The largest weight of the second vector in a mixture.
            noise: σ, the scale of the Gaussian noise (with the real covariance).
        """
        self.real, self.mix, self.noise = real.astype(np.float32), mix, noise
        eigenvalues, self.basis = np.linalg.eigh(np.cov(self.real, rowvar=False))
        self.scales = np.sqrt(np.clip(eigenvalues, 0, None)).astype(np.float32)

    def sample(self, count: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """Draw synthetic unit vectors.

        Args:
            count: How many.
            rng: The random generator.

        Returns:
            The vectors (count × dim, float32) and the two real rows each mixes (count × 2).
        """
        pairs = rng.integers(len(self.real), size=(count, 2))
        weight = rng.uniform(0, self.mix, size=(count, 1)).astype(np.float32)
        noise = (rng.standard_normal((count, self.real.shape[1]), dtype=np.float32) * self.scales) @ self.basis.T
        vectors = (1 - weight) * self.real[pairs[:, 0]] + weight * self.real[pairs[:, 1]] + self.noise * noise
        vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
        return vectors.astype(np.float32), pairs


def synthetic_vectors(mixer: Mixer, count: int, seed: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """Draw ``count`` synthetic vectors in chunks into one array.

    Args:
        mixer: The generator.
        count: How many.
        seed: Random seed.

    Returns:
        The vectors and their real pairs.
    """
    rng = np.random.default_rng(seed)
    vectors = np.empty((count, mixer.real.shape[1]), dtype=np.float32)
    pairs = np.empty((count, 2), dtype=np.int64)
    for start in range(0, count, CHUNK):
        stop = min(count, start + CHUNK)
        vectors[start:stop], pairs[start:stop] = mixer.sample(stop - start, rng)
    return vectors, pairs


def exact_top(vectors: np.ndarray, queries: np.ndarray, k: int = TOP) -> tuple[np.ndarray, np.ndarray]:
    """Exact inner-product top-k by brute force, chunk by chunk (no copy of the vectors).

    Args:
        vectors: The database.
        queries: The queries.
        k: How many neighbours.

    Returns:
        Scores and row numbers (queries × k), best first.
    """
    import faiss

    best_scores = np.full((len(queries), k), -np.inf, dtype=np.float32)
    best_ids = np.zeros((len(queries), k), dtype=np.int64)
    for start in range(0, len(vectors), CHUNK):
        scores, ids = faiss.knn(queries, vectors[start : start + CHUNK], k, metric=faiss.METRIC_INNER_PRODUCT)
        merged_scores = np.hstack([best_scores, scores])
        merged_ids = np.hstack([best_ids, ids + start])
        order = np.argsort(-merged_scores, axis=1)[:, :k]
        best_scores = np.take_along_axis(merged_scores, order, axis=1)
        best_ids = np.take_along_axis(merged_ids, order, axis=1)
    return best_scores, best_ids


def recall_at(found: np.ndarray, truth: np.ndarray) -> float:
    """Recall@k of approximate neighbours against exact ones.

    Args:
        found: Approximate row numbers (queries × k).
        truth: Exact row numbers (queries × k).

    Returns:
        The mean share of the exact top-k that was found.
    """
    return float(np.mean([len(set(f) & set(t)) / len(t) for f, t in zip(found, truth)]))


def timed_each(action, items) -> tuple[list, np.ndarray]:
    """Run an action on each item, timing each call.

    Args:
        action: Called with one item.
        items: The items.

    Returns:
        The results and the milliseconds of each call.
    """
    results, times = [], []
    for item in items:
        start = time.perf_counter()
        results.append(action(item))
        times.append(1000 * (time.perf_counter() - start))
    return results, np.array(times)


def peak_rss_gb() -> float:
    """Return this process's peak resident memory.

    Returns:
        Gigabytes (2**30 bytes).
    """
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20


def structure(real_passages: np.ndarray, real_queries: np.ndarray, queries: np.ndarray,
              truth_scores: np.ndarray, rng: np.random.Generator) -> dict:
    """Compare the similarity structure of the real and the synthetic data.

    Args:
        real_passages: Real sentence embeddings.
        real_queries: Real question embeddings.
        queries: Synthetic queries.
        truth_scores: Exact top-k scores of the synthetic queries in the synthetic million.
        rng: Random generator.

    Returns:
        Mean cosine of random pairs, and of each real question's best real sentence; the synthetic top-1 and
        top-10 cosines and random-pair cosine.
    """
    pairs = rng.integers(len(real_passages), size=(5000, 2))
    real_pair = np.sum(real_passages[pairs[:, 0]] * real_passages[pairs[:, 1]], axis=1)
    real_top = (real_queries @ real_passages.T).max(axis=1)
    return {
        "real_random_pair_cos": round(float(real_pair.mean()), 3),
        "real_query_top1_cos_in_10k": round(float(real_top.mean()), 3),
        "synthetic_query_top1_cos_in_1m": round(float(truth_scores[:, 0].mean()), 3),
        "synthetic_query_top10_cos_in_1m": round(float(truth_scores[:, -1].mean()), 3),
        "synthetic_query_random_cos": round(float(np.mean(np.sum(queries[:-1] * queries[1:], 1))), 3),
    }


def dense_side(mixer: Mixer, query_mixer: Mixer, count: int, result: dict) -> np.ndarray:
    """Build and query the dense index of ``count`` synthetic vectors; fill ``result``; return the vector pairs.

    Args:
        mixer: Passage generator.
        query_mixer: Query generator.
        count: How many passages.
        result: Filled with build time, latencies, recall and structure figures.

    Returns:
        The real pairs each synthetic passage mixes (for the BM25 side).
    """
    import faiss

    from qa.config import Settings
    from qa.index import dense_index_factory, make_dense_index

    settings = Settings()
    vectors, pairs = synthetic_vectors(mixer, count)
    queries, _ = query_mixer.sample(QUERIES, np.random.default_rng(2))
    start = time.perf_counter()
    dense = make_dense_index(vectors, settings)
    result["dense_index"] = dense_index_factory(count, settings)
    result["dense_probe"] = settings.dense_ivf_probe
    result["build_dense_s"] = round(time.perf_counter() - start, 1)
    faiss.omp_set_num_threads(1)  # one question at a time: a second thread only waits (3x slower here)
    found, times = timed_each(lambda q: dense.search(q[None, :], TOP)[1][0], queries)
    truth_scores, truth_ids = exact_top(vectors, queries)
    result["dense_p50_ms"], result["dense_p95_ms"] = np.percentile(times, 50), np.percentile(times, 95)
    result["recall10"] = round(recall_at(np.array(found), truth_ids), 4)
    result["dense_ms"] = times
    result["structure"] = structure(mixer.real, query_mixer.real, queries, truth_scores, np.random.default_rng(3))
    return pairs


def sparse_side(pairs: np.ndarray, passage_terms: list[list[str]], query_terms: list[list[str]], result: dict) -> None:
    """Build and query a bm25s index of the synthetic passages (each: the terms of its two real sentences).

    Args:
        pairs: The real pairs of each synthetic passage.
        passage_terms: BM25 terms of each real sentence.
        query_terms: BM25 terms of each real question.
        result: Filled with build time and latencies.
    """
    import bm25s

    corpus = [passage_terms[a] + passage_terms[b] for a, b in pairs]
    start = time.perf_counter()
    sparse = bm25s.BM25(backend="numba")  # its top-k selection; scoring all passages and sorting costs ~40 ms
    sparse.index(corpus, show_progress=False)
    result["build_sparse_s"] = round(time.perf_counter() - start, 1)
    del corpus
    asked = [terms for terms in query_terms if terms]
    questions = [asked[i % len(asked)] for i in range(QUERIES)]

    def top(terms: list[str]) -> np.ndarray:
        return sparse.retrieve([terms], k=TOP, show_progress=False, n_threads=1)[0][0]

    _, times = timed_each(top, questions[:5])
    _, times = timed_each(top, questions)
    result["sparse_p50_ms"], result["sparse_p95_ms"] = np.percentile(times, 50), np.percentile(times, 95)
    result["sparse_ms"] = times


def tokenize_rate(sentences: int = 2000) -> float:
    """Measure jieba term cutting (``qa.documents.tokenize``) in characters per second on real sentences.

    Args:
        sentences: How many real sentences to cut.

    Returns:
        Characters per second.
    """
    from qa.documents import tokenize

    texts = real_sentences(sentences)
    tokenize(texts[0])
    start = time.perf_counter()
    for text in texts:
        tokenize(text)
    return sum(map(len, texts)) / (time.perf_counter() - start)


def run(count: int) -> dict:
    """Run the whole scale benchmark in this process.

    Args:
        count: How many synthetic passages.

    Returns:
        The figures (JSON-ready).
    """
    with np.load(material_path()) as saved:
        passages, questions = saved["passages"], saved["queries"]
        passage_terms, query_terms = json.loads(str(saved["passage_terms"])), json.loads(str(saved["query_terms"]))
    result: dict = {"count": count, "material_sentences": len(passages), "material_questions": len(questions)}
    pairs = dense_side(Mixer(passages), Mixer(questions), count, result)
    sparse_side(pairs, passage_terms, query_terms, result)
    dense_ms = result.pop("dense_ms")
    both = dense_ms + result.pop("sparse_ms")
    chars = float(np.mean([len("".join(passage_terms[a] + passage_terms[b])) for a, b in pairs[:10_000]]))
    rate = tokenize_rate()
    result.update({
        "build_s": round(result["build_dense_s"] + result["build_sparse_s"], 1),
        "p95_ms": round(float(np.percentile(dense_ms, 95)), 2),
        "hybrid_p50_ms": round(float(np.percentile(both, 50)), 2),
        "hybrid_p95_ms": round(float(np.percentile(both, 95)), 2),
        "rss_gb": round(peak_rss_gb(), 2),
        "tokenize_chars_per_s": round(rate),
        "tokenize_estimate_s": round(count * chars / rate),
    })
    for key in ("dense_p50_ms", "dense_p95_ms", "sparse_p50_ms", "sparse_p95_ms"):
        result[key] = round(float(result[key]), 2)
    return result


def main() -> None:
    """Command line: prepare the material if needed (child process), run, print a summary and one JSON line."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--count", type=int, default=1_000_000, help="synthetic passages (default 1,000,000)")
    parser.add_argument("--prepare", action="store_true", help="only embed the real material")
    args = parser.parse_args()
    path = material_path()
    if args.prepare:
        prepare_material(path)
        return
    if not path.exists():
        subprocess.run([sys.executable, __file__, "--prepare"], check=True)
    result = run(args.count)
    for key, value in result.items():
        print(f"{key:>32}: {value}", file=sys.stderr)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
