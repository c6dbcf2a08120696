"""The onnx-int8 backend: same tokens, same pooling, vectors equal to the float32 ones up to int8 rounding.

Real model, real text (the town report's passages, CMRC 2018 trial documents and questions). Speed is measured by
``benchmarks/run.py``, not here.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from qa.config import QAError, Settings
from qa.documents import load_corpus
from qa.embedding import Encoder, resolve
from qa.embedding.onnx_int8 import MODEL_FILE, export_dir, export_int8
from tests.conftest import ROOT

pytestmark = pytest.mark.slow

TRIAL = ROOT / "eval" / "cmrc2018-trial"

# Measured (m3e-small, per-channel dynamic int8) on 1,274 real texts: mean cosine 0.9976 for passages and for
# questions; lowest 0.9952 for a passage, 0.9870 for a question (the 1st percentile is 0.996).
MEAN_COSINE = 0.995
MIN_COSINE = 0.985


def _jsonl(path, field, count):
    return [json.loads(line)[field] for line in path.read_text(encoding="utf-8").splitlines()[:count]]


@pytest.fixture(scope="module")
def float32_encoder(settings):
    """The default model in float32 (torch), the reference."""
    return Encoder(settings.model_copy(update={"backend": "torch"}))


@pytest.fixture(scope="module")
def int8_encoder(settings):
    """The default model on the onnx-int8 backend (exported into the user cache on first use)."""
    return Encoder(settings.model_copy(update={"backend": "onnx-int8"}))


@pytest.fixture(scope="module")
def texts(settings):
    """Real passages and questions: the town report's passages, 48 CMRC documents and 48 CMRC questions."""
    passages = [p.text for p in load_corpus(settings.corpus_dir, settings.max_passage_chars).passages]
    return {"passages": passages + _jsonl(TRIAL / "corpus.jsonl", "text", 48),
            "questions": _jsonl(TRIAL / "queries.jsonl", "text", 48)}


def test_default_backend_is_int8_for_the_default_model(encoder):
    assert Settings().backend == "auto" and encoder.backend_name == "onnx-int8"


def test_auto_backend_falls_back_to_float32_for_a_model_it_cannot_export(settings, tmp_path):
    from sentence_transformers import SentenceTransformer, models

    transformer = models.Transformer(str(settings.cache_dir / "models" / "m3e-small"))
    cls_pooling = models.Pooling(transformer.get_embedding_dimension(), pooling_mode="cls")
    folder = tmp_path / "cls-model"
    SentenceTransformer(modules=[transformer, cls_pooling], device="cpu").save(str(folder))
    auto = Encoder(settings.model_copy(update={"model": str(folder), "cache_dir": tmp_path / "cache"}))
    assert auto.backend_name == "torch" and auto.encode_queries(["测试"]).shape == (1, auto.dimension)
    with pytest.raises(QAError, match="QA_BACKEND=torch"):
        Encoder(settings.model_copy(update={"model": str(folder), "cache_dir": tmp_path / "cache",
                                            "backend": "onnx-int8"}))


def test_tokens_are_those_of_the_float32_model(float32_encoder, int8_encoder, texts):
    long_text = "".join(texts["passages"][-3:]) * 3  # well past 512 tokens: both truncate the same way
    batch = texts["questions"][:8] + texts["passages"][:8] + [long_text]
    reference = float32_encoder.backend.model.tokenizer(batch, padding=True, truncation=True, max_length=512,
                                                return_tensors="np")
    ours = int8_encoder.backend.tokenize(batch)
    assert ours["input_ids"].shape[1] == 512
    assert np.array_equal(ours["input_ids"], reference["input_ids"])
    assert np.array_equal(ours["attention_mask"], reference["attention_mask"])


@pytest.mark.parametrize("kind", ["passages", "questions"])
def test_int8_vectors_agree_with_float32(float32_encoder, int8_encoder, texts, kind):
    encode = "encode_passages" if kind == "passages" else "encode_queries"
    float32 = getattr(float32_encoder, encode)(texts[kind])
    int8 = getattr(int8_encoder, encode)(texts[kind])
    assert int8.shape == float32.shape and int8.dtype == np.float32
    assert np.allclose(np.linalg.norm(int8, axis=1), 1, atol=1e-5)
    cosine = np.sum(float32 * int8, axis=1)
    assert cosine.mean() >= MEAN_COSINE, f"mean cosine {cosine.mean():.4f}"
    assert cosine.min() >= MIN_COSINE, f"lowest cosine {cosine.min():.4f}: {texts[kind][int(cosine.argmin())]}"


def test_int8_ranks_passages_like_float32(float32_encoder, int8_encoder, texts):
    documents = texts["passages"]
    float32 = float32_encoder.encode_queries(texts["questions"]) @ float32_encoder.encode_passages(documents).T
    int8 = int8_encoder.encode_queries(texts["questions"]) @ int8_encoder.encode_passages(documents).T
    agreement = np.mean(float32.argmax(axis=1) == int8.argmax(axis=1))
    assert agreement >= 0.95, f"top-1 agreement {agreement:.3f}"


def test_export_is_cached_next_to_the_model(settings, int8_encoder):
    source = resolve(settings.model, settings.cache_dir)
    folder = export_dir(source, settings.cache_dir)
    assert folder.parent == settings.cache_dir / "models" and (folder / MODEL_FILE).exists()

    def must_not_load(_):
        raise AssertionError("the model was exported again")

    assert export_int8(source, settings.cache_dir, must_not_load) == folder
