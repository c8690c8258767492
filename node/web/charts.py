"""Cooperation over time as server-rendered SVG, from the figures ``spoor stats`` computes."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from node.audit import compute_stats
from node.store import Connection

SERIES = (
    ("requests_received", "Match requests received"),
    ("hits", "Hits"),
    ("released", "Records released"),
    ("denied", "Records refused"),
    ("decisions", "Officer decisions"),
)
WIDTH, HEIGHT, PAD = 720, 240, 36


@dataclass(frozen=True)
class Bucket:
    """One period's figures (all counterparts, or one)."""

    start: datetime
    values: dict[str, int]


def buckets(
    conn: Connection,
    *,
    days: int = 14,
    counterpart: str | None = None,
    now: datetime | None = None,
) -> list[Bucket]:
    """One bucket per day, oldest first; each from :func:`node.audit.compute_stats`."""
    end = (now or datetime.now(UTC)).replace(hour=0, minute=0, second=0, microsecond=0)
    end += timedelta(days=1)
    out = []
    for i in range(days, 0, -1):
        start = end - timedelta(days=i)
        report = compute_stats(
            conn, since=start, until=start + timedelta(days=1), counterpart=counterpart, now=now
        )
        totals = report.total.to_dict()
        out.append(Bucket(start, {key: int(totals.get(key) or 0) for key, _ in SERIES}))
    return out


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    value: int
    label: str


def bars(series: list[Bucket], key: str) -> tuple[list[Bar], int]:
    """Bars for one series scaled to the chart, and the scale's top value."""
    top = max([b.values[key] for b in series] + [1])
    step = (WIDTH - 2 * PAD) / max(len(series), 1)
    out = []
    for i, bucket in enumerate(series):
        value = bucket.values[key]
        height = (HEIGHT - 2 * PAD) * value / top
        out.append(
            Bar(
                x=PAD + i * step + step * 0.15,
                y=HEIGHT - PAD - height,
                width=step * 0.7,
                height=height,
                value=value,
                label=bucket.start.strftime("%m-%d"),
            )
        )
    return out, top
