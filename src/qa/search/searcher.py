"""The searcher: scores every passage with the dense and the sparse retriever, fuses them with the document-context
channel, picks the answering sentence of each hit and judges whether the question is answered."""

from __future__ import annotations

import logging
import math
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from qa import index as index_store
from qa.config import QAError, Settings
from qa.documents import YEAR, Passage, tokenize
from qa.embedding import Encoder
from qa.search import answers
from qa.search.query import (COLLOQUIAL_FILE, FRAMES_FILE, SYNONYMS_FILE, Query, expand, framing_terms,
                             prepare_question, read_synonyms, read_words)
from qa.search.scoring import ContextIndex, evidence, min_max
from qa.search.value_kinds import lacks_asked_value

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
    evidence: float = 1.0

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


class Searcher:
    """Answers questions from one loaded index with one loaded model."""

    retrievers: tuple[str, ...] = ("dense", "sparse", "hybrid")

    def __init__(self, index: index_store.Index, encoder: Encoder, settings: Settings):
        """Pair an index with the model it was built with.

        Args:
            index: The loaded index.
            encoder: The index's embedding model.
            settings: Settings (question length, default top-k, fusion weight, decline threshold, synonyms).

        Raises:
            QAError: If the model's dimension does not match the index, or the index has no BM25 part.
        """
        if encoder.dimension != index.dense.d:
            raise QAError(
                f"Model {encoder.spec!r} makes {encoder.dimension}-dim vectors but the index holds {index.dense.d}-dim "
                f"ones. {index_store.REBUILD_HINT} --model {encoder.spec}"
            )
        if index.sparse is None or index.sentence_vectors is None:
            raise QAError(f"The index in {index.path} has no BM25 part. {index_store.REBUILD_HINT}")
        if settings.retriever not in self.retrievers:
            raise QAError(f"QA_RETRIEVER={settings.retriever!r}: choose one of {', '.join(self.retrievers)}.")
        self.index = index
        self.encoder = encoder
        self.settings = settings
        self.synonyms = read_synonyms(SYNONYMS_FILE)
        if settings.synonyms_file:
            self.synonyms += read_synonyms(settings.synonyms_file)
        self.everyday = read_synonyms(COLLOQUIAL_FILE)
        self.frames = read_words(FRAMES_FILE)
        self._idf = self._inverse_document_frequencies()
        self._passage_terms = [set(index_store.passage_terms(p)) for p in index.passages]
        self._passage_texts = [unicodedata.normalize("NFKC", f"{p.context}\n{p.text}").lower()
                               for p in index.passages]
        self._sentences: dict[int, tuple[list[str], list[set[str]]]] = {}
        self._contexts = ContextIndex(index.passages)
        self._all_rows = np.arange(len(index.passages))
        rows: dict[str, list[int]] = {}
        for row, passage in enumerate(index.passages):
            rows.setdefault(passage.doc_id, []).append(row)
        titles = {p.doc_id: p.title for p in index.passages}
        self._documents = {doc: (titles[doc], np.array(found)) for doc, found in rows.items()}

    def refusal(self, text: str, rows: np.ndarray, answer: str) -> str | None:
        """Say why a question must be declined whatever the retrievers' evidence, if it must.

        It names a year that none of the searched passages mention (2022年 asked of the 2020 report), or it asks for
        a kind of value that the answer sentence does not hold (多少名学生 without a number of people, 面积 without an
        area: see :mod:`qa.search.value_kinds`).

        Args:
            text: The prepared question.
            rows: The passage numbers searched.
            answer: The answer sentence(s) of the first passage.

        Returns:
            The notice for the user (Chinese and English), or None.
        """
        missing = self.uncovered_years(text, rows)
        if missing:
            return (f"资料中没有关于{'、'.join(y + '年' for y in missing)}的内容。"
                    f"The documents do not mention {', '.join(missing)}.")
        if lacks_asked_value(text, answer):
            return "资料中没有找到所问的数值或日期。The documents do not give the kind of value asked for."
        return None

    def uncovered_years(self, text: str, rows: np.ndarray) -> list[str]:
        """Return the years a question names that none of the searched passages mention.

        A question about 2022年 cannot be answered from documents that never mention 2022, however well its other
        words match (the 2020 report has 地区生产总值 too).

        Args:
            text: The prepared question.
            rows: The passage numbers searched.

        Returns:
            The missing years (e.g. ``["2022"]``), in the question's order.
        """
        everything = len(rows) == len(self.index.passages)
        missing = []
        for year in dict.fromkeys(YEAR.findall(text)):
            found = self.rows_with(year)  # the BM25 index keeps a year as a term of context and text
            if not len(found) or not (everything or np.isin(found, rows, assume_unique=True).any()):
                missing.append(year)
        return missing

    def _inverse_document_frequencies(self) -> dict[str, float]:
        sparse = self.index.sparse
        frequencies = np.diff(np.asarray(sparse.scores["indptr"]))
        total = len(self.index.passages)
        return {term: math.log(1 + (total - frequencies[i] + 0.5) / (frequencies[i] + 0.5))
                for term, i in sparse.vocab_dict.items() if i < len(frequencies)}

    def rows_with(self, term: str) -> np.ndarray:
        """Return the passages whose BM25 terms (document context and text) include a term.

        Args:
            term: A term from :func:`qa.documents.tokenize`.

        Returns:
            Passage numbers (empty for a term the corpus does not have).
        """
        number = self.index.sparse.vocab_dict.get(term)
        if number is None:
            return np.zeros(0, dtype=np.int64)
        indptr = self.index.sparse.scores["indptr"]
        return np.asarray(self.index.sparse.scores["indices"][indptr[number] : indptr[number + 1]], dtype=np.int64)

    def idf(self, term: str) -> float:
        """Return a term's inverse document frequency in the corpus (highest for unknown terms).

        Args:
            term: A term from :func:`qa.documents.tokenize`.

        Returns:
            The BM25 idf.
        """
        found = self._idf.get(term)
        return found if found is not None else math.log(1 + (len(self.index.passages) + 0.5) / 0.5)

    def search(self, question: str, top_k: int | None = None, retriever: str | None = None,
               docs: Sequence[str] | None = None) -> Answer:
        """Find the passages that best answer a question, the answering sentence in each, and whether it is answered.

        Args:
            question: The question (Simplified or Traditional Chinese).
            top_k: How many passages to return (default: the configured number).
            retriever: One of :attr:`retrievers` (default: the configured one, ``hybrid``).
            docs: Search only these documents (see :meth:`document_rows`); all when empty.

        Returns:
            The answer with its ranked passages.

        Raises:
            QAError: If the question is empty, the retriever unknown or no document matches ``docs``.
        """
        text, notices = prepare_question(question, self.settings.max_question_chars)
        retriever = retriever or self.settings.retriever
        if retriever not in self.retrievers:
            raise QAError(f"Unknown retriever {retriever!r}; choose one of: {', '.join(self.retrievers)}.")
        rows = self.document_rows(docs)
        top_k = max(1, min(top_k or self.settings.top_k, len(rows)))
        query = self.prepare(text)
        scores = {name: values[rows] for name, values in self.score(query).items()}
        order = np.argsort(-scores[retriever], kind="stable")[:top_k]
        grade = self.judge(query, scores, rows)
        hits = [Hit(self.index.passages[rows[i]], float(scores[retriever][i]), self.answer_sentence(query, int(rows[i])))
                for i in order]
        refusal = self.refusal(text, rows, hits[0].answer)
        if refusal:
            grade = 0.0
            notices.append(refusal)
        return Answer(question=text, answerable=grade >= self.settings.decline_threshold, hits=hits,
                      notices=notices, evidence=grade)

    def document_rows(self, docs: Sequence[str] | None) -> np.ndarray:
        """Return the passage numbers of the documents a filter names.

        A name matches a document whose id (file path) or title equals it or contains it, case-insensitively,
        e.g. ``jincheng``, ``2024`` or ``state-council-work-report-2023.txt``.

        Args:
            docs: Document names; empty or None for all documents.

        Returns:
            The passage numbers, in index order.

        Raises:
            QAError: If no document matches.
        """
        wanted = [name.strip().lower() for name in docs or [] if name and name.strip()]
        if not wanted:
            return self._all_rows
        matched = [doc for doc, (title, _) in self._documents.items()
                   if any(name in doc.lower() or name in title.lower() for name in wanted)]
        if not matched:
            known = "; ".join(f"{doc} ({title})" for doc, (title, _) in self._documents.items())
            raise QAError(f"No document matches {', '.join(docs)}. The index holds: {known}")
        return np.sort(np.concatenate([self._documents[doc][1] for doc in matched]))

    def documents(self) -> list[tuple[str, str]]:
        """List the indexed documents.

        Returns:
            (doc_id, title) pairs in index order.
        """
        return [(doc, title) for doc, (title, _) in self._documents.items()]

    def prepare(self, text: str) -> Query:
        """Embed a prepared question and cut it into terms, with the synonyms it uses.

        Args:
            text: A question from :func:`prepare_question`.

        Returns:
            The query.
        """
        expansions = expand(text, self.synonyms)
        extra = "、".join(other for _, others in expansions for other in others)
        vector = self.encoder.encode_queries([f"{text}（{extra}）" if extra else text])[0]
        terms = tokenize(text)
        return Query(text=text, vector=vector, terms=terms, expansions=expansions,
                     everyday=expand(text, self.everyday), frames=framing_terms(text, terms, self.frames))

    def score(self, query: Query) -> dict[str, np.ndarray]:
        """Score every passage with every retriever.

        Args:
            query: The prepared query.

        Returns:
            ``{"dense": cosines, "sparse": BM25 scores, "hybrid": fused 0..1 scores}``, one value per passage. The
            dense score mixes the passage's cosine (weight ``dense_passage_weight``; the passage was embedded with
            its title and section) with its best sentence's cosine; hybrid is the weighted sum of the min-max
            normalized dense and BM25 scores plus ``context_weight`` × the document-context channel
            (:class:`~qa.search.scoring.ContextIndex`), scaled back to 0..1.
        """
        count = len(self.index.passages)
        found, ids = self.index.dense.search(query.vector[None, :], min(count, self.settings.dense_candidates))
        valid = ids[0] >= 0
        passage_cosines = np.full(count, float(found[0][valid].min()) if valid.any() else 0.0, dtype=np.float32)
        passage_cosines[ids[0][valid]] = found[0][valid]
        sentence_cosines = self.index.sentence_vectors @ query.vector
        best_sentence = np.maximum.reduceat(sentence_cosines, self.index.sentence_starts[:-1].astype(np.int64))
        mix = self.settings.dense_passage_weight
        dense = mix * passage_cosines + (1 - mix) * best_sentence
        term_ids = self.index.sparse.get_tokens_ids(query.search_terms)
        sparse = self.index.sparse.get_scores_from_ids(term_ids) if term_ids else np.zeros(count, dtype=np.float32)
        weight, context = self.settings.sparse_weight, self.settings.context_weight
        fused = weight * min_max(sparse) + (1 - weight) * min_max(dense, self.settings.dense_spread_floor)
        hybrid = (fused + context * self._contexts.scores(query.terms, self.rows_with)) / (1 + context)
        return {"dense": dense, "sparse": np.asarray(sparse, dtype=np.float32), "hybrid": hybrid}

    def coverage(self, query: Query, position: int) -> float:
        """Return the idf-weighted share of the question's terms found in a passage, as terms or as text (so that
        a word jieba cut differently still counts). A question's term counts as found when the passage has one of
        its synonyms or the official words for it (厂子 → 企业, ``src/qa/data/colloquial.tsv``); the terms that only
        frame the question (有没有, 平时) do not count.

        Args:
            query: The prepared query.
            position: The passage's number in the index.

        Returns:
            A share between 0 and 1 (1 for a question without terms).
        """
        passage_terms, text = self._passage_terms[position], self._passage_texts[position]
        covered = {t for term, others in query.expansions + query.everyday if any(o in text for o in others)
                   for t in tokenize(term)}
        weights = {term: self.idf(term) for term in query.terms if term not in query.frames}
        total = sum(weights.values())
        if not total:
            return 1.0
        found = passage_terms | covered
        return sum(w for term, w in weights.items() if term in found or term in text) / total

    def evidence_features(self, query: Query, scores: dict[str, np.ndarray], rows: np.ndarray
                          ) -> tuple[float, float, bool]:
        """Measure what the evidence score is made of (``benchmarks/calibrate.py`` fits its weights on these).

        Args:
            query: The prepared query.
            scores: The retrievers' scores from :meth:`score` for the passages searched.
            rows: The passage numbers those scores belong to.

        Returns:
            The coverage of the question by the top hybrid passage, how many standard deviations the best cosine
            lies above the mean, and whether dense and BM25 put the same passage first.
        """
        top = int(rows[np.argmax(scores["hybrid"])])
        dense = scores["dense"]
        standout = float((dense.max() - dense.mean()) / dense.std()) if dense.std() > 0 else 0.0
        agree = int(np.argmax(dense)) == int(np.argmax(scores["sparse"]))
        return self.coverage(query, top), standout, agree

    def judge(self, query: Query, scores: dict[str, np.ndarray], rows: np.ndarray) -> float:
        """Weigh the evidence that the corpus answers the question.

        Args:
            query: The prepared query.
            scores: The retrievers' scores from :meth:`score` for the passages searched.
            rows: The passage numbers those scores belong to.

        Returns:
            The evidence score (0..1) of :func:`evidence`.
        """
        return evidence(*self.evidence_features(query, scores, rows))

    def _sentences_of(self, position: int) -> tuple[list[str], list[set[str]]]:
        if position not in self._sentences:
            sentences = index_store.passage_sentences(self.index.passages[position])
            self._sentences[position] = (sentences, [set(tokenize(s)) for s in sentences])
        return self._sentences[position]

    def answer_sentence(self, query: Query, position: int) -> str:
        """Pick the sentence(s) of a passage that answer the question (see :mod:`qa.search.answers`).

        Word overlap (question terms weighted by idf, by how few of the passage's sentences hold them, and ignored
        when they are in the document title: the topic, not the fact) plus the sentence's cosine to the question
        plus a bonus when it has what the question asks for (a number for 多少, a date for 何时 …). A neighbouring
        sentence scoring nearly as well is included.

        Args:
            query: The prepared query.
            position: The passage's number in the index.

        Returns:
            The answering sentence(s), verbatim from the passage.
        """
        sentences, sentence_terms = self._sentences_of(position)
        start = int(self.index.sentence_starts[position])
        cosines = self.index.sentence_vectors[start : start + len(sentences)] @ query.vector
        title_terms = set(tokenize(self.index.passages[position].title))
        terms = [term for term in query.search_terms if term not in title_terms]
        overlaps = answers.overlap(terms, {term: self.idf(term) for term in terms}, sentence_terms)
        return answers.pick(sentences, answers.sentence_scores(query.text, cosines, overlaps, sentences))


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
    warnings = []
    if not index_store.exists(index_dir):
        corpus_dir = corpus_dir or settings.corpus_dir
        log.warning("No index in %s yet: building it from %s…", index_dir, corpus_dir)
        encoder = Encoder(settings)
        loaded = index_store.build(corpus_dir, index_dir, encoder, settings.max_passage_chars, progress)
    else:
        loaded = index_store.load(index_dir)
        encoder = Encoder(settings, loaded.model)
        corpus_dir = corpus_dir or loaded.checked_corpus(settings)
        stale = loaded.staleness(corpus_dir, settings.model, settings.max_passage_chars)
        if stale:
            warnings.append(f"The index is stale: {'; '.join(stale)}. {index_store.REBUILD_HINT}")
    return Searcher(loaded, encoder, settings), warnings
