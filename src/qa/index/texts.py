"""What is indexed per passage: its BM25 terms, its sentences, the text embedded for it, the digests that recognize
reusable vectors, and the embedding recipe."""

from __future__ import annotations

import hashlib
import inspect

import numpy as np

from qa.documents import Passage, split_sentences, tokenize
from qa.embedding import Encoder

RECIPE_VERSION = 3  # bump when what is embedded per passage or sentence changes in a way the recipe cannot see


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


def passage_terms(passage: Passage) -> list[str]:
    """Return the BM25 terms of a passage: its document context (title, section, resolved years) and text.

    Args:
        passage: The passage.

    Returns:
        Its terms (``[""]`` when it has none, so that every passage has a BM25 row).
    """
    return tokenize(f"{passage.context}\n{passage.text}") or [""]


def passage_sentences(passage: Passage) -> list[str]:
    """Return the sentences of a passage as answers are picked from them (the passage itself if it has none).

    Args:
        passage: The passage.

    Returns:
        Its sentences.
    """
    return split_sentences(passage.text) or [passage.text]


def passage_embedding_text(passage: Passage) -> str:
    """Return what the dense model embeds for a passage: its document context (title, section and the years the
    section means, each on a line of its own) before its text, so that a question naming a document's place, body or
    year finds that document's passages.

    Args:
        passage: The passage.

    Returns:
        The text to embed.
    """
    return "\n".join(part for part in (passage.context, passage.text) if part)


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
