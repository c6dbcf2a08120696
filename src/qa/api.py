"""The Python front door: :class:`QA` opens (or builds) an index and answers questions.

    from qa import QA
    qa = QA.open()                                   # ./index, building it from ./corpus if there is none
    answer = qa.ask("2020年全年签约了多少个项目？")
    print(answer.hits[0].answer)

    QA.from_texts(["第一段……", "第二段……"]).ask("…")  # in memory, for notebooks and tests

This is the one place a :class:`~qa.search.Searcher` is made; the command line, the web chat, the evaluation and the
benchmarks all go through it.
"""

from __future__ import annotations

import logging
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path

from qa import index as index_store
from qa.config import Settings, get_settings
from qa.embedding import Encoder
from qa.search import Answer, Searcher

log = logging.getLogger(__name__)
Progress = Callable[[int, int], None]


class QA:
    """Questions answered from one index. Make one with :meth:`open`, :meth:`from_texts` or :meth:`from_index`."""

    def __init__(self, searcher: Searcher, warnings: Sequence[str] = ()):
        """Wrap a searcher (use the class methods instead).

        Args:
            searcher: The searcher.
            warnings: What the user should know about the index (e.g. that it is stale).
        """
        self.searcher = searcher
        self.warnings = list(warnings)

    @property
    def settings(self) -> Settings:
        """The settings in use."""
        return self.searcher.settings

    @property
    def index(self) -> index_store.Index:
        """The loaded index."""
        return self.searcher.index

    @property
    def encoder(self) -> Encoder:
        """The embedding model in use."""
        return self.searcher.encoder

    @classmethod
    def from_index(cls, index: index_store.Index, settings: Settings | None = None, encoder: Encoder | None = None,
                   warnings: Sequence[str] = ()) -> QA:
        """Answer from an index already loaded or built.

        Args:
            index: The index.
            settings: The settings (default: from the environment).
            encoder: The index's model, if already loaded (it is loaded otherwise).
            warnings: Warnings to keep on the object.

        Returns:
            The QA object.
        """
        settings = settings or get_settings()
        encoder = encoder if encoder is not None and encoder.spec == index.model else Encoder(settings, index.model)
        return cls(Searcher(index, encoder, settings), warnings)

    @classmethod
    def open(cls, index: str | Path | None = None, corpus: str | Path | None = None, progress: Progress | None = None,
             config: Settings | None = None, **settings) -> QA:
        """Load the index (building it from the corpus first if there is none) and the model it was built with.

        Args:
            index: The index folder (default: ``QA_INDEX_DIR`` or ``./index``).
            corpus: The corpus folder (default: the one the index was built from, or ``./corpus``).
            progress: Called with (done, total) while a first build embeds passages.
            config: Settings to start from (default: from the environment).
            **settings: Any :class:`~qa.config.Settings` field, e.g. ``top_k=5``, ``decline_threshold=0.5``.

        Returns:
            The QA object; :attr:`warnings` says whether the index is stale.

        Raises:
            QAError: If the index or the model cannot be used (:class:`~qa.errors.IndexUnavailable`,
                :class:`~qa.errors.ModelUnavailable`).
        """
        config = (config or get_settings()).model_copy(update=settings) if settings else config or get_settings()
        index_dir = Path(index) if index else config.index_dir
        corpus_dir = Path(corpus) if corpus else None
        if not index_store.exists(index_dir):
            corpus_dir = corpus_dir or config.corpus_dir
            log.warning("No index in %s yet: building it from %s…", index_dir, corpus_dir)
            encoder = Encoder(config)
            built = index_store.build(corpus_dir, index_dir, encoder, config.max_passage_chars, progress)
            return cls.from_index(built, config, encoder)
        loaded = index_store.load(index_dir)
        corpus_dir = corpus_dir or loaded.checked_corpus(config)
        stale = loaded.staleness(corpus_dir, config.model, config.max_passage_chars)
        warnings = [f"The index is stale: {'; '.join(stale)}. {index_store.REBUILD_HINT}"] if stale else []
        return cls.from_index(loaded, config, warnings=warnings)

    @classmethod
    def from_texts(cls, texts: Sequence[str], titles: Sequence[str] | None = None, **settings) -> QA:
        """Index a few texts in a temporary folder and answer from them (notebooks, tests).

        Args:
            texts: Document texts; each becomes one document (``doc-1.txt`` …) cut into passages as usual.
            titles: A title per text (its first line); default none.
            **settings: Any :class:`~qa.config.Settings` field.

        Returns:
            The QA object; its index lives as long as the process.
        """
        folder = Path(tempfile.mkdtemp(prefix="qa-texts-"))
        corpus = folder / "corpus"
        corpus.mkdir()
        for number, text in enumerate(texts, 1):
            title = f"# {titles[number - 1]}\n" if titles else ""
            (corpus / f"doc-{number}.txt").write_text(title + text, encoding="utf-8")
        return cls.open(index=folder / "index", corpus=corpus, **settings)

    def ask(self, question: str, top_k: int | None = None, docs: Sequence[str] | None = None,
            retriever: str | None = None) -> Answer:
        """Answer a question.

        Args:
            question: The question (Simplified or Traditional Chinese).
            top_k: Passages to return (default: ``Settings.top_k``, 3).
            docs: Search only these documents (a file name or title, or part of one).
            retriever: ``hybrid`` (default), ``dense`` or ``sparse``.

        Returns:
            The :class:`~qa.search.Answer`: ``answerable``, ``confidence``, ``hits`` (passage, answer sentence,
            short answer) and the ``trace``.

        Raises:
            QAError: If the question is empty (:class:`~qa.errors.BadQuestion`) or no document matches ``docs``.
        """
        return self.searcher.search(question, top_k, retriever, docs)
