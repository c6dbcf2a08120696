"""Backends: what the :class:`~qa.embedding.encoder.Encoder` runs a model on, behind one :class:`Backend` protocol.

``torch`` (float32 sentence-transformers, here) and ``onnx-int8`` (:mod:`qa.embedding.onnx_int8`).
"""

from __future__ import annotations

from typing import Protocol

import numpy as np

from qa.embedding.models import ModelSource, load_sentence_transformer
from qa.embedding.pooling import normalize


class Backend(Protocol):
    """A loaded model that embeds batches of texts into unit vectors of ``dimension`` floats."""

    dimension: int

    def embed(self, texts: list[str]) -> np.ndarray:
        """Return the unit vectors of a batch of texts (with their prefixes), one row per text."""
        ...

    def embed_tokens(self, texts: list[str]) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
        """Return, per text of a batch, its unit vector, its token vectors and their (start, end) character offsets."""
        ...


class TorchBackend:
    """The model in float32 through sentence-transformers (PyTorch).

    Batches go straight through the model's modules (``preprocess`` then ``forward``, as ``encode`` does inside),
    which saves ``encode``'s per-call bookkeeping: about 4 ms of a 12 ms question.
    """

    def __init__(self, source: ModelSource, model=None):
        """Load the model.

        Args:
            source: Where the model is.
            model: The model, when it is already loaded.
        """
        self.model = model if model is not None else load_sentence_transformer(source)
        self.dimension = int(self.model.get_embedding_dimension())

    def _forward(self, texts: list[str]) -> dict:
        """Run one batch through the model; returns its outputs (``sentence_embedding``, ``token_embeddings``…)."""
        import torch

        features = self.model.preprocess(texts)
        with torch.inference_mode():
            return self.model(features)

    def embed(self, texts: list[str]) -> np.ndarray:
        """Embed one batch.

        Args:
            texts: The texts (with their prefixes).

        Returns:
            Unit vectors, one row per text.
        """
        return self._forward_vectors(self._forward(texts))

    def embed_tokens(self, texts: list[str]) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
        """Embed one batch and keep each text's token vectors with their character offsets.

        Args:
            texts: The texts (with their prefixes).

        Returns:
            Per text: its unit vector, its token vectors (tokens × dimension) and their (start, end) offsets.
        """
        outputs = self._forward(texts)
        offsets = self.model.tokenizer(texts, return_offsets_mapping=True, truncation=True,
                                       max_length=self.model.max_seq_length)["offset_mapping"]
        lengths = outputs["attention_mask"].sum(dim=1).tolist()  # token vectors come padded to the longest text
        vectors = self._forward_vectors(outputs)
        tokens = outputs["token_embeddings"].float().numpy()
        return [(vectors[i], tokens[i, :length], np.array(offsets[i][:length])) for i, length in enumerate(lengths)]

    @staticmethod
    def _forward_vectors(outputs: dict) -> np.ndarray:
        return normalize(outputs["sentence_embedding"].float().numpy())
