"""What a search returns: the :class:`Answer` with its ranked :class:`Hit` s (the ``qa ask --json`` contract,
docs/contracts.md)."""

from __future__ import annotations

from dataclasses import dataclass, field

from qa.documents import Passage
from qa.search.trace import Trace

SURE = 0.5  # an answer with less confidence is offered as a guess (可能是…，把握较低)


@dataclass
class Hit:
    """One retrieved passage with its score, answering sentence(s) and the exact answer span inside them."""

    passage: Passage
    score: float
    answer: str
    short_answer: str = ""


@dataclass
class Answer:
    """The system's reply to one question."""

    question: str
    answerable: bool
    hits: list[Hit]
    notices: list[str] = field(default_factory=list)
    confidence: float = 1.0
    trace: Trace | None = None

    @property
    def sure(self) -> bool:
        """Whether the answer is confident enough to be stated, not only offered (:data:`SURE`)."""
        return self.answerable and self.confidence >= SURE

    def to_dict(self, explain: bool = False) -> dict:
        """Return the reply in the ``qa ask --json`` contract (docs/contracts.md).

        Args:
            explain: Add the search's ``"trace"``.

        Returns:
            ``{"question", "answerable", "confidence", "results": [{"rank", "score", "doc_id", "passage_id",
            "title", "section", "text", "answer", "short_answer"}]}`` (and ``"trace"``).
        """
        reply = {
            "question": self.question,
            "answerable": self.answerable,
            "confidence": round(self.confidence, 4),
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
                    "short_answer": hit.short_answer,
                }
                for rank, hit in enumerate(self.hits, 1)
            ],
        }
        if explain and self.trace is not None:
            reply["trace"] = self.trace.to_dict()
        return reply
