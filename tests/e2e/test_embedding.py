"""The real embedding model: a hub model unreachable offline, the default model from safetensors without
unpickling, normalized and meaningful vectors. (Model specs, the wheel check and prefixes: tests/unit/test_embedding.py.)"""

from __future__ import annotations

import numpy as np
import pytest

from qa.config import QAError, Settings
from qa.embedding import DEFAULT_MODEL, Encoder, default_model_dir

pytestmark = pytest.mark.slow


def test_unreachable_hub_model_is_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(QAError, match="Cannot load model 'BAAI/bge-small-zh-v1.5'"):
        Encoder(Settings(cache_dir=tmp_path), "BAAI/bge-small-zh-v1.5")


def test_default_model_is_safetensors_and_loads_without_unpickling(settings, monkeypatch):
    import torch

    folder = default_model_dir(settings.cache_dir)
    Encoder(settings)  # provisions on first use
    assert (folder / "model.safetensors").exists()
    assert not list(folder.rglob("*.bin")) and not list(folder.rglob("*.pt"))

    def no_pickle(*args, **kwargs):
        raise AssertionError("torch.load (unpickling) was called")

    monkeypatch.setattr(torch, "load", no_pickle)
    encoder = Encoder(settings, DEFAULT_MODEL)
    assert encoder.dimension == 512


def test_vectors_are_normalized_and_meaningful(encoder):
    passages = encoder.encode_passages(["全年签约项目17个、总投资52.7亿元。", "白塔中学办学水平持续提升。"])
    query = encoder.encode_queries(["签约了多少个项目？"])
    assert passages.shape == (2, 512) and passages.dtype == np.float32
    assert np.allclose(np.linalg.norm(passages, axis=1), 1, atol=1e-5)
    assert float(query[0] @ passages[0]) > float(query[0] @ passages[1])
