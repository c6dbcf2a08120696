"""Search over an index, as named parts that :class:`Searcher` runs in order:

1. :mod:`~qa.search.question` prepares the question (OpenCC, full width, length) and
   :mod:`~qa.search.analyzer` analyzes it once (:class:`Query`: vector, terms, synonyms from
   :mod:`~qa.search.wordlists`, what it asks for from :mod:`~qa.search.asked`);
2. :mod:`~qa.search.scorers` scores every passage — dense (cosine), sparse (BM25 over jieba terms) and the document
   context channel (:mod:`~qa.search.context`) — and fuses them into the hybrid score;
3. :mod:`~qa.search.answers` picks each hit's answering sentence;
4. :mod:`~qa.search.checks` judges answerability, each check a named :class:`Verdict`;
5. :mod:`~qa.search.trace` records all of it; :mod:`~qa.search.result` holds the :class:`Answer`.
"""

from qa.search.analyzer import Query, QueryAnalyzer
from qa.search.checks import Verdict
from qa.search.question import normalize_text, prepare_question
from qa.search.result import Answer, Hit
from qa.search.scorers import Scores
from qa.search.searcher import Searcher
from qa.search.trace import Trace
from qa.search.wordlists import SYNONYMS_FILE, SynonymGroup, read_synonyms

__all__ = ["SYNONYMS_FILE", "Answer", "Hit", "Query", "QueryAnalyzer", "Scores", "Searcher", "SynonymGroup", "Trace",
           "Verdict", "normalize_text", "prepare_question", "read_synonyms"]
