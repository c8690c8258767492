"""The one way the store writes a moment: UTC, ISO 8601 with its offset.

``2026-12-01T19:35:19.123456+00:00`` — fixed width, so text order equals time
order in SQL. Older homes hold two other forms (``...T19:35:19Z`` and
``...T19:35:19.123456Z`` from the audit trail, ``...T19:35:19+00:00`` from
officers, peers and records); :func:`parse_ts` reads all of them, and a
stored text is never rewritten (audit entries hash their own timestamp).
"""

from __future__ import annotations

from datetime import UTC, datetime


def format_ts(moment: datetime) -> str:
    """Fixed-width UTC text with offset for an aware ``moment``."""
    if moment.tzinfo is None:
        raise ValueError("stored timestamps must be timezone-aware")
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


def parse_ts(text: str) -> datetime:
    """Read any timestamp the store ever wrote (a text without a zone is UTC)."""
    moment = datetime.fromisoformat(text.strip())
    return moment.astimezone(UTC) if moment.tzinfo else moment.replace(tzinfo=UTC)


def now_ts() -> str:
    """The current moment as stored text."""
    return format_ts(datetime.now(UTC))


def day_of(moment: datetime) -> str:
    """The UTC calendar day of ``moment`` (``YYYY-MM-DD``), as used for periods and review dates."""
    return moment.astimezone(UTC).strftime("%Y-%m-%d")
