"""Retrieval over an index: finding the passages that answer a question and the sentence that answers.

Three retrievers share one scoring pass: ``dense`` (cosine of m3e/sentence-transformers vectors), ``sparse`` (BM25
over jieba terms, with domain synonyms added to the question) and ``hybrid`` (the default): both score lists are
min-max normalized over the corpus and summed with the weight ``Settings.sparse_weight``. The answering sentence of a
passage is picked by weighted word overlap, semantic similarity and question cues (多少 → numbers, 何时 → dates …).
Whether the question is answerable at all is judged from the evidence of both retrievers (see :func:`evidence`).

``open_searcher`` is the one entry point the command line, the web chat and the evaluation use: it loads the
index (building it on first use), loads the model the index was built with, and reports staleness.
"""

from __future__ import annotations

import logging
import math
import re
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import numpy as np

from qa import index as index_store
from qa.config import QAError, Settings
from qa.documents import Passage, clean_line, tokenize
from qa.embedding import Encoder

log = logging.getLogger(__name__)

SYNONYMS_FILE = Path(__file__).parent / "data" / "synonyms.tsv"
FULL_WIDTH = {code: code - 0xFEE0 for code in [*range(0xFF10, 0xFF1A), *range(0xFF21, 0xFF3B), *range(0xFF41, 0xFF5B),
                                                0xFF05, 0xFF0E]}
FULL_WIDTH[0x3000] = 0x20

# Answer picking: weight of the sentence's cosine and of a matching question cue, next to word overlap (weight 1);
# a neighbouring sentence within NEIGHBOUR_MARGIN of the best one is shown with it. Measured on CMRC (README).
SEMANTIC_WEIGHT = 0.3
CUE_WEIGHT = 0.1
NEIGHBOUR_MARGIN = 0.1
CHINESE_NUMBER = "零一二三四五六七八九十百千万亿两"
CUES: list[tuple[re.Pattern, re.Pattern]] = [
    (re.compile(r"多少|几|多大|多高|多长|多久|多远|比例|比重|百分之|增长率|数量|规模|金额"),
     re.compile(rf"\d|[{CHINESE_NUMBER}]+[个位名次项家所条座户人元亿万吨亩倍%年]")),
    (re.compile(r"何时|什么时候|哪一?年|哪一?天|几月|几号|日期|时间|时候"),
     re.compile(rf"\d{{2,4}}年|\d{{1,2}}月|[{CHINESE_NUMBER}]+年|[{CHINESE_NUMBER}]+月|世纪|年代|朝")),
    (re.compile(r"谁|哪位|什么人|何人|名字|叫什么"),
     re.compile(r"·|书记|主任|镇长|区长|市长|局长|部长|主席|总理|经理|院长|教授|先生|女士")),
    (re.compile(r"哪些|哪几|包括什么|有什么"), re.compile(r"、|包括|以及|分别")),
    (re.compile(r"哪里|哪儿|在哪|什么地方|何地|何处|位于"), re.compile(r"[省市县区镇村乡路街园洲国]")),
]

# Declining: evidence = logistic(intercept + weights · (coverage, dense standout, retrievers agree)), fitted on
# answerable and unanswerable questions (README) with the intercept set so that 0.5 lets ~98 % of answerable ones
# through; the question is declined below Settings.decline_threshold. All three features are scale-free.
EVIDENCE_INTERCEPT = -3.35
EVIDENCE_WEIGHTS = np.array([5.79, 0.21, 3.13])


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


@dataclass
class Query:
    """A prepared question: its text, vector, terms and the synonyms it brought in."""

    text: str
    vector: np.ndarray
    terms: list[str]
    expansions: list[tuple[str, list[str]]]

    @property
    def search_terms(self) -> list[str]:
        """The question's terms plus the terms of its synonyms."""
        extra = [term for _, others in self.expansions for other in others for term in tokenize(other)]
        return list(dict.fromkeys(self.terms + extra))


@lru_cache(maxsize=1)
def _t2s():
    from opencc import OpenCC

    return OpenCC("t2s")


def normalize_text(text: str) -> str:
    """Fold Traditional characters to Simplified (OpenCC t2s) and full-width digits and letters to ASCII.

    Args:
        text: Any text.

    Returns:
        The normalized text.
    """
    return _t2s().convert(text.translate(FULL_WIDTH))


def prepare_question(question: str, max_chars: int) -> tuple[str, list[str]]:
    """Clean a question, convert it to Simplified Chinese with ASCII digits and letters, and cut it to length.

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
    cleaned = clean_line(normalize_text(" ".join(question.splitlines())))
    if not cleaned:
        raise QAError("请输入问题。The question is empty: type a question, e.g. 2020年全年签约了多少个项目？")
    notices = []
    if len(cleaned) > max_chars:
        cleaned = cleaned[:max_chars]
        notices.append(f"问题过长，只使用了前 {max_chars} 个字。The question was cut to its first {max_chars} characters.")
    return cleaned, notices


def read_synonyms(path: Path) -> list[list[str]]:
    """Read a synonyms file: one group of equivalent terms a line, separated by tabs or commas; ``#`` comments.

    Args:
        path: The file.

    Returns:
        The groups (each with at least two terms), terms normalized like questions.

    Raises:
        QAError: If the file cannot be read.
    """
    try:
        lines = path.read_text(encoding="utf-8-sig").splitlines()
    except (OSError, UnicodeDecodeError) as error:
        raise QAError(f"Cannot read the synonyms file {path} ({error}); fix QA_SYNONYMS_FILE.") from error
    groups = []
    for line in lines:
        line = line.split("#", 1)[0]
        terms = [normalize_text(t.strip()).lower() for t in re.split(r"[\t,，]", line) if t.strip()]
        if len(terms) >= 2:
            groups.append(list(dict.fromkeys(terms)))
    return groups


def expand(text: str, groups: list[list[str]]) -> list[tuple[str, list[str]]]:
    """Find the synonym groups a question uses.

    Args:
        text: The prepared question.
        groups: Synonym groups from :func:`read_synonyms`.

    Returns:
        (the term found in the question, its synonyms) for every group it uses.
    """
    lowered = text.lower()
    found = []
    for group in groups:
        present = [term for term in group if term in lowered]
        if present:
            longest = max(present, key=len)
            found.append((longest, [term for term in group if term not in lowered]))
    return [(term, others) for term, others in found if others]


def min_max(scores: np.ndarray, floor: float = 0.0) -> np.ndarray:
    """Scale scores to 0..1 by their range, or by ``floor`` when the range is smaller (so that differences the
    retriever cannot tell from noise are not blown up to the full scale).

    Args:
        scores: One retriever's scores over the passages.
        floor: The smallest range to divide by.

    Returns:
        The scaled scores (all zeros when they are all equal).
    """
    low, spread = float(scores.min()), max(float(scores.max() - scores.min()), floor)
    return (scores - low) / spread if spread > 0 else np.zeros_like(scores)


def evidence(coverage: float, standout: float, agree: bool) -> float:
    """Combine the retrievers' evidence into a 0..1 score that the question is answered by the top passage.

    Args:
        coverage: The idf-weighted share of the question's terms found in the top hybrid passage.
        standout: How many standard deviations the best cosine lies above the mean cosine over the passages.
        agree: Whether the dense and the sparse retriever put the same passage first.

    Returns:
        The calibrated evidence score.
    """
    z = EVIDENCE_INTERCEPT + float(EVIDENCE_WEIGHTS @ np.array([coverage, standout, float(agree)]))
    return 1.0 / (1.0 + math.exp(-z))


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
        self._idf = self._inverse_document_frequencies()
        self._passage_terms = [set(index_store.passage_terms(p)) for p in index.passages]
        self._passage_texts = [unicodedata.normalize("NFKC", f"{p.title}\n{p.section}\n{p.text}").lower()
                               for p in index.passages]
        self._sentences: dict[int, tuple[list[str], list[set[str]]]] = {}
        self._all_rows = np.arange(len(index.passages))
        rows: dict[str, list[int]] = {}
        for row, passage in enumerate(index.passages):
            rows.setdefault(passage.doc_id, []).append(row)
        titles = {p.doc_id: p.title for p in index.passages}
        self._documents = {doc: (titles[doc], np.array(found)) for doc, found in rows.items()}

    def _inverse_document_frequencies(self) -> dict[str, float]:
        sparse = self.index.sparse
        frequencies = np.diff(np.asarray(sparse.scores["indptr"]))
        total = len(self.index.passages)
        return {term: math.log(1 + (total - frequencies[i] + 0.5) / (frequencies[i] + 0.5))
                for term, i in sparse.vocab_dict.items() if i < len(frequencies)}

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
        return Query(text=text, vector=vector, terms=tokenize(text), expansions=expansions)

    def score(self, query: Query) -> dict[str, np.ndarray]:
        """Score every passage with every retriever.

        Args:
            query: The prepared query.

        Returns:
            ``{"dense": cosines, "sparse": BM25 scores, "hybrid": fused 0..1 scores}``, one value per passage; the
            dense score is the mean of the passage's cosine and its best sentence's cosine.
        """
        count = len(self.index.passages)
        found, ids = self.index.dense.search(query.vector[None, :], min(count, self.settings.dense_candidates))
        valid = ids[0] >= 0
        passage_cosines = np.full(count, float(found[0][valid].min()) if valid.any() else 0.0, dtype=np.float32)
        passage_cosines[ids[0][valid]] = found[0][valid]
        sentence_cosines = self.index.sentence_vectors @ query.vector
        best_sentence = np.maximum.reduceat(sentence_cosines, self.index.sentence_starts[:-1].astype(np.int64))
        dense = (passage_cosines + best_sentence) / 2
        term_ids = self.index.sparse.get_tokens_ids(query.search_terms)
        sparse = self.index.sparse.get_scores_from_ids(term_ids) if term_ids else np.zeros(count, dtype=np.float32)
        weight = self.settings.sparse_weight
        hybrid = weight * min_max(sparse) + (1 - weight) * min_max(dense, self.settings.dense_spread_floor)
        return {"dense": dense, "sparse": np.asarray(sparse, dtype=np.float32), "hybrid": hybrid}

    def coverage(self, query: Query, position: int) -> float:
        """Return the idf-weighted share of the question's terms found in a passage, as terms or as text (so that
        a word jieba cut differently still counts); synonyms of a question's term count for it.

        Args:
            query: The prepared query.
            position: The passage's number in the index.

        Returns:
            A share between 0 and 1 (1 for a question without terms).
        """
        passage_terms, text = self._passage_terms[position], self._passage_texts[position]
        covered = {t for term, others in query.expansions if any(o in text for o in others) for t in tokenize(term)}
        weights = {term: self.idf(term) for term in query.terms}
        total = sum(weights.values())
        if not total:
            return 1.0
        found = passage_terms | covered
        return sum(w for term, w in weights.items() if term in found or term in text) / total

    def judge(self, query: Query, scores: dict[str, np.ndarray], rows: np.ndarray) -> float:
        """Weigh the evidence that the corpus answers the question.

        Args:
            query: The prepared query.
            scores: The retrievers' scores from :meth:`score` for the passages searched.
            rows: The passage numbers those scores belong to.

        Returns:
            The evidence score (0..1) of :func:`evidence`.
        """
        top = int(rows[np.argmax(scores["hybrid"])])
        dense = scores["dense"]
        standout = float((dense.max() - dense.mean()) / dense.std()) if dense.std() > 0 else 0.0
        agree = int(np.argmax(dense)) == int(np.argmax(scores["sparse"]))
        return evidence(self.coverage(query, top), standout, agree)

    def _sentences_of(self, position: int) -> tuple[list[str], list[set[str]]]:
        if position not in self._sentences:
            sentences = index_store.passage_sentences(self.index.passages[position])
            self._sentences[position] = (sentences, [set(tokenize(s)) for s in sentences])
        return self._sentences[position]

    def answer_sentence(self, query: Query, position: int) -> str:
        """Pick the sentence(s) of a passage that answer the question.

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
        scores = self._overlap(query, position, sentence_terms) + SEMANTIC_WEIGHT * cosines
        scores += CUE_WEIGHT * self._cue_matches(query.text, sentences)
        best = int(np.argmax(scores))
        neighbours = [i for i in (best - 1, best + 1) if 0 <= i < len(sentences)]
        close = [i for i in neighbours if scores[i] >= scores[best] - NEIGHBOUR_MARGIN]
        if close:
            nearest = max(close, key=lambda i: scores[i])
            return "".join(sentences[min(best, nearest) : max(best, nearest) + 1])
        return sentences[best]

    def _overlap(self, query: Query, position: int, sentence_terms: list[set[str]]) -> np.ndarray:
        title_terms = set(tokenize(self.index.passages[position].title))
        weights = {}
        for term in set(query.search_terms) - title_terms:
            holding = sum(term in terms for terms in sentence_terms)
            weights[term] = self.idf(term) * (math.log(1 + len(sentence_terms) / holding) if holding else 1.0)
        total = sum(weights.values()) or 1.0
        return np.array([sum(w for term, w in weights.items() if term in terms) / total for terms in sentence_terms])

    @staticmethod
    def _cue_matches(question: str, sentences: list[str]) -> np.ndarray:
        wanted = [pattern for cue, pattern in CUES if cue.search(question)]
        return np.array([float(any(p.search(s) for p in wanted)) for s in sentences])


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
