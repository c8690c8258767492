"""Audit repository: chained entries, their purgeable personal content, signed checkpoints.

``audit_entries`` is append-only and hash-chained; personal content (officer,
justification, case reference, actor) lives in ``audit_personal`` beside a
salted-hash commitment in the entry, so a retention purge deletes it without
breaking the chain. ``audit_checkpoints`` holds signed (entry count, head
hash) statements. Timestamps are compared as text: the store writes them
fixed-width (see :mod:`node.store.timecodec`).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from node.store.backend import Connection, Row

ENTRY_COLUMNS = (
    "seq",
    "entry_id",
    "ts",
    "event",
    "counterpart",
    "purpose",
    "legal_basis",
    "request_id",
    "transcript_hash",
    "policy_digest",
    "key_types",
    "elements",
    "hits",
    "status",
    "details",
    "commitments",
    "prev_hash",
    "entry_hash",
)


def head(conn: Connection) -> tuple[int, str] | None:
    """(sequence number, hash) of the newest entry; None for an empty trail."""
    row = conn.execute(
        "SELECT seq, entry_hash FROM audit_entries ORDER BY seq DESC LIMIT 1"
    ).fetchone()
    return (int(row[0]), str(row[1])) if row else None


def add_entry(conn: Connection, values: Sequence[object]) -> None:
    """Append one entry (values in :data:`ENTRY_COLUMNS` order)."""
    conn.execute(
        f"INSERT INTO audit_entries ({', '.join(ENTRY_COLUMNS)}) "  # noqa: S608
        f"VALUES ({', '.join('?' for _ in ENTRY_COLUMNS)})",
        tuple(values),
    )


def add_personal(conn: Connection, rows: Iterable[tuple[int, str, str, str]]) -> None:
    """Store (seq, field, value, salt) of an entry's personal content."""
    conn.executemany(
        "INSERT INTO audit_personal (seq, field, value, salt) VALUES (?, ?, ?, ?)", list(rows)
    )


def _where(
    since: str | None, until: str | None, counterpart: str | None
) -> tuple[str, list[object]]:
    clauses: list[str] = ["1 = 1"]
    params: list[object] = []
    if since is not None:
        clauses.append("ts >= ?")
        params.append(since)
    if until is not None:
        clauses.append("ts < ?")
        params.append(until)
    if counterpart is not None:
        clauses.append("counterpart = ?")
        params.append(counterpart)
    return " AND ".join(clauses), params


def entries(
    conn: Connection,
    since: str | None = None,
    until: str | None = None,
    counterpart: str | None = None,
) -> Iterator[Row]:
    """Entries with ``since <= ts < until`` (and of one counterpart, if given), in order."""
    where, params = _where(since, until, counterpart)
    yield from conn.execute(
        f"SELECT * FROM audit_entries WHERE {where} ORDER BY seq",  # noqa: S608 - fixed clauses
        params,
    )


def personal(conn: Connection) -> list[tuple[int, str, str, str]]:
    """Every stored (seq, field, value, salt), in entry order."""
    rows = conn.execute("SELECT seq, field, value, salt FROM audit_personal ORDER BY seq, field")
    return [(int(r[0]), str(r[1]), str(r[2]), str(r[3])) for r in rows]


def personal_with_commitments(conn: Connection) -> Iterator[tuple[Any, ...]]:
    """(seq, field, value, salt, the entry's commitments or None) for every personal value."""
    rows = conn.execute(
        "SELECT p.seq, p.field, p.value, p.salt, e.commitments FROM audit_personal p"
        " LEFT JOIN audit_entries e ON e.seq = p.seq ORDER BY p.seq, p.field"
    )
    for r in rows:
        yield tuple(r)


def entries_with_personal_before(conn: Connection, cutoff: str) -> int:
    """How many entries older than ``cutoff`` still hold personal content."""
    row = conn.execute(
        "SELECT COUNT(DISTINCT p.seq) FROM audit_personal p"
        " JOIN audit_entries e ON e.seq = p.seq WHERE e.ts < ?",
        (cutoff,),
    ).fetchone()
    return int(row[0])


def delete_personal_before(conn: Connection, cutoff: str) -> int:
    """Delete personal content of entries older than ``cutoff``; how many values."""
    cur = conn.execute(
        "DELETE FROM audit_personal WHERE seq IN (SELECT seq FROM audit_entries WHERE ts < ?)",
        (cutoff,),
    )
    return int(cur.rowcount)


# -- checkpoints ------------------------------------------------------------------

CHECKPOINT_COLUMNS = (
    "entry_count",
    "head_hash",
    "created_at",
    "public_key",
    "signature",
    "agency_id",
)


def add_checkpoint(conn: Connection, values: Sequence[object]) -> None:
    """Store one checkpoint (values in :data:`CHECKPOINT_COLUMNS` order)."""
    conn.execute(
        "INSERT INTO audit_checkpoints"
        " (entry_count, head_hash, created_at, public_key, signature, agency_id)"
        " VALUES (?, ?, ?, ?, ?, ?)",
        tuple(values),
    )


def checkpoints(conn: Connection) -> list[tuple[Any, ...]]:
    """Every stored checkpoint (in :data:`CHECKPOINT_COLUMNS` order), oldest first."""
    rows = conn.execute(
        "SELECT entry_count, head_hash, created_at, public_key, signature, agency_id"
        " FROM audit_checkpoints ORDER BY id"
    )
    return [tuple(r) for r in rows]


def last_checkpoint(conn: Connection) -> tuple[int, str] | None:
    """(entry count, created at) of the newest checkpoint, or None."""
    row = conn.execute(
        "SELECT entry_count, created_at FROM audit_checkpoints ORDER BY id DESC LIMIT 1"
    ).fetchone()
    return (int(row[0]), str(row[1])) if row else None
