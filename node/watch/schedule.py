"""How often a watchlist runs: ``30m``, ``6h``, ``24h``, ``7d``."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

from node.errors import InvalidRequest

_EVERY = re.compile(r"^\s*(\d{1,4})\s*([mhd])\s*$")
_UNIT = {"m": 60, "h": 3600, "d": 86400}
#: Re-matching more often than this buys nothing but budget spent.
MIN_EVERY_S = 15 * 60
MAX_EVERY_S = 90 * 86400


def parse_every(text: str) -> int:
    """Seconds between runs; raises :class:`InvalidRequest` naming ``every``."""
    m = _EVERY.match(text or "")
    if m is None:
        raise InvalidRequest("every", f"{text!r} is not a period: write e.g. 30m, 6h, 24h or 7d")
    seconds = int(m.group(1)) * _UNIT[m.group(2)]
    if not MIN_EVERY_S <= seconds <= MAX_EVERY_S:
        raise InvalidRequest("every", f"{text!r} is outside 15m to 90d")
    return seconds


def show_every(seconds: int) -> str:
    """The period as people write it (``24h`` for a day, ``7d`` for a week)."""
    if seconds % 86400 == 0 and seconds > 86400:
        return f"{seconds // 86400}d"
    if seconds % 3600 == 0:
        return f"{seconds // 3600}h"
    return f"{seconds // 60}m"


def next_run(last: datetime | None, every_s: int, now: datetime) -> datetime:
    """When a watchlist is next due: now if it never ran, else one period after its last run."""
    return now if last is None else last + timedelta(seconds=every_s)
