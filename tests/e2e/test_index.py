"""The on-disk index built with the real model: manifest, validation, staleness, atomic swap. (Without the model:
tests/unit/test_index.py.)"""

from __future__ import annotations

import json
import shutil

import pytest

from qa import index as index_store
from qa.config import QAError

pytestmark = pytest.mark.slow

PARAGRAPH = "全镇11个行政村总收入超4000万元，其中经营性收入超2000万元。"


@pytest.fixture()
def small(tmp_path, encoder):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "a.txt").write_text(f"标题\n\n{PARAGRAPH}\n\n白塔中学办学水平持续提升。\n", encoding="utf-8")
    built = index_store.build(corpus, tmp_path / "index", encoder)
    return corpus, tmp_path / "index", built


def test_manifest_describes_the_build(small, encoder):
    corpus, index_dir, built = small
    manifest = json.loads((index_dir / "current" / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["format_version"] == index_store.FORMAT_VERSION
    assert (manifest["model"], manifest["dimension"]) == ("m3e-small", encoder.dimension)
    assert (manifest["documents"], manifest["passages"]) == (1, 2)
    assert manifest["built_at"] and manifest["corpus_fingerprint"]
    assert built.staleness(corpus, "m3e-small", 360) == []


def test_staleness_after_corpus_or_model_change(small):
    corpus, index_dir, built = small
    (corpus / "b.txt").write_text("新增文件。", encoding="utf-8")
    loaded = index_store.load(index_dir)
    assert any("changed" in reason for reason in loaded.staleness(corpus))
    assert any("BAAI/bge-small-zh-v1.5" in r for r in loaded.staleness(corpus, "BAAI/bge-small-zh-v1.5"))


@pytest.mark.parametrize("damage", ["manifest-garbage", "manifest-missing", "passages-missing", "faiss-garbage",
                                    "format-version", "passage-count"])
def test_broken_index_is_reported(small, damage):
    _, index_dir, _ = small
    folder = (index_dir / "current").resolve()
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    if damage == "manifest-garbage":
        (folder / "manifest.json").write_text("{not json", encoding="utf-8")
    elif damage == "manifest-missing":
        (folder / "manifest.json").unlink()
    elif damage == "passages-missing":
        (folder / "passages.jsonl").unlink()
    elif damage == "faiss-garbage":
        (folder / "dense.faiss").write_bytes(b"garbage")
    elif damage == "format-version":
        (folder / "manifest.json").write_text(json.dumps({**manifest, "format_version": 99}), encoding="utf-8")
    else:
        lines = (folder / "passages.jsonl").read_text(encoding="utf-8").splitlines()
        (folder / "passages.jsonl").write_text(lines[0] + "\n", encoding="utf-8")
    with pytest.raises(QAError, match="broken.*qa index build"):
        index_store.load(index_dir)


def test_rebuild_swaps_link_and_failed_build_keeps_old_index(small, encoder):
    corpus, index_dir, built = small
    first = (index_dir / "current").resolve()
    (corpus / "b.txt").write_text("又一段文字。", encoding="utf-8")
    rebuilt = index_store.build(corpus, index_dir, encoder)
    assert (index_dir / "current").is_symlink() and (index_dir / "current").resolve() != first
    assert rebuilt.manifest["passages"] == 3
    shutil.rmtree(corpus)
    corpus.mkdir()
    (corpus / "empty.txt").write_text("   \n", encoding="utf-8")
    with pytest.raises(QAError, match="No readable text"):
        index_store.build(corpus, index_dir, encoder)
    assert index_store.load(index_dir).manifest["passages"] == 3
