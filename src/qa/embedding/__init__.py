"""Embedding models: resolving a model spec, provisioning the embedded default, encoding text.

:mod:`~qa.embedding.models` resolves a spec (``m3e-small``, a local folder or a hub id), provisions the default model
and loads it; :mod:`~qa.embedding.pooling` pools token vectors and holds the one L2 :func:`normalize`;
:mod:`~qa.embedding.backends` has the :class:`Backend` protocol and the float32 ``torch`` backend;
:mod:`~qa.embedding.onnx_int8` the ``onnx-int8`` backend and its export; :mod:`~qa.embedding.encoder` the
:class:`Encoder`. This package only re-exports them.
"""

from qa.embedding.backends import Backend, TorchBackend
from qa.embedding.encoder import Encoder
from qa.embedding.models import (
    DEFAULT_MODEL,
    HUB_ID,
    PREFIXES,
    WHEEL_MODEL_DIR,
    WHEEL_NAME,
    WHEEL_REQUIREMENT,
    WHEEL_SHA256,
    ModelSource,
    default_model_dir,
    load_sentence_transformer,
    prefixes_for,
    provision_default,
    resolve,
)
from qa.embedding.pooling import mean_pool, normalize, sentence_spans, span_vectors

__all__ = [
    "DEFAULT_MODEL", "HUB_ID", "PREFIXES", "WHEEL_MODEL_DIR", "WHEEL_NAME", "WHEEL_REQUIREMENT", "WHEEL_SHA256",
    "Backend", "Encoder", "ModelSource", "TorchBackend", "default_model_dir", "load_sentence_transformer", "mean_pool",
    "normalize", "prefixes_for", "provision_default", "resolve", "sentence_spans", "span_vectors",
]
