"""Fakes for the unit tests: a deterministic encoder that needs no model, a small handmade corpus, a real index built
from it on disk with the fake encoder, and a QA over that index with the reader off.

Unit tests load no model and start no server: any that constructs the real :class:`~qa.embedding.Encoder` or the
reader fails at once, and one that imports a model runtime (torch, ONNX Runtime, sentence-transformers) fails too.
"""

from __future__ import annotations

import os
import sys
import unicodedata
import zlib
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import pytest

import qa.reader
import qa.search.searcher
from qa import index as index_store
from qa.api import QA
from qa.config import Settings
from qa.embedding import Encoder
from qa.reader import Reader, Reading

MODEL_MODULES = frozenset({"torch", "onnxruntime", "sentence_transformers", "transformers"})
FAKE_DIMENSION = 256

# The handmade corpus: two documents, two sections in the first, each passage with a fact no other holds. Read by
# tests, never changed (the index built from it is shared by the whole session).
CORPUS = {
    "baita-2020.md": "# 白塔镇2020年工作报告\n\n"
                     "## 2020年工作回顾\n\n"
                     "全镇干部群众团结拼搏，克难求进。全面推进项目招引，全年签约项目12个、总投资30.5亿元。"
                     "新建口袋公园7座，由镇城建办负责管护。\n\n"
                     "全面落实河长制。全年累计巡河420轮次，清理河道垃圾900吨。\n\n"
                     "## 2021年工作思路\n\n"
                     "2021年将启动白龙荡萝卜小镇建设。计划新建农村公路15公里，改造老旧小区3个。\n",
    "qinghe-2019.md": "# 清河乡2019年工作总结\n\n"
                      "## 社会事业\n\n"
                      "清河中学办学水平持续提升，有学生1200名、教师96名。全乡走访困难家庭85户，发放救助资金160万元。\n",
}


def _loaded_model_modules() -> set[str]:
    return {name for name in MODEL_MODULES if name in sys.modules}


class FakeEncoder:
    """Stands in for :class:`qa.embedding.Encoder` without a model: a text's vector is its hashed bag of characters and
    character pairs (punctuation and spaces left out), normalized, so texts sharing words are close. Deterministic
    (crc32, not Python's salted ``hash``). It has what the index and search code use: ``spec``, ``dimension``,
    ``backend_name``, the prefixes, ``batch_size`` and the three ``encode_*`` methods; ``embedded`` lists every passage
    text it was asked to embed."""

    backend_name = "fake"
    query_prefix = ""
    passage_prefix = ""
    batch_size = 32

    def __init__(self, settings: Settings | None = None, spec: str | None = None, dimension: int = FAKE_DIMENSION):
        """Take the :class:`~qa.embedding.Encoder`'s arguments (so it can replace the class) and ignore the settings."""
        self.spec = spec or "fake-hashed-characters"
        self.dimension = dimension
        self.embedded: list[str] = []

    def vector(self, text: str) -> np.ndarray:
        """The unit vector of one text (a fixed unit vector for a text without characters)."""
        characters = [c for c in text if unicodedata.category(c)[0] not in "PZC"]
        vector = np.zeros(self.dimension, dtype=np.float32)
        for gram in characters + [a + b for a, b in zip(characters, characters[1:])]:
            vector[zlib.crc32(gram.encode("utf-8")) % self.dimension] += 1.0
        norm = float(np.linalg.norm(vector))
        if not norm:
            vector[0] = 1.0
            return vector
        return vector / norm

    def _encode(self, texts: Sequence[str]) -> np.ndarray:
        return np.array([self.vector(text) for text in texts], dtype=np.float32).reshape(len(texts), self.dimension)

    def encode_queries(self, texts: Sequence[str]) -> np.ndarray:
        """Vectors of questions (float32, one unit row per text)."""
        return self._encode(texts)

    def encode_passages(self, texts: Sequence[str], progress: Callable[[int], None] | None = None) -> np.ndarray:
        """Vectors of passages."""
        self.embedded.extend(texts)
        if progress:
            progress(len(texts))
        return self._encode(texts)

    def encode_passages_with_sentences(self, texts: Sequence[str], sentences: Sequence[Sequence[str]],
                                       progress: Callable[[int], None] | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Vectors of passages and of all their sentences (each sentence embedded on its own)."""
        self.embedded.extend(texts)
        if progress:
            progress(len(texts))
        return self._encode(texts), self._encode([sentence for group in sentences for sentence in group])


class FakeReader:
    """Stands in for the reader model (:class:`qa.reader.Reader`): it "finds" the first of its answers that a passage
    holds, with that answer's probability; a passage holding none gets no span and ``missing``."""

    def __init__(self, answers: dict[str, float], missing: float = 0.05):
        self.answers, self.missing = answers, missing

    def read(self, question: str, text: str, focus: tuple[int, int] | None = None) -> Reading:
        for answer, probability in self.answers.items():
            start = text.find(answer)
            if start >= 0:
                return Reading(answer, start, start + len(answer), 3.0, 2.0, probability)
        return Reading("", 0, 0, -3.0, -2.0, self.missing)


def unit_settings(base: Path, **overrides) -> Settings:
    """Settings for a unit test: folders under ``base``, no ``.env``, the reader off unless asked for."""
    fields = {"corpus_dir": base / "corpus", "index_dir": base / "index", "cache_dir": base / "cache",
              "reader": False, **overrides}
    return Settings(_env_file=None, **fields)


def write_corpus(folder: Path, documents: dict[str, str] = CORPUS) -> Path:
    """Write documents (file name → text) into a folder and return it."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in documents.items():
        (folder / name).write_text(text, encoding="utf-8")
    return folder


@pytest.fixture(scope="session", autouse=True)
def model_modules_before_unit_tests() -> set[str]:
    """The model runtimes already imported when the unit tests start (by e2e tests of the same run, if any)."""
    return _loaded_model_modules()


@pytest.fixture(autouse=True)
def no_model(monkeypatch, model_modules_before_unit_tests):
    """Refuse to load the embedding model or the reader in a unit test, and fail a test after which a model runtime
    has been imported."""

    def refuse(what: str):
        def load(*args, **kwargs):
            raise AssertionError(f"a unit test tried to load {what}: use the fake_encoder fixture, "
                                 f"Settings(reader=False) or a FakeReader")
        return load

    monkeypatch.setattr(Encoder, "__init__", refuse("the embedding model"))
    monkeypatch.setattr(Reader, "__init__", refuse("the reader"))
    monkeypatch.setattr(qa.reader, "load_reader", refuse("the reader"))
    monkeypatch.setattr(qa.search.searcher, "load_reader", refuse("the reader"), raising=False)
    yield
    imported = _loaded_model_modules() - model_modules_before_unit_tests
    model_modules_before_unit_tests.update(imported)  # blame the first test only
    assert not imported, f"this unit test imported {sorted(imported)}: a model runtime was loaded"


@pytest.fixture(autouse=True)
def no_qa_environment(monkeypatch):
    """Run every unit test without the caller's ``QA_*`` variables (the defaults are what is tested)."""
    for name in [name for name in os.environ if name.startswith("QA_")]:
        monkeypatch.delenv(name)


@pytest.fixture(scope="session")
def encoder():
    """The real model is not for unit tests."""
    pytest.fail("unit tests do not load the real model: use the fake_encoder fixture")


@pytest.fixture(scope="session")
def searcher():
    """The real searcher is not for unit tests."""
    pytest.fail("unit tests do not load the real model: use the fake_qa fixture")


@pytest.fixture(scope="session")
def fake_encoder() -> FakeEncoder:
    """The fake encoder the shared index was built with."""
    return FakeEncoder()


@pytest.fixture(scope="session")
def fake_base(tmp_path_factory) -> Path:
    """A folder holding the handmade corpus (``corpus/``) and, once built, its index (``index/``)."""
    base = tmp_path_factory.mktemp("fake")
    write_corpus(base / "corpus")
    return base


@pytest.fixture(scope="session")
def fake_settings(fake_base) -> Settings:
    """Unit settings over the handmade corpus (default weights and thresholds, the reader off)."""
    return unit_settings(fake_base)


@pytest.fixture(scope="session")
def fake_index(fake_base, fake_settings, fake_encoder) -> index_store.Index:
    """A real index of the handmade corpus on disk, built once with the fake encoder (do not change it)."""
    return index_store.build(fake_settings.corpus_dir, fake_settings.index_dir, fake_encoder,
                             fake_settings.max_passage_chars)


@pytest.fixture(scope="session")
def fake_qa(fake_index, fake_settings, fake_encoder) -> QA:
    """Questions answered from the fake index with the fake encoder, the reader off."""
    return QA.from_index(fake_index, fake_settings, fake_encoder)


@pytest.fixture
def make_qa(fake_index, fake_encoder, fake_base) -> Callable[..., QA]:
    """A QA over the shared fake index with some settings changed, e.g. ``make_qa(evidence_threshold=1.0)``."""
    return lambda **overrides: QA.from_index(fake_index, unit_settings(fake_base, **overrides), fake_encoder)
