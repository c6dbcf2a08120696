"""The records reading and chunking produce: a passage, a document (cleaned lines) and a corpus."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

from qa.documents.context import context_text


@dataclass(frozen=True)
class Passage:
    """The unit that is embedded, retrieved and shown."""

    passage_id: str
    doc_id: str
    title: str
    section: str
    text: str
    position: int

    @property
    def context(self) -> str:
        """Its document context: title, section and the years the section means (:func:`context_text`)."""
        return context_text(self.title, self.section)

    def to_dict(self) -> dict:
        """Return the passage as a plain dict (the on-disk and JSON form).

        Returns:
            A dict with the passage's fields.
        """
        return asdict(self)


@dataclass
class Document:
    """A document as cleaned lines, before chunking."""

    doc_id: str
    title: str
    lines: list[str] = field(default_factory=list)


@dataclass
class Corpus:
    """What was read from a corpus folder: documents, their passages, and the files that were skipped."""

    documents: list[Document]
    passages: list[Passage]
    skipped: list[tuple[str, str]]
