"""The searcher: runs the named parts of a search — analyzer, scorers and fusion, answer picker, answerability
checks — over one loaded index and records what each did in a :class:`~qa.search.trace.Trace`."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

import numpy as np

from qa import index as index_store
from qa.config import Settings
from qa.embedding import Encoder
from qa.errors import BadQuestion, IndexUnavailable, QAError
from qa.reader import Reading, load_reader
from qa.search import checks
from qa.search.analyzer import Query, QueryAnalyzer
from qa.search.answers import AnswerPicker
from qa.search.corpus_stats import CorpusStats
from qa.search.reading import answering_first, read_focused, sentences_holding
from qa.search.question import prepare_question
from qa.search.result import SURE, Answer, Hit
from qa.search.scorers import Scorer, Scores
from qa.search.trace import PassageTrace, Trace


class Searcher:
    """Answers questions from one loaded index with one loaded model."""

    retrievers: tuple[str, ...] = ("dense", "sparse", "hybrid")
    # The checks that decide, with and without the reader (the others are only recorded in the trace); measured in
    # docs/retrieval.md.
    deciding: dict[bool, tuple[str, ...]] = {True: ("years", "reader"),
                                             False: ("years", "asked_value", "evidence")}

    def __init__(self, index: index_store.Index, encoder: Encoder, settings: Settings):
        """Pair an index with the model it was built with.

        Args:
            index: The loaded index.
            encoder: The index's embedding model.
            settings: Settings (question length, default top-k, fusion weights, decline threshold, synonyms).

        Raises:
            QAError: If the model's dimension does not match the index, the index has no BM25 part, the retriever
                setting is unknown or a word list is malformed.
        """
        if encoder.dimension != index.dense.d:
            raise IndexUnavailable(
                f"Model {encoder.spec!r} makes {encoder.dimension}-dim vectors but the index holds {index.dense.d}-dim "
                f"ones. {index_store.REBUILD_HINT} --model {encoder.spec}"
            )
        if index.sparse is None or index.sentence_vectors is None:
            raise IndexUnavailable(f"The index in {index.path} has no BM25 part. {index_store.REBUILD_HINT}")
        if settings.retriever not in self.retrievers:
            raise QAError(f"QA_RETRIEVER={settings.retriever!r}: choose one of {', '.join(self.retrievers)}.")
        self.index, self.encoder, self.settings = index, encoder, settings
        self.stats = CorpusStats(index)
        self.analyzer = QueryAnalyzer(encoder, settings.synonyms_file)
        self.scorer = Scorer(index, self.stats, settings)
        self.picker = AnswerPicker(index, self.stats)
        self.reader = load_reader() if settings.reader else None

    def documents(self) -> list[tuple[str, str]]:
        """List the indexed documents as (doc_id, title) pairs in index order."""
        return self.stats.documents()

    def search(self, question: str, top_k: int | None = None, retriever: str | None = None,
               docs: Sequence[str] | None = None) -> Answer:
        """Find the passages that best answer a question, the answering sentence in each, and whether it is answered.

        Args:
            question: The question (Simplified or Traditional Chinese).
            top_k: How many passages to return (default: the configured number).
            retriever: One of :attr:`retrievers` (default: the configured one, ``hybrid``).
            docs: Search only these documents (see :meth:`CorpusStats.document_rows`); all when empty.

        Returns:
            The answer with its ranked passages and the trace of how it was reached.

        Raises:
            QAError: If the question is empty, the retriever unknown or no document matches ``docs``.
        """
        return self.search_rows(question, self.stats.document_rows(docs), top_k, retriever)

    def search_rows(self, question: str, rows: np.ndarray, top_k: int | None = None, retriever: str | None = None
                    ) -> Answer:
        """Search some passages only (what :meth:`search` does after resolving its document filter).

        Args:
            question: The question.
            rows: The passage numbers to search, in index order (e.g. all but a question's gold documents, for
                calibration).
            top_k: How many passages to return.
            retriever: The retriever.

        Returns:
            The answer.

        Raises:
            QAError: If the question is empty or the retriever unknown.
        """
        text, notices = prepare_question(question, self.settings.max_question_chars)
        retriever = retriever or self.settings.retriever
        if retriever not in self.retrievers:
            raise BadQuestion(f"Unknown retriever {retriever!r}; choose one of: {', '.join(self.retrievers)}.")
        top_k = max(1, min(top_k or self.settings.top_k, len(rows)))
        query = self.analyzer.analyze(text)
        scores = self.scorer.score(query).restricted(rows)
        picked: dict[int, str] = {}  # the answer picker's sentence of a passage, picked once per search
        fused = scores.by(retriever)
        order, readings = self._rank(query, fused, rows, picked)
        order = order[:top_k]
        hits = [self._hit(query, int(rows[i]), float(fused[i]), readings.get(int(i)), picked) for i in order]
        first = int(np.argmax(fused))  # what retrieval put first: the rules judge it, whatever the reader moved
        retrieved = hits[0] if int(order[0]) == first else self._hit(query, int(rows[first]), float(fused[first]),
                                                                     readings.get(first), picked)
        features = checks.evidence_features(query, scores, rows, self.stats)
        best = max(readings.values(), key=lambda reading: reading.probability, default=None)
        verdicts = self.judge(query, rows, retrieved, features, best)
        declined = [verdict for verdict in verdicts if verdict.declines and verdict.counts]
        notices += [verdict.notice for verdict in declined if verdict.notice]
        judge = "reader" if self.reader else "evidence"
        confidence = next(v.score for v in verdicts if v.name == judge)
        trace = Trace(query.to_dict(), retriever, self._passage_traces(query, scores, rows, order, readings),
                      verdicts, dict(zip(("coverage", "standout", "agree"), features)))
        return Answer(question=text, answerable=not declined, hits=hits, notices=notices,
                      confidence=0.0 if any(v.notice for v in declined) else confidence, trace=trace)

    def _pick(self, query: Query, position: int, picked: dict[int, str]) -> str:
        """The answer picker's sentence of a passage, remembered in ``picked`` for the rest of the search."""
        if position not in picked:
            picked[position] = self.picker.pick(query, position)
        return picked[position]

    def _rank(self, query: Query, fused: np.ndarray, rows: np.ndarray, picked: dict[int, str]
              ) -> tuple[np.ndarray, dict[int, Reading]]:
        """Order the searched passages by retrieval score; the reader reads the best ones in that order until one
        answers (at most ``reader_passages``), and the one that answers goes first."""
        order = np.argsort(-fused, kind="stable")
        readings: dict[int, Reading] = {}
        if self.reader is None:
            return order, readings
        threshold = self.settings.decline_threshold
        for i in order[: self.settings.reader_passages]:
            position = int(rows[i])
            readings[int(i)] = read_focused(self.reader, query.text, self.index.passages[position].text,
                                            self._pick(query, position, picked))
            if readings[int(i)].probability >= threshold:
                break
        return answering_first(order, readings, threshold), readings

    def _hit(self, query: Query, position: int, score: float, reading: Reading | None, picked: dict[int, str]) -> Hit:
        """A hit with its answer sentence(s): those holding the reader's span when the reader is sure of it
        (:data:`~qa.search.result.SURE`), else the answer picker's; the short answer only when it lies in them."""
        passage = self.index.passages[position]
        if reading and reading.short_answer and reading.probability >= SURE:
            sentences, _ = self.stats.sentences_of(position)
            answer = sentences_holding(sentences, passage.text, reading.start, reading.end)
            if answer:
                return Hit(passage, score, answer, reading.short_answer)
        answer = self._pick(query, position, picked)
        short = reading.short_answer if reading and reading.short_answer and reading.short_answer in answer else ""
        return Hit(passage, score, answer, short)

    def judge(self, query: Query, rows: np.ndarray, retrieved: Hit, features: tuple[float, float, bool],
              reading: Reading | None = None) -> list[checks.Verdict]:
        """Run every answerability check; those not in :attr:`deciding` are only recorded.

        Args:
            query: The analyzed question.
            rows: The passage numbers searched.
            retrieved: The hit retrieval put first (before the reader moved an answering passage forward).
            features: The evidence features (:func:`checks.evidence_features`).
            reading: The reader's likeliest reading of the passages it read (None without the reader).

        Returns:
            The verdicts, in the order the checks ran.
        """
        verdicts = [checks.named_years(query, self.stats, rows), checks.asked_value(query, retrieved.answer),
                    checks.no_overlap(features), checks.evidence_check(features, self.settings.evidence_threshold)]
        if reading is not None:
            verdicts.append(checks.reader_check(reading.probability, self.settings.decline_threshold))
        deciding = self.deciding[self.reader is not None]
        return [replace(v, counts=v.name in deciding) for v in verdicts]

    def _passage_traces(self, query: Query, scores: Scores, rows: np.ndarray, order: np.ndarray,
                        readings: dict[int, Reading]) -> list[PassageTrace]:
        traces = []
        for rank, i in enumerate(order, 1):
            position = int(rows[i])
            found, text = self.stats.passage_terms[position], self.stats.passage_texts[position]
            matched = [term for term in query.search_terms if term in found or term in text]
            traces.append(PassageTrace(self.index.passages[position].passage_id, rank, matched,
                                       float(scores.dense[i]), float(scores.sparse[i]),
                                       {name: float(share[i]) for name, share in scores.shares.items()},
                                       float(scores.hybrid[i]), readings.get(int(i))))
        return traces
