"""Shared fixtures: real settings, a real index of the real report, a real model (loaded once per session)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from qa.config import Settings

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT / "corpus"


@pytest.fixture(scope="session")
def settings(tmp_path_factory) -> Settings:
    """Settings pointing at a copy of the town corpus and a fresh index folder (the user cache holds the model)."""
    base = tmp_path_factory.mktemp("qa")
    corpus = base / "corpus"
    shutil.copytree(CORPUS, corpus)
    return Settings(corpus_dir=corpus, index_dir=base / "index")


@pytest.fixture(scope="session")
def encoder(settings):
    """The real default embedding model."""
    from qa.embedding import Encoder

    return Encoder(settings)


@pytest.fixture(scope="session")
def searcher(settings, encoder):
    """A searcher over a real index of the town report, built once for the session."""
    from qa import index as index_store
    from qa.api import QA

    built = index_store.build(settings.corpus_dir, settings.index_dir, encoder, settings.max_passage_chars)
    return QA.from_index(built, settings, encoder).searcher


@pytest.fixture(scope="module")
def server(tmp_path_factory, request):
    """A real `qa serve` for the module that asks (over a copy of the report plus the HTML-injection document, with
    its own index and feedback file); a module that needs other settings defines its own."""
    from tests.serving import QAServer

    running = QAServer(tmp_path_factory.mktemp(request.module.__name__.rsplit(".", 1)[-1]))
    yield running
    running.stop()


@pytest.fixture(scope="module")
def client(server):
    """A gradio_client on the module's running `qa serve`."""
    from gradio_client import Client

    return Client(server.url, verbose=False)
