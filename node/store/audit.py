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
    "chain_version",
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


def events_of(conn: Connection, events: Sequence[str]) -> list[tuple[int, str, str]]:
    """(seq, event, details) of every entry of the given events, in chain order."""
    marks = ", ".join("?" for _ in events)
    rows = conn.execute(
        f"SELECT seq, event, details FROM audit_entries WHERE event IN ({marks})"  # noqa: S608
        " ORDER BY seq",
        tuple(events),
    )
    return [(int(r[0]), str(r[1]), str(r[2])) for r in rows]


def first_checkpoint_key(conn: Connection) -> str | None:
    """The public key of the oldest stored checkpoint, or None."""
    row = conn.execute("SELECT public_key FROM audit_checkpoints ORDER BY id LIMIT 1").fetchone()
    return None if row is None else str(row[0])


def entries_between(conn: Connection, after: int, upto: int) -> Iterator[Row]:
    """Entries with ``after < seq <= upto``, in order."""
    yield from conn.execute(
        "SELECT * FROM audit_entries WHERE seq > ? AND seq <= ? ORDER BY seq", (after, upto)
    )


def entry_hash_at(conn: Connection, seq: int) -> str | None:
    row = conn.execute("SELECT entry_hash FROM audit_entries WHERE seq = ?", (seq,)).fetchone()
    return None if row is None else str(row[0])


# -- witnessing: countersignatures of our checkpoints ------------------------------

COSIGNATURE_COLUMNS = (
    "witness",
    "entry_count",
    "head_hash",
    "witness_key",
    "signature",
    "witnessed_at",
)


def add_cosignature(conn: Connection, values: Sequence[object]) -> None:
    """Store one witness's countersignature (values in :data:`COSIGNATURE_COLUMNS` order)."""
    conn.execute(
        "INSERT INTO audit_cosignatures"
        " (witness, entry_count, head_hash, witness_key, signature, witnessed_at)"
        " VALUES (?, ?, ?, ?, ?, ?)",
        tuple(values),
    )


def cosignatures(conn: Connection) -> list[tuple[Any, ...]]:
    """Every stored countersignature (in :data:`COSIGNATURE_COLUMNS` order), oldest first."""
    rows = conn.execute(
        "SELECT witness, entry_count, head_hash, witness_key, signature, witnessed_at"
        " FROM audit_cosignatures ORDER BY id"
    )
    return [tuple(r) for r in rows]


def latest_cosignature(conn: Connection, witness: str) -> tuple[int, str, str] | None:
    """(entry count, head hash, witness key) of the newest countersignature by ``witness``."""
    row = conn.execute(
        "SELECT entry_count, head_hash, witness_key FROM audit_cosignatures WHERE witness = ?"
        " ORDER BY entry_count DESC, id DESC LIMIT 1",
        (witness,),
    ).fetchone()
    return None if row is None else (int(row[0]), str(row[1]), str(row[2]))


# -- witnessing: heads this node witnessed for its peers ----------------------------


def witnessed_at(conn: Connection, origin: str, entry_count: int) -> str | None:
    """The head hash witnessed for ``origin`` at ``entry_count``, or None."""
    row = conn.execute(
        "SELECT head_hash FROM audit_witnessed WHERE origin = ? AND entry_count = ?",
        (origin, entry_count),
    ).fetchone()
    return None if row is None else str(row[0])


def witnessed_latest(conn: Connection, origin: str) -> tuple[int, str, str] | None:
    """(entry count, head hash, origin's public key) of the largest head seen for ``origin``."""
    row = conn.execute(
        "SELECT entry_count, head_hash, public_key FROM audit_witnessed WHERE origin = ?"
        " ORDER BY entry_count DESC LIMIT 1",
        (origin,),
    ).fetchone()
    return None if row is None else (int(row[0]), str(row[1]), str(row[2]))


def add_witnessed(conn: Connection, values: Sequence[object]) -> None:
    """Store a head witnessed for a peer: origin, count, head, key, signature, created, seen."""
    conn.execute(
        "INSERT INTO audit_witnessed"
        " (origin, entry_count, head_hash, public_key, signature, created_at, witnessed_at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?)",
        tuple(values),
    )


def witnessed_summary(conn: Connection) -> list[tuple[str, int, int, str, str]]:
    """Per origin: (origin, heads seen, largest count, its head hash, last seen at)."""
    rows = conn.execute(
        "SELECT w.origin, COUNT(*), MAX(w.entry_count),"
        " (SELECT head_hash FROM audit_witnessed x WHERE x.origin = w.origin"
        "  ORDER BY x.entry_count DESC LIMIT 1), MAX(w.witnessed_at)"
        " FROM audit_witnessed w GROUP BY w.origin ORDER BY w.origin"
    )
    return [(str(r[0]), int(r[1]), int(r[2]), str(r[3]), str(r[4])) for r in rows]


def add_alarm(conn: Connection, values: Sequence[object]) -> None:
    """Store a witness alarm: origin, kind, count, head shown, known count, known head, when."""
    conn.execute(
        "INSERT INTO audit_witness_alarms"
        " (origin, kind, entry_count, head_hash, known_count, known_hash, raised_at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?)",
        tuple(values),
    )


def alarms(conn: Connection) -> list[tuple[Any, ...]]:
    """Every witness alarm, oldest first (columns as in :func:`add_alarm`)."""
    rows = conn.execute(
        "SELECT origin, kind, entry_count, head_hash, known_count, known_hash, raised_at"
        " FROM audit_witness_alarms ORDER BY id"
    )
    return [tuple(r) for r in rows]
