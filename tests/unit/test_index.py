"""The on-disk index without the model: a missing index, the build lock, and an index built with the fake encoder
(manifest, reuse of unchanged passages). (Built with the real model: tests/e2e/test_index.py.)"""

from __future__ import annotations

import inspect

import numpy as np
import pytest

from qa import index as index_store
from qa.config import QAError
from qa.embedding import Encoder
from tests.unit.conftest import FakeEncoder, write_corpus


def test_missing_index_says_how_to_build(tmp_path):
    with pytest.raises(QAError, match="qa index build"):
        index_store.load(tmp_path / "nothing")


def test_second_build_is_refused_while_one_holds_the_lock(tmp_path):
    index_dir = tmp_path / "index"
    with index_store.build_lock(index_dir):
        with pytest.raises(QAError, match="Another build is running"):
            with index_store.build_lock(index_dir):
                pass


def test_a_build_records_the_encoder_that_made_it(fake_index, fake_settings, fake_encoder):
    manifest = fake_index.manifest
    assert (manifest["model"], manifest["dimension"]) == (fake_encoder.spec, fake_encoder.dimension)
    assert (manifest["documents"], manifest["passages"]) == (2, 4) and manifest["full"]
    assert manifest["embedding_recipe"]["backend"] == "fake"
    assert fake_index.dense.d == fake_encoder.dimension and fake_index.dense.ntotal == 4
    assert fake_index.staleness(fake_settings.corpus_dir, fake_encoder.spec, fake_settings.max_passage_chars) == []
    assert any("other-model" in reason for reason in fake_index.staleness(fake_settings.corpus_dir, "other-model"))


def test_a_rebuild_embeds_only_the_changed_passage(tmp_path):
    corpus = write_corpus(tmp_path / "corpus")
    index_store.build(corpus, tmp_path / "index", FakeEncoder())
    report = corpus / "baita-2020.md"
    report.write_text(report.read_text(encoding="utf-8").replace("900吨", "1000吨"), encoding="utf-8")
    again = FakeEncoder()
    rebuilt = index_store.build(corpus, tmp_path / "index", again)
    assert len(again.embedded) == 1 and "清理河道垃圾1000吨" in again.embedded[0]
    changes = rebuilt.manifest["changes"]
    assert (changes["reused"], changes["embedded"]) == (3, 1)
    assert index_store.build(corpus, tmp_path / "index", again, full=True).manifest["changes"]["embedded"] == 4


def test_the_fake_encoder_offers_what_the_encoder_does():
    """The fakes stand in for the real Encoder only as long as they keep up with it."""
    methods = {name for name, member in vars(Encoder).items() if callable(member) and not name.startswith("_")}
    assert methods == {"encode_passages", "encode_passages_with_sentences", "encode_queries"}, "update FakeEncoder"
    for name in methods:
        real, fake = inspect.signature(getattr(Encoder, name)), inspect.signature(getattr(FakeEncoder, name))
        assert list(real.parameters) == list(fake.parameters), name
    fake = FakeEncoder()
    for attribute in ("spec", "dimension", "batch_size", "query_prefix", "passage_prefix", "backend_name"):
        assert hasattr(fake, attribute), attribute
    vectors = fake.encode_queries(["全年签约项目12个", "全年签约项目12个", "清河中学", ""])
    assert vectors.shape == (4, fake.dimension) and vectors.dtype == np.float32
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1) and np.array_equal(vectors[0], vectors[1])
    assert float(vectors[0] @ FakeEncoder().encode_queries(["签约了多少个项目"])[0]) > float(vectors[0] @ vectors[2])
