"""The one searcher the web app uses, held so that a rebuilt index can be swapped in while the app runs."""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from qa import index as index_store
from qa.config import QAError, Settings
from qa.embedding import Encoder
from qa.api import QA
from qa.search import Answer, Searcher

log = logging.getLogger(__name__)

RELOAD_CHECK_SECONDS = 1.0


@dataclass
class IndexInfo:
    """What the index panel shows."""

    path: str
    documents: int
    passages: int
    model: str
    built_at: str
    stale: list[str]


class SearcherHolder:
    """Holds the one searcher the app uses, so that a rebuilt index can be swapped in while the app runs."""

    def __init__(self, settings: Settings, index_dir: Path | None = None, corpus_dir: Path | None = None):
        """Load the index (building it if there is none) and its model.

        Args:
            settings: The settings.
            index_dir: The index folder (default: the configured one).
            corpus_dir: The corpus folder (default: the configured one).

        Raises:
            QAError: If the index or the model cannot be used.
        """
        self.settings = settings
        self.index_dir = index_dir or settings.index_dir
        self.corpus_dir = corpus_dir or settings.corpus_dir
        self._swap_lock = threading.Lock()
        self._rebuild_lock = threading.Lock()
        self._reloading = threading.Lock()
        self._checked_at = time.monotonic()
        opened = QA.open(self.index_dir, self.corpus_dir, config=settings)
        for warning in opened.warnings:
            log.warning(warning)
        self._searcher = opened.searcher

    @property
    def searcher(self) -> Searcher:
        """The searcher in use; a build swapped in by another process is picked up (see :meth:`reload_if_rebuilt`)."""
        self.reload_if_rebuilt()
        with self._swap_lock:
            return self._searcher

    def reload_if_rebuilt(self) -> None:
        """Load the index again, in the background, when its ``current`` build changed (e.g. ``qa index build`` ran
        in another terminal). Checked at most once per :data:`RELOAD_CHECK_SECONDS`; requests keep being answered by
        the old searcher until the new one is ready, and a new build that cannot be loaded is logged and ignored.
        """
        now = time.monotonic()
        if now - self._checked_at < RELOAD_CHECK_SECONDS or self._reloading.locked():
            return
        self._checked_at = now
        current = index_store.current_build(self.index_dir)
        if current is None or current == self._searcher.index.path:
            return
        threading.Thread(target=self._reload, args=(current,), daemon=True, name="qa-reload").start()

    def _reload(self, build: Path) -> None:
        if not self._reloading.acquire(blocking=False):
            return
        try:
            loaded = index_store.load(self.index_dir)
            if loaded.path == self._searcher.index.path:
                return
            self.swap(QA.from_index(loaded, self.settings, self._searcher.encoder).searcher)
            log.warning("Reloaded the index: %s (%d passages).", loaded.path.name, len(loaded.passages))
        except QAError as error:
            log.error("A new index build (%s) could not be loaded; still answering from the old one: %s", build, error)
        finally:
            self._reloading.release()

    def swap(self, searcher: Searcher) -> None:
        """Put a new searcher in place; searches already running finish on the old one.

        Args:
            searcher: The new searcher.
        """
        with self._swap_lock:
            self._searcher = searcher

    def ask(self, question: str, top_k: int | None = None, docs: list[str] | None = None) -> Answer:
        """Answer a question with the current searcher.

        Args:
            question: The question.
            top_k: Passages to return (default: the configured number).
            docs: Document ids to search (default: all).

        Returns:
            The answer.

        Raises:
            QAError: If the question is empty, top_k is out of range or no document matches.
        """
        if top_k is not None and not 1 <= int(top_k) <= 100:
            raise QAError(f"top_k must be between 1 and 100, not {top_k}.")
        return self.searcher.search(question, None if top_k is None else int(top_k), docs=docs)

    def info(self) -> IndexInfo:
        """Describe the index in use and whether it is stale.

        Returns:
            The index panel's facts.
        """
        index = self.searcher.index
        manifest = index.manifest
        stale = index.staleness(self.corpus_dir, self.settings.model, self.settings.max_passage_chars)
        return IndexInfo(path=str(self.index_dir), documents=int(manifest["documents"]),
                         passages=int(manifest["passages"]), model=str(manifest["model"]),
                         built_at=str(manifest["built_at"]), stale=stale)

    def rebuild(self) -> IndexInfo:
        """Rebuild the index from the corpus with the configured model, then swap the new searcher in.

        Returns:
            The new index's facts.

        Raises:
            QAError: If a rebuild is already running or the corpus has no readable text.
        """
        if not self._rebuild_lock.acquire(blocking=False):
            raise QAError("索引正在重建，请稍候。A rebuild is already running; wait for it to finish.")
        try:
            current = self.searcher.encoder
            encoder = current if current.spec == self.settings.model else Encoder(self.settings)
            built = index_store.build(self.corpus_dir, self.index_dir, encoder, self.settings.max_passage_chars)
            self.swap(QA.from_index(built, self.settings, encoder).searcher)
        finally:
            self._rebuild_lock.release()
        return self.info()
