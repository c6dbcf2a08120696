"""Retrieval over an index: finding the passages that answer a question and the sentence that answers.

``open_searcher`` is the one entry point the command line, the web chat and the evaluation use: it loads the
index (building it on first use), loads the model the index was built with, and reports staleness.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from qa import index as index_store
from qa.config import QAError, Settings
from qa.documents import Passage, clean_line, split_sentences
from qa.embedding import Encoder

log = logging.getLogger(__name__)


@dataclass
class Hit:
    """One retrieved passage with its score and answering sentence(s)."""

    passage: Passage
    score: float
    answer: str


@dataclass
class Answer:
    """The system's reply to one question."""

    question: str
    answerable: bool
    hits: list[Hit]
    notices: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        """Return the reply in the ``qa ask --json`` contract of DESIGN.md.

        Returns:
            ``{"question", "answerable", "results": [{"rank", "score", "doc_id", "passage_id", "title",
            "section", "text", "answer"}]}``.
        """
        return {
            "question": self.question,
            "answerable": self.answerable,
            "results": [
                {
                    "rank": rank,
                    "score": round(hit.score, 4),
                    "doc_id": hit.passage.doc_id,
                    "passage_id": hit.passage.passage_id,
                    "title": hit.passage.title,
                    "section": hit.passage.section,
                    "text": hit.passage.text,
                    "answer": hit.answer,
                }
                for rank, hit in enumerate(self.hits, 1)
            ],
        }


def prepare_question(question: str, max_chars: int) -> tuple[str, list[str]]:
    """Clean a question and cut it to a length the model takes.

    Args:
        question: The raw question.
        max_chars: The longest question kept.

    Returns:
        The cleaned question and notices for the user (e.g. that it was truncated).

    Raises:
        QAError: If nothing is left to ask.
    """
    if not isinstance(question, str):
        raise QAError("The question must be text.")
    cleaned = clean_line(" ".join(question.splitlines()))
    if not cleaned:
        raise QAError("请输入问题。The question is empty: type a question, e.g. 2020年全年签约了多少个项目？")
    notices = []
    if len(cleaned) > max_chars:
        cleaned = cleaned[:max_chars]
        notices.append(f"问题过长，只使用了前 {max_chars} 个字。The question was cut to its first {max_chars} characters.")
    return cleaned, notices


class Searcher:
    """Answers questions from one loaded index with one loaded model."""

    def __init__(self, index: index_store.Index, encoder: Encoder, settings: Settings):
        """Pair an index with the model it was built with.

        Args:
            index: The loaded index.
            encoder: The index's embedding model.
            settings: Settings (question length, default top-k).

        Raises:
            QAError: If the model's dimension does not match the index.
        """
        if encoder.dimension != index.dense.d:
            raise QAError(
                f"Model {encoder.spec!r} makes {encoder.dimension}-dim vectors but the index holds {index.dense.d}-dim "
                f"ones. {index_store.REBUILD_HINT} --model {encoder.spec}"
            )
        self.index = index
        self.encoder = encoder
        self.settings = settings

    retrievers: tuple[str, ...] = ("dense",)

    def search(self, question: str, top_k: int | None = None, retriever: str | None = None) -> Answer:
        """Find the passages that best answer a question.

        Args:
            question: The question.
            top_k: How many passages to return (default: the configured number).
            retriever: One of :attr:`retrievers` (default: the best one).

        Returns:
            The answer with its ranked passages.

        Raises:
            QAError: If the question is empty.
        """
        text, notices = prepare_question(question, self.settings.max_question_chars)
        if retriever not in (None, *self.retrievers):
            raise QAError(f"Unknown retriever {retriever!r}; choose one of: {', '.join(self.retrievers)}.")
        top_k = max(1, min(top_k or self.settings.top_k, len(self.index.passages)))
        query = self.encoder.encode_queries([text])
        scores, ids = self.index.dense.search(query, top_k)
        passages = [self.index.passages[i] for i in ids[0] if i >= 0]
        answers = self.answer_sentences(query[0], passages)
        hits = [Hit(p, float(s), a) for p, s, a in zip(passages, scores[0], answers)]
        return Answer(question=text, answerable=True, hits=hits, notices=notices)

    def answer_sentences(self, query: np.ndarray, passages: list[Passage]) -> list[str]:
        """Pick, in each passage, the sentence most similar to the question.

        Args:
            query: The question's vector.
            passages: The retrieved passages.

        Returns:
            One answering sentence per passage.
        """
        sentences = [split_sentences(p.text) or [p.text] for p in passages]
        flat = [s for group in sentences for s in group]
        similarity = self.encoder.encode_passages(flat) @ query if flat else np.zeros(0)
        answers, start = [], 0
        for group in sentences:
            scores = similarity[start : start + len(group)]
            answers.append(group[int(np.argmax(scores))])
            start += len(group)
        return answers


def open_searcher(settings: Settings, index_dir: Path | None = None, corpus_dir: Path | None = None,
                  progress: Callable[[int, int], None] | None = None) -> tuple[Searcher, list[str]]:
    """Load the index (building it first if there is none) and the model it was built with.

    Args:
        settings: The settings.
        index_dir: The index folder (default: the configured one).
        corpus_dir: The corpus folder (default: the configured one).
        progress: Progress callback for a first build.

    Returns:
        The searcher and warnings for the user (staleness).

    Raises:
        QAError: If the index or the model cannot be used.
    """
    index_dir = index_dir or settings.index_dir
    corpus_dir = corpus_dir or settings.corpus_dir
    warnings = []
    if not index_store.exists(index_dir):
        log.warning("No index in %s yet: building it from %s…", index_dir, corpus_dir)
        encoder = Encoder(settings)
        loaded = index_store.build(corpus_dir, index_dir, encoder, settings.max_passage_chars, progress)
    else:
        loaded = index_store.load(index_dir)
        encoder = Encoder(settings, loaded.model)
        stale = loaded.staleness(corpus_dir, settings.model, settings.max_passage_chars)
        if stale:
            warnings.append(f"The index is stale: {'; '.join(stale)}. {index_store.REBUILD_HINT}")
    return Searcher(loaded, encoder, settings), warnings
