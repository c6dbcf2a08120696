"""The query analyzer: everything about a question that the scorers, checks and answer picker use, computed once."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from qa.documents import tokenize
from qa.embedding import Encoder
from qa.search.asked import Asked, asked_by
from qa.search.wordlists import (COLLOQUIAL_FILE, FRAMES_FILE, SYNONYMS_FILE, expand, framing_terms, read_synonyms,
                                 read_words)


@dataclass
class Query:
    """A prepared question: its text, vector and terms, the synonyms it is searched with, the official words for its
    everyday words (which tell whether a passage answers it, but are not searched), the terms that only frame it and
    what it asks for."""

    text: str
    vector: np.ndarray
    terms: list[str]
    expansions: list[tuple[str, list[str]]]
    everyday: list[tuple[str, list[str]]] = field(default_factory=list)
    frames: frozenset[str] = frozenset()
    asked: Asked = field(default_factory=lambda: asked_by(""))

    @property
    def search_terms(self) -> list[str]:
        """The question's terms plus the terms of its synonyms."""
        extra = [term for _, others in self.expansions for other in others for term in tokenize(other)]
        return list(dict.fromkeys(self.terms + extra))

    def to_dict(self) -> dict:
        """What the analyzer made of the question, for a trace."""
        return {"text": self.text, "terms": self.terms, "search_terms": self.search_terms,
                "synonyms": dict(self.expansions), "everyday": dict(self.everyday), "framing": sorted(self.frames),
                "asks_for": self.asked.to_dict()}


class QueryAnalyzer:
    """Turns a prepared question into a :class:`Query` with the model and the word lists."""

    def __init__(self, encoder: Encoder, synonyms_file: Path | None = None):
        """Read the word lists.

        Args:
            encoder: The index's embedding model.
            synonyms_file: A user synonyms file searched besides the built-in one.

        Raises:
            QAError: If a word list cannot be read or has a malformed line.
        """
        self.encoder = encoder
        self.synonyms = read_synonyms(SYNONYMS_FILE) + (read_synonyms(synonyms_file) if synonyms_file else [])
        self.everyday = read_synonyms(COLLOQUIAL_FILE)
        self.frames = read_words(FRAMES_FILE)

    def analyze(self, text: str) -> Query:
        """Embed a prepared question (with the synonyms it uses) and cut it into terms.

        Args:
            text: A question from :func:`qa.search.question.prepare_question`.

        Returns:
            The query.
        """
        expansions = expand(text, self.synonyms)
        extra = "、".join(other for _, others in expansions for other in others)
        vector = self.encoder.encode_queries([f"{text}（{extra}）" if extra else text])[0]
        terms = tokenize(text)
        return Query(text=text, vector=vector, terms=terms, expansions=expansions,
                     everyday=expand(text, self.everyday), frames=framing_terms(text, terms, self.frames),
                     asked=asked_by(text))
