"""The watchlists repository: standing watchlists, their runs and their hits.

The tables come from migration 0004 (:mod:`node.store.migrations.m0003_watchlists`).
A watchlist keeps its validated rows as record JSON, so a moved or edited
source file changes nothing.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime

from node.store.backend import Connection, Row


def stamp(moment: datetime | None = None) -> str:
    """The store's timestamp form (UTC, seconds, with offset)."""
    return (moment or datetime.now(UTC)).astimezone(UTC).isoformat(timespec="seconds")


@dataclass(frozen=True)
class Watchlist:
    """One standing watchlist as stored."""

    watch_id: str
    source: str
    rows: list[dict[str, object]]
    peers: list[str]
    every_s: int
    purpose: str
    legal_bases: dict[str, str]
    case_reference: str
    officer: str
    webhook_url: str | None
    created_at: str
    last_run_at: str | None


@dataclass(frozen=True)
class WatchHit:
    """A hit of a watchlist: which of its rows a counterpart holds, on which key type."""

    watch_id: str
    peer: str
    record_id: str
    key_type: str
    match_id: str
    found_at: str
    case_reference: str = ""

    def as_dict(self) -> dict[str, str]:
        return {
            "watch_id": self.watch_id,
            "counterpart": self.peer,
            "record_id": self.record_id,
            "key_type": self.key_type,
            "match_id": self.match_id,
            "found_at": self.found_at,
            "case_reference": self.case_reference,
        }


def _watch(r: Row) -> Watchlist:
    return Watchlist(
        watch_id=str(r["watch_id"]),
        source=str(r["source"]),
        rows=json.loads(r["rows_json"]),
        peers=json.loads(r["peers_json"]),
        every_s=int(r["every_s"]),
        purpose=str(r["purpose"]),
        legal_bases=json.loads(r["legal_basis_json"]),
        case_reference=str(r["case_reference"]),
        officer=str(r["officer"]),
        webhook_url=r["webhook_url"],
        created_at=str(r["created_at"]),
        last_run_at=r["last_run_at"],
    )


def add(conn: Connection, w: Watchlist) -> None:
    conn.execute(
        "INSERT INTO watchlists(watch_id, source, rows_json, peers_json, every_s, purpose, "
        "legal_basis_json, case_reference, officer, webhook_url, created_at, last_run_at) "
        "VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
        (
            w.watch_id,
            w.source,
            json.dumps(w.rows, ensure_ascii=False),
            json.dumps(w.peers),
            w.every_s,
            w.purpose,
            json.dumps(w.legal_bases, ensure_ascii=False),
            w.case_reference,
            w.officer,
            w.webhook_url,
            w.created_at,
            w.last_run_at,
        ),
    )


def get(conn: Connection, watch_id: str) -> Watchlist | None:
    r = conn.execute("SELECT * FROM watchlists WHERE watch_id=?", (watch_id,)).fetchone()
    return _watch(r) if r else None


def all_watchlists(conn: Connection) -> list[Watchlist]:
    return [_watch(r) for r in conn.execute("SELECT * FROM watchlists ORDER BY created_at")]


def remove(conn: Connection, watch_id: str) -> bool:
    conn.execute("DELETE FROM watch_hits WHERE watch_id=?", (watch_id,))
    conn.execute("DELETE FROM watch_runs WHERE watch_id=?", (watch_id,))
    return int(conn.execute("DELETE FROM watchlists WHERE watch_id=?", (watch_id,)).rowcount) > 0


def set_last_run(conn: Connection, watch_id: str, at: str) -> None:
    conn.execute("UPDATE watchlists SET last_run_at=? WHERE watch_id=?", (at, watch_id))


@dataclass(frozen=True)
class RunRow:
    """One run of a watchlist against one counterpart."""

    watch_id: str
    peer: str
    ran_at: str
    status: str  # done | skipped | failed
    reason: str = ""
    match_id: str | None = None
    elements: int = 0
    hits: int = 0
    new_hits: int = 0
    budget_remaining: int | None = None


def add_run(conn: Connection, run: RunRow) -> None:
    conn.execute(
        "INSERT INTO watch_runs(watch_id, peer, ran_at, status, reason, match_id, elements, "
        "hits, new_hits, budget_remaining) VALUES (?,?,?,?,?,?,?,?,?,?)",
        (
            run.watch_id,
            run.peer,
            run.ran_at,
            run.status,
            run.reason,
            run.match_id,
            run.elements,
            run.hits,
            run.new_hits,
            run.budget_remaining,
        ),
    )


def runs(conn: Connection, watch_id: str | None = None, limit: int = 100) -> list[RunRow]:
    rows = conn.execute(
        "SELECT * FROM watch_runs WHERE (? IS NULL OR watch_id = ?) ORDER BY run_id DESC LIMIT ?",
        (watch_id, watch_id, limit),
    )
    return [
        RunRow(
            str(r["watch_id"]),
            str(r["peer"]),
            str(r["ran_at"]),
            str(r["status"]),
            str(r["reason"]),
            r["match_id"],
            int(r["elements"]),
            int(r["hits"]),
            int(r["new_hits"]),
            r["budget_remaining"],
        )
        for r in rows
    ]


def known_budget(conn: Connection, peer: str, since: str) -> int | None:
    """The budget the counterpart last said was left, if it said so at or after ``since``."""
    row = conn.execute(
        "SELECT budget_remaining FROM watch_runs WHERE peer=? AND ran_at >= ? "
        "AND budget_remaining IS NOT NULL ORDER BY run_id DESC LIMIT 1",
        (peer, since),
    ).fetchone()
    return None if row is None else int(row[0])


def record_hit(conn: Connection, hit: WatchHit) -> bool:
    """Store a hit; False when this watchlist already had it (not a new hit)."""
    cur = conn.execute(
        "INSERT INTO watch_hits(watch_id, peer, record_id, key_type, match_id, "
        "found_at) VALUES (?,?,?,?,?,?) ON CONFLICT DO NOTHING",
        (hit.watch_id, hit.peer, hit.record_id, hit.key_type, hit.match_id, hit.found_at),
    )
    return int(cur.rowcount) > 0


_HIT_SELECT = (
    "SELECT h.watch_id, h.peer, h.record_id, h.key_type, h.match_id, h.found_at, "
    "w.case_reference FROM watch_hits h JOIN watchlists w ON w.watch_id = h.watch_id "
)


def _hits(rows: list[Row]) -> list[WatchHit]:
    return [WatchHit(*(str(v) for v in r)) for r in rows]


def unreported_hits(
    conn: Connection, watch_id: str | None, channel: str, include_reported: bool = False
) -> list[WatchHit]:
    """Hits not yet reported on ``channel`` ("cli" or "webhook"), oldest first."""
    column = {"cli": "cli_reported_at", "webhook": "webhook_sent_at"}[channel]
    where = "WHERE (? IS NULL OR h.watch_id = ?)"
    if not include_reported:
        where += f" AND h.{column} IS NULL"
    rows = conn.execute(
        _HIT_SELECT + where + " ORDER BY h.found_at, h.record_id, h.key_type",
        (watch_id, watch_id),
    ).fetchall()
    return _hits(rows)


def mark_reported(conn: Connection, hits: list[WatchHit], channel: str, at: str) -> None:
    column = {"cli": "cli_reported_at", "webhook": "webhook_sent_at"}[channel]
    conn.executemany(
        f"UPDATE watch_hits SET {column}=? WHERE watch_id=? AND peer=? AND record_id=? "  # noqa: S608
        "AND key_type=?",
        [(at, h.watch_id, h.peer, h.record_id, h.key_type) for h in hits],
    )


def hits_with_state(conn: Connection, watch_id: str) -> list[tuple[WatchHit, bool]]:
    """Every hit of one watchlist, newest first, each with whether it is still new.

    New means not yet shown by ``spoor watch hits``; the console only reads,
    so looking at hits there never takes them from the command line's report.
    """
    rows = conn.execute(
        _HIT_SELECT.replace("SELECT ", "SELECT h.cli_reported_at IS NULL AS fresh, ", 1)
        + "WHERE h.watch_id = ? ORDER BY h.found_at DESC, h.record_id, h.key_type",
        (watch_id,),
    ).fetchall()
    return [(WatchHit(*(str(v) for v in tuple(r)[1:])), bool(r[0])) for r in rows]
