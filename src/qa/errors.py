"""The errors ``qa`` raises: each message says what is wrong and what to do.

Catch :class:`QAError` for all of them, or one of its subclasses for a particular cause.
"""


class QAError(Exception):
    """An error the user can fix; its message says what is wrong and what to do."""


class BadQuestion(QAError):
    """The question cannot be asked (empty, not text) or names no document of the index."""


class IndexUnavailable(QAError):
    """The index is missing, broken, stale beyond use or built with another model."""


class ModelUnavailable(QAError):
    """The embedding model (or the reader) cannot be found, provisioned or loaded."""
