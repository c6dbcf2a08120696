"""What the searcher knows about the indexed corpus beyond the indexes themselves: term idf and postings, each
passage's terms, text and sentences, and which passages belong to which document."""

from __future__ import annotations

import math
import unicodedata
from collections.abc import Sequence

import numpy as np

from qa import index as index_store
from qa.documents import tokenize
from qa.errors import BadQuestion


class CorpusStats:
    """Statistics of one loaded index, computed once when the searcher is made."""

    def __init__(self, index: index_store.Index):
        """Read the statistics off an index.

        Args:
            index: The loaded index (with its BM25 part).
        """
        self.index = index
        self.count = len(index.passages)
        self._idf = self._inverse_document_frequencies()
        self.passage_terms = [set(index_store.passage_terms(p)) for p in index.passages]
        self.passage_texts = [unicodedata.normalize("NFKC", f"{p.context}\n{p.text}").lower() for p in index.passages]
        self._sentences: dict[int, tuple[list[str], list[set[str]]]] = {}
        self.all_rows = np.arange(self.count)
        rows: dict[str, list[int]] = {}
        for row, passage in enumerate(index.passages):
            rows.setdefault(passage.doc_id, []).append(row)
        titles = {p.doc_id: p.title for p in index.passages}
        self._documents = {doc: (titles[doc], np.array(found)) for doc, found in rows.items()}

    def _inverse_document_frequencies(self) -> dict[str, float]:
        sparse = self.index.sparse
        frequencies = np.diff(np.asarray(sparse.scores["indptr"]))
        return {term: math.log(1 + (self.count - frequencies[i] + 0.5) / (frequencies[i] + 0.5))
                for term, i in sparse.vocab_dict.items() if i < len(frequencies)}

    def idf(self, term: str) -> float:
        """Return a term's inverse document frequency in the corpus (highest for unknown terms).

        Args:
            term: A term from :func:`qa.documents.tokenize`.

        Returns:
            The BM25 idf.
        """
        found = self._idf.get(term)
        return found if found is not None else math.log(1 + (self.count + 0.5) / 0.5)

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

    def sentences_of(self, position: int) -> tuple[list[str], list[set[str]]]:
        """Return a passage's sentences and the terms of each (remembered after the first call).

        Args:
            position: The passage's number in the index.

        Returns:
            The sentences, verbatim, and their term sets.
        """
        if position not in self._sentences:
            sentences = index_store.passage_sentences(self.index.passages[position])
            self._sentences[position] = (sentences, [set(tokenize(s)) for s in sentences])
        return self._sentences[position]

    def documents(self) -> list[tuple[str, str]]:
        """List the indexed documents.

        Returns:
            (doc_id, title) pairs in index order.
        """
        return [(doc, title) for doc, (title, _) in self._documents.items()]

    def document_rows(self, docs: Sequence[str] | None) -> np.ndarray:
        """Return the passage numbers of the documents a filter names.

        A name matches a document whose id (file path) or title equals it or contains it, case-insensitively,
        e.g. ``jincheng``, ``2024`` or ``state-council-work-report-2023.txt``.

        Args:
            docs: Document names; empty or None for all documents.

        Returns:
            The passage numbers, in index order.

        Raises:
            BadQuestion: If no document matches.
        """
        wanted = [name.strip().lower() for name in docs or [] if name and name.strip()]
        if not wanted:
            return self.all_rows
        matched = [doc for doc, (title, _) in self._documents.items()
                   if any(name in doc.lower() or name in title.lower() for name in wanted)]
        if not matched:
            known = "; ".join(f"{doc} ({title})" for doc, (title, _) in self._documents.items())
            raise BadQuestion(f"No document matches {', '.join(docs)}. The index holds: {known}")
        return np.sort(np.concatenate([self._documents[doc][1] for doc in matched]))
