"""Pooling token vectors into unit vectors: L2 normalisation, mean pooling, sentence spans inside a passage."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def normalize(vectors: np.ndarray) -> np.ndarray:
    """Scale each row to unit length (a zero row stays zero); the one L2 normalisation every backend uses.

    Args:
        vectors: Vectors, one per row.

    Returns:
        Unit vectors (float32), one row per input row.
    """
    unit = vectors / np.clip(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12, None)
    return unit.astype(np.float32, copy=False)


def mean_pool(hidden: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Average token vectors over the attention mask and normalize (sentence-transformers' mean pooling).

    Args:
        hidden: Token vectors (batch × tokens × dimension).
        mask: The attention mask (batch × tokens), 1 for real tokens.

    Returns:
        Unit vectors (batch × dimension), float32.
    """
    weights = mask[..., None].astype(np.float32)
    pooled = (hidden * weights).sum(axis=1) / np.clip(weights.sum(axis=1), 1e-9, None)
    return normalize(pooled)


def span_vectors(tokens: np.ndarray, offsets: np.ndarray, spans: list[tuple[int, int]],
                 fallback: np.ndarray) -> np.ndarray:
    """Pool, for each character span of a text, the contextual vectors of the tokens inside it.

    Args:
        tokens: The text's token vectors (tokens × dimension).
        offsets: Each token's (start, end) characters; special tokens have (0, 0).
        spans: (start, end) characters of each sentence.
        fallback: The vector for a span with no token (cut off by the model's length limit).

    Returns:
        Unit vectors, one row per span.
    """
    real = offsets[:, 1] > offsets[:, 0]
    rows = []
    for start, end in spans:
        inside = real & (offsets[:, 0] >= start) & (offsets[:, 1] <= end)
        rows.append(tokens[inside].mean(axis=0) if inside.any() else fallback)
    vectors = np.asarray(rows, dtype=np.float32)
    return normalize(vectors)


def sentence_spans(text: str, sentences: Sequence[str], shift: int = 0) -> list[tuple[int, int]]:
    """Find where each sentence (in order) lies in its text.

    Args:
        text: The text.
        sentences: Substrings of it, in order.
        shift: Added to every position (the length of a prefix put before the text).

    Returns:
        (start, end) characters of each sentence.
    """
    spans, cursor = [], 0
    for sentence in sentences:
        start = text.find(sentence, cursor)
        start = cursor if start < 0 else start
        cursor = start + len(sentence)
        spans.append((start + shift, cursor + shift))
    return spans
