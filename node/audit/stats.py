"""Cooperation figures computed from the audit trail (``spoor stats``).

Per counterpart and period:

* matching: requests sent (``match.requested``) with their elements and hits,
  requests received (``match.served``) with their elements, and refusals
  (``match.refused``);
* disclosures this node asked for (``disclosure.requested``) and how the
  counterpart answered at the time (released / denied / pending items);
* disclosures the counterpart asked of this node (``disclosure.received``) and
  this node's decisions on their items: the policy's (``disclosure.decided``)
  plus legal officers' final approvals and refusals of pending tickets
  (``disclosure.approved`` / ``disclosure.refused``; an approval that still
  awaits a second officer is not a decision), with the median and 90th
  percentile of the time each ticket waited for its decision;
* overdue tickets: from the disclosure ``tickets`` table when it exists
  (pending past deadline, now); otherwise the ``overdue`` counts on
  ``disclosure.decided`` entries in the period.
"""

from __future__ import annotations

import json
import math
import statistics
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from node.audit.chain import format_ts
from node.store import audit as repo
from node.store import tickets as tickets_repo
from node.store.backend import Connection, Row

UNKNOWN_COUNTERPART = "(none)"
PENDING_STATUSES = frozenset({"pending", "pending_approval", "open", "reopened"})


@dataclass
class CounterpartStats:
    """Figures for one counterpart (or the total over all of them)."""

    counterpart: str
    requests_sent: int = 0
    requests_received: int = 0
    requests_refused: int = 0
    elements_sent: int = 0
    elements_received: int = 0
    hits: int = 0
    disclosures_requested: int = 0
    requested_released: int = 0
    requested_denied: int = 0
    requested_pending: int = 0
    disclosures_received: int = 0
    released: int = 0
    denied: int = 0
    pending: int = 0
    overdue: int = 0
    decision_seconds: list[float] = field(default_factory=list)

    @property
    def median_decision_seconds(self) -> float | None:
        return statistics.median(self.decision_seconds) if self.decision_seconds else None

    @property
    def p90_decision_seconds(self) -> float | None:
        return percentile(self.decision_seconds, 0.9)

    def to_dict(self) -> dict[str, Any]:
        return {
            "counterpart": self.counterpart,
            "requests_sent": self.requests_sent,
            "requests_received": self.requests_received,
            "requests_refused": self.requests_refused,
            "elements_sent": self.elements_sent,
            "elements_received": self.elements_received,
            "hits": self.hits,
            "disclosures_requested": self.disclosures_requested,
            "requested_released": self.requested_released,
            "requested_denied": self.requested_denied,
            "requested_pending": self.requested_pending,
            "disclosures_received": self.disclosures_received,
            "released": self.released,
            "denied": self.denied,
            "pending": self.pending,
            "overdue": self.overdue,
            "decisions": len(self.decision_seconds),
            "median_decision_seconds": self.median_decision_seconds,
            "p90_decision_seconds": self.p90_decision_seconds,
        }

    def absorb(self, other: CounterpartStats) -> None:
        for name in (
            "requests_sent",
            "requests_received",
            "requests_refused",
            "elements_sent",
            "elements_received",
            "hits",
            "disclosures_requested",
            "requested_released",
            "requested_denied",
            "requested_pending",
            "disclosures_received",
            "released",
            "denied",
            "pending",
            "overdue",
        ):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.decision_seconds.extend(other.decision_seconds)


@dataclass
class StatsReport:
    """Figures per counterpart plus the total, for the period [since, until)."""

    since: str | None
    until: str | None
    generated_at: str
    overdue_source: str
    counterparts: list[CounterpartStats]
    total: CounterpartStats

    def to_dict(self) -> dict[str, Any]:
        return {
            "period": {"since": self.since, "until": self.until},
            "generated_at": self.generated_at,
            "overdue_source": self.overdue_source,
            "counterparts": [c.to_dict() for c in self.counterparts],
            "total": self.total.to_dict(),
        }


def percentile(values: list[float], fraction: float) -> float | None:
    """Linear-interpolated percentile (the same rule as numpy's default)."""
    if not values:
        return None
    ordered = sorted(values)
    rank = (len(ordered) - 1) * fraction
    low, high = math.floor(rank), math.ceil(rank)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def _int(value: object) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def _apply(stats: CounterpartStats, event: str, row: Row, details: dict[str, Any]) -> None:
    if event.startswith("match."):
        _apply_match(stats, event, _int(row["elements"]), _int(row["hits"]))
    elif event in ("disclosure.approved", "disclosure.refused", "ticket.reopened"):
        _apply_officer_decision(stats, event, details)
    elif event == "disclosure.requested":
        stats.disclosures_requested += 1
        stats.requested_released += _int(details.get("released"))
        stats.requested_denied += _int(details.get("denied"))
        stats.requested_pending += _int(details.get("pending"))
    elif event == "disclosure.received":
        stats.disclosures_received += 1
    elif event == "disclosure.decided" and details.get("side") == "requester":
        # A counterpart's officers decided items we asked for and were waiting on.
        released = _int(details.get("released_after_approval"))
        denied = _int(details.get("denied_after_approval"))
        stats.requested_released += released
        stats.requested_denied += denied
        stats.requested_pending -= released + denied
    elif event == "disclosure.decided":
        stats.released += _int(details.get("released"))
        stats.denied += _int(details.get("denied"))
        stats.pending += _int(details.get("pending"))
        stats.overdue += _int(details.get("overdue"))


def _apply_match(stats: CounterpartStats, event: str, elements: int, hits: int) -> None:
    if event == "match.requested":
        stats.requests_sent += 1
        stats.elements_sent += elements
        stats.hits += hits
    elif event == "match.served":
        stats.requests_received += 1
        stats.elements_received += elements
    elif event == "match.refused":
        stats.requests_refused += 1


def _apply_officer_decision(stats: CounterpartStats, event: str, details: dict[str, Any]) -> None:
    # One ticket may answer several items (keys reaching the same record); the
    # decision moves all of them.
    items = details.get("items", 1)
    count = items if isinstance(items, int) and not isinstance(items, bool) and items > 0 else 1
    if event == "ticket.reopened":
        stats.pending += count
        previous = str(details.get("previous_status", "")).lower()
        if previous == "approved":
            stats.released -= count
        elif previous in ("denied", "refused"):
            stats.denied -= count
        return
    if details.get("final") is False:  # one approval of two: not yet a decision
        return
    if event == "disclosure.approved":
        stats.released += count
    else:
        stats.denied += count
    stats.pending -= count
    waited = details.get("waited_seconds")
    if isinstance(waited, int | float) and not isinstance(waited, bool) and waited >= 0:
        stats.decision_seconds.append(float(waited))


def _parse_deadline(value: object) -> datetime | None:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return datetime.fromtimestamp(value, UTC)
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            return None
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    return None


def overdue_from_tickets(conn: Connection, now: datetime) -> dict[str, int] | None:
    """Tickets awaiting a decision past their deadline per counterpart; None with no tickets.

    A node that never received a disclosure request holds no tickets; its
    overdue counts then come from the ``disclosure.decided`` entries.
    """
    rows = tickets_repo.statuses(conn)
    if not rows:
        return None
    out: dict[str, int] = {}
    for row in rows:
        if str(row["status"]).lower() not in PENDING_STATUSES:
            continue
        due = _parse_deadline(row["deadline"])
        if due is not None and due < now:
            key = str(row["counterpart"]) if row["counterpart"] else UNKNOWN_COUNTERPART
            out[key] = out.get(key, 0) + 1
    return out


def compute_stats(
    conn: Connection,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    counterpart: str | None = None,
    now: datetime | None = None,
) -> StatsReport:
    """Cooperation figures for entries with ``since <= ts < until``."""
    moment = now or datetime.now(UTC)
    by_counterpart: dict[str, CounterpartStats] = {}
    window = (format_ts(since) if since else None, format_ts(until) if until else None)
    for row in repo.entries(conn, *window, counterpart):
        name = row["counterpart"] or UNKNOWN_COUNTERPART
        stats = by_counterpart.setdefault(name, CounterpartStats(name))
        try:
            details = json.loads(row["details"])
        except (TypeError, ValueError):
            details = {}
        _apply(stats, str(row["event"]), row, details if isinstance(details, dict) else {})
    tickets = overdue_from_tickets(conn, moment)
    if tickets is not None:
        for stats in by_counterpart.values():
            stats.overdue = 0
        for name, count in tickets.items():
            if counterpart is None or name == counterpart:
                by_counterpart.setdefault(name, CounterpartStats(name)).overdue = count
    for stats in by_counterpart.values():  # decisions on items asked before the period
        stats.pending = max(stats.pending, 0)
        stats.released = max(stats.released, 0)
        stats.denied = max(stats.denied, 0)
        stats.requested_pending = max(stats.requested_pending, 0)
    rows = [s for s in sorted(by_counterpart.values(), key=lambda s: s.counterpart) if _relevant(s)]
    total = CounterpartStats("all counterparts")
    for stats in rows:
        total.absorb(stats)
    return StatsReport(
        since=format_ts(since) if since else None,
        until=format_ts(until) if until else None,
        generated_at=format_ts(moment),
        overdue_source="tickets table" if tickets is not None else "audit entries",
        counterparts=rows,
        total=total,
    )


def _relevant(stats: CounterpartStats) -> bool:
    """Rows for node-level events only (imports, policy loads) carry no cooperation figure."""
    data = stats.to_dict()
    return any(v for k, v in data.items() if k != "counterpart" and isinstance(v, int))
