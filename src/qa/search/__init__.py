"""Retrieval over an index: finding the passages that answer a question and the sentence that answers.

Three retrievers share one scoring pass: ``dense`` (cosine of m3e/sentence-transformers vectors; a passage is
embedded with its document title and section, see :func:`qa.index.passage_embedding_text`), ``sparse`` (BM25 over
jieba terms of title, section and text, with domain synonyms added to the question) and ``hybrid`` (the default):
both score lists are min-max normalized over the corpus and summed with the weight ``Settings.sparse_weight``, and
a document-context channel (the question's terms found in a passage's title or section) is added with
``Settings.context_weight``, so that a question naming a place, body or year prefers that document.

Modules: :mod:`~qa.search.query` (question normalization: OpenCC, full width, synonyms), :mod:`~qa.search.scoring`
(normalization, context channel, evidence for declining), :mod:`~qa.search.answers` (answer sentences),
:mod:`~qa.search.searcher` (the :class:`Searcher` and :func:`open_searcher`, the one entry point the command line,
the web chat and the evaluation use).
"""

from qa.search.query import SYNONYMS_FILE, Query, expand, normalize_text, prepare_question, read_synonyms
from qa.search.scoring import ContextIndex, evidence, min_max
from qa.search.searcher import Answer, Hit, Searcher, open_searcher

__all__ = ["SYNONYMS_FILE", "Answer", "ContextIndex", "Hit", "Query", "Searcher", "evidence", "expand", "min_max",
           "normalize_text", "open_searcher", "prepare_question", "read_synonyms"]
