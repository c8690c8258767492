"""Helpers shared by the audit tests."""

from __future__ import annotations

import sqlite3
from datetime import datetime
from typing import Any

from node.audit.chain import AuditEntry, append_entry, chain_hash, entry_body, row_body
from node.store import transaction


def record(
    conn: sqlite3.Connection, event: str, *, at: datetime | None = None, **fields: Any
) -> AuditEntry:
    """Append one entry in its own transaction, optionally at a given time."""
    with transaction(conn):
        return append_entry(conn, event, fields, now=at)


def rows(conn: sqlite3.Connection, table: str) -> list[dict[str, Any]]:
    return [dict(r) for r in conn.execute(f"SELECT * FROM {table}")]


def stand_in_actions(conn: sqlite3.Connection) -> list[dict[str, Any]]:
    """Stand-in action rows written by :func:`act_and_audit` (meta holds the schema version too)."""
    return [dict(r) for r in conn.execute("SELECT * FROM meta WHERE key = 'action'")]


def reseal(conn: sqlite3.Connection, start: int = 1) -> None:
    """Recompute every hash from ``start`` on, as an attacker who knows the algorithm would."""
    prev = conn.execute(
        "SELECT entry_hash FROM audit_entries WHERE seq = ?", (start - 1,)
    ).fetchone()
    prev_hash = prev[0] if prev else "0" * 64
    for row in conn.execute(
        "SELECT * FROM audit_entries WHERE seq >= ? ORDER BY seq", (start,)
    ).fetchall():
        body = row_body(row)
        new_hash = chain_hash(prev_hash, body)
        conn.execute(
            "UPDATE audit_entries SET prev_hash = ?, entry_hash = ? WHERE seq = ?",
            (prev_hash, new_hash, row["seq"]),
        )
        prev_hash = new_hash


def act_and_audit(conn: sqlite3.Connection, event: str, **fields: Any) -> None:
    """A stand-in action (a meta row) and its audit entry in one transaction."""
    with transaction(conn):
        conn.execute("INSERT INTO meta (key, value) VALUES ('action', 'done')")
        append_entry(conn, event, fields)


def forge_entry(conn: sqlite3.Connection, seq: int, prev_hash: str, event: str) -> str:
    """Insert a well-formed entry at ``seq`` whose hash follows ``prev_hash``; return its hash."""
    body = entry_body(
        seq=seq,
        entry_id=f"forged-{seq}",
        ts="2026-01-01T00:00:00.000000Z",
        event=event,
        fields={},
        commitments={},
    )
    entry_hash = chain_hash(prev_hash, body)
    conn.execute(
        "INSERT INTO audit_entries (seq, entry_id, ts, event, details, commitments, prev_hash,"
        " entry_hash, chain_version) VALUES (?, ?, ?, ?, '{}', '{}', ?, ?, ?)",
        (seq, body["id"], body["ts"], event, prev_hash, entry_hash, body["v"]),
    )
    return entry_hash
