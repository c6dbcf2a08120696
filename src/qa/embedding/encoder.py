"""The :class:`Encoder`: a model spec resolved, loaded on its backend, turning questions and passages into vectors."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence

import numpy as np

from qa.config import Settings
from qa.embedding.backends import Backend, TorchBackend
from qa.embedding.models import ModelSource, load_sentence_transformer, prefixes_for, resolve
from qa.embedding.onnx_int8 import OnnxInt8Backend
from qa.embedding.pooling import sentence_spans, span_vectors
from qa.errors import ModelUnavailable

log = logging.getLogger(__name__)


class Encoder:
    """A loaded embedding model that turns questions and passages into normalized vectors."""

    def __init__(self, settings: Settings, spec: str | None = None):
        """Load the model named by ``spec`` (default: the configured one) with the configured backend.

        Args:
            settings: The settings (cache folder, prefixes, batch size, backend).
            spec: A model spec overriding ``settings.model``.

        Raises:
            QAError: If the model cannot be resolved, loaded or exported.
        """
        self.spec = spec or settings.model
        self.batch_size = settings.batch_size
        source = resolve(self.spec, settings.cache_dir, settings.model_wheel)
        query_prefix, passage_prefix = prefixes_for(self.spec)
        self.query_prefix = query_prefix if settings.query_prefix is None else settings.query_prefix
        self.passage_prefix = passage_prefix if settings.passage_prefix is None else settings.passage_prefix
        self.backend, self.backend_name = self._load_backend(source, settings)
        self.dimension = self.backend.dimension

    @staticmethod
    def _load_backend(source: ModelSource, settings: Settings) -> tuple[Backend, str]:
        """Load the configured backend; ``auto`` takes onnx-int8 and falls back to torch for a model that loads but
        cannot be exported (a model that cannot be loaded at all is an error either way)."""
        if settings.backend == "torch":
            return TorchBackend(source), "torch"

        loaded: dict[str, object] = {}

        def load(model_source: ModelSource):
            loaded["model"] = load_sentence_transformer(model_source)
            return loaded["model"]

        try:
            return OnnxInt8Backend(source, settings.cache_dir, load), "onnx-int8"
        except ModelUnavailable as error:
            if settings.backend == "onnx-int8" or "model" not in loaded:
                raise
            log.warning("%s Running %s in float32 (torch) instead.", error, source.spec)
            return TorchBackend(source, loaded["model"]), "torch"

    def _encode(self, texts: Sequence[str], prefix: str, progress: Callable[[int], None] | None) -> np.ndarray:
        """Embed texts in batches of similar length (little padding), returning rows in the input order."""
        vectors = np.zeros((len(texts), self.dimension), dtype=np.float32)
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]), reverse=True)
        for start in range(0, len(order), self.batch_size):
            rows = order[start : start + self.batch_size]
            vectors[rows] = self.backend.embed([prefix + texts[i] for i in rows])
            if progress:
                progress(len(rows))
        return vectors

    def encode_passages(self, texts: Sequence[str], progress: Callable[[int], None] | None = None) -> np.ndarray:
        """Embed passages.

        Args:
            texts: Passage texts.
            progress: Called with the number of texts done after each batch.

        Returns:
            A float32 array (len(texts) × dimension) of unit vectors.
        """
        return self._encode(texts, self.passage_prefix, progress)

    def encode_passages_with_sentences(self, texts: Sequence[str], sentences: Sequence[Sequence[str]],
                                       progress: Callable[[int], None] | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Embed passages and, from the same forward pass, their sentences: a sentence's vector is the mean of its
        tokens' vectors in the context of the whole passage (no second pass over the sentences).

        Args:
            texts: Passage texts.
            sentences: Each passage's sentences (substrings of it, in order).
            progress: Called with the number of passages done after each batch.

        Returns:
            Passage vectors (len(texts) × dimension) and sentence vectors (all sentences, passage by passage).
        """
        starts = np.cumsum([0] + [len(group) for group in sentences])
        passages = np.zeros((len(texts), self.dimension), dtype=np.float32)
        sentence_vectors = np.zeros((int(starts[-1]), self.dimension), dtype=np.float32)
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]), reverse=True)
        shift = len(self.passage_prefix)
        for begin in range(0, len(order), self.batch_size):
            rows = order[begin : begin + self.batch_size]
            embedded = self.backend.embed_tokens([self.passage_prefix + texts[i] for i in rows])
            for i, (vector, tokens, offsets) in zip(rows, embedded):
                passages[i] = vector
                spans = sentence_spans(texts[i], sentences[i], shift)
                sentence_vectors[starts[i] : starts[i + 1]] = span_vectors(tokens, offsets, spans, vector)
            if progress:
                progress(len(rows))
        return passages, sentence_vectors

    def encode_queries(self, texts: Sequence[str]) -> np.ndarray:
        """Embed questions (with the model's query prefix).

        Args:
            texts: Questions.

        Returns:
            A float32 array (len(texts) × dimension) of unit vectors.
        """
        return self._encode(texts, self.query_prefix, None)
