"""Counting verdicts per ISO week: how many replies were judged and the share of 👍."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from qa.feedback.store import UP, FeedbackFile


@dataclass
class WeekCounts:
    """The verdicts of one ISO week (a reply counts in the week of its last verdict)."""

    week: str
    up: int = 0
    down: int = 0
    corrections: int = 0

    @property
    def verdicts(self) -> int:
        """All 👍 and 👎 of the week."""
        return self.up + self.down

    @property
    def share_up(self) -> float:
        """The share of 👍 (0..1)."""
        return self.up / self.verdicts if self.verdicts else 0.0


def iso_week(time: str) -> str:
    """Return the ISO week of a stored time.

    Args:
        time: An ISO 8601 time, e.g. ``2026-01-05T08:30:00+00:00``.

    Returns:
        E.g. ``2026-W02``.
    """
    year, week, _ = datetime.fromisoformat(time).isocalendar()
    return f"{year}-W{week:02d}"


def weekly(feedback: FeedbackFile) -> list[WeekCounts]:
    """Count the last verdict of each reply per ISO week.

    Args:
        feedback: The read feedback file.

    Returns:
        One row per week that has verdicts, oldest first.
    """
    weeks: dict[str, WeekCounts] = {}
    for _, record in feedback.latest():
        week = iso_week(record["time"])
        counts = weeks.setdefault(week, WeekCounts(week))
        if record["verdict"] == UP:
            counts.up += 1
        else:
            counts.down += 1
            counts.corrections += record.get("correction") is not None
    return [weeks[week] for week in sorted(weeks)]
