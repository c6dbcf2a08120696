"""qa — question answering over local Chinese documents.

``from qa import QA``: :meth:`QA.open` loads (or builds) an index, :meth:`QA.ask` answers; errors are
:class:`QAError` and its subclasses (:mod:`qa.errors`).
"""

from qa.errors import BadQuestion, IndexUnavailable, ModelUnavailable, QAError

__all__ = ["QA", "BadQuestion", "IndexUnavailable", "ModelUnavailable", "QAError"]


def __getattr__(name: str):
    """Import the front door on first use, so ``import qa.errors`` stays light."""
    if name == "QA":
        from qa.api import QA

        return QA
    raise AttributeError(f"module 'qa' has no attribute {name!r}")
