"""People's verdicts on replies, and what they become.

Modules: :mod:`~qa.feedback.store` (the feedback file: one JSON line per verdict, appended under a file lock, read
with corrupt lines reported and skipped), :mod:`~qa.feedback.export` (verdicts → a question set for ``qa eval``)
and :mod:`~qa.feedback.stats` (counts and the share of 👍 per ISO week). The web chat writes through ``store`` only;
``export`` reads the index's passages and the evaluation's question format.
"""

from qa.feedback.store import (
    DOWN,
    NOT_IN_DOCUMENTS,
    UP,
    VERDICTS,
    WITHDRAWN,
    FeedbackFile,
    append,
    card_of,
    check_record,
    describe_shown,
    make_record,
    new_reply_id,
    parse_correction,
    read,
)

__all__ = ["DOWN", "NOT_IN_DOCUMENTS", "UP", "VERDICTS", "WITHDRAWN", "FeedbackFile", "append", "card_of",
           "check_record", "describe_shown", "make_record", "new_reply_id", "parse_correction", "read"]
