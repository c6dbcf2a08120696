"""The trace of one search: what the analyzer made of the question, how each shown passage was scored, and each
answerability check's verdict (``qa ask --explain``, the chat's 为什么是这段？, ``benchmarks/calibrate.py``)."""

from __future__ import annotations

from dataclasses import dataclass, field

from qa.reader import Reading
from qa.search.checks import Verdict


@dataclass(frozen=True)
class PassageTrace:
    """Why one passage ranks where it does."""

    passage_id: str
    rank: int
    matched_terms: list[str]
    dense: float
    sparse: float
    shares: dict[str, float]
    fused: float
    reading: Reading | None = None

    def to_dict(self) -> dict:
        """The passage's scores for a trace."""
        found = {"rank": self.rank, "passage_id": self.passage_id, "matched_terms": self.matched_terms,
                 "dense_cosine": round(self.dense, 4), "bm25": round(self.sparse, 4),
                 "shares": {name: round(value, 4) for name, value in self.shares.items()},
                 "fused": round(self.fused, 4)}
        if self.reading is not None:
            found["reader"] = {"probability": round(self.reading.probability, 4),
                               "answer_logit": round(self.reading.answer_logit, 3),
                               "span_margin": round(self.reading.span_margin, 3),
                               "short_answer": self.reading.short_answer}
        return found


@dataclass
class Trace:
    """The decision path of one search."""

    query: dict
    retriever: str
    passages: list[PassageTrace] = field(default_factory=list)
    checks: list[Verdict] = field(default_factory=list)
    features: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        """The trace as JSON-ready data (the ``"trace"`` of ``qa ask --explain --json``)."""
        return {"query": self.query, "retriever": self.retriever,
                "passages": [p.to_dict() for p in self.passages], "checks": [c.to_dict() for c in self.checks],
                "features": self.features}

    def verdict(self, name: str) -> Verdict | None:
        """The verdict of the check of that name, if it ran."""
        return next((check for check in self.checks if check.name == name), None)
