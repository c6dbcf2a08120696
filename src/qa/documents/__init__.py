"""Reading documents and cutting them into passages.

Supported: ``.txt``/``.md`` in any common encoding, ``.docx``, ``.pdf``, ``.html`` and BEIR ``corpus.jsonl``.
Every reader turns a file into lines (a marked title comes as a ``# `` line, headings as ``## `` lines); one chunker
then rebuilds paragraphs that a line or page break cut, finds headings and captions, and splits long
paragraphs at sentence ends.

Modules: :mod:`~qa.documents.passage` (the :class:`Passage`, :class:`Document` and :class:`Corpus` records),
:mod:`~qa.documents.context` (a passage's document context: title, section and the years a dated heading means),
:mod:`~qa.documents.text` (cleaning a line, sentences, search terms), :mod:`~qa.documents.readers` (encodings and
the file readers), :mod:`~qa.documents.cleaning` (rejoining broken lines, boilerplate), :mod:`~qa.documents.chunking`
(headings, splitting, passage ids) and :mod:`~qa.documents.corpus` (a corpus folder and its fingerprint).
"""

from qa.documents.chunking import chunk, passage_id, split_long
from qa.documents.cleaning import is_boilerplate, merge_broken_lines
from qa.documents.context import YEAR, context_text, resolved_years
from qa.documents.corpus import corpus_files, fingerprint, load_corpus
from qa.documents.passage import Corpus, Document, Passage
from qa.documents.readers import (
    BEIR_CORPUS,
    SUFFIXES,
    TEXT_SUFFIXES,
    decode_bytes,
    json_lines,
    read_beir_corpus,
    read_file,
)
from qa.documents.text import clean_line, split_sentences, tokenize

__all__ = [
    "BEIR_CORPUS", "SUFFIXES", "TEXT_SUFFIXES", "YEAR", "Corpus", "Document", "Passage", "chunk", "clean_line", "context_text",
    "corpus_files",
    "decode_bytes", "fingerprint", "is_boilerplate", "json_lines", "load_corpus", "merge_broken_lines", "passage_id",
    "read_beir_corpus", "read_file", "resolved_years", "split_long", "split_sentences", "tokenize",
]
