"""Console sessions repository: hashed tokens, the officer signed in, expiry.

Rows are keyed by ``token_hash`` (SHA-256 of the browser's token, computed by
the caller); the table is made by migration 0007. Times are stored text
(:mod:`node.store.timecodec`), so ``expires_at <= ?`` compares moments.
"""

from __future__ import annotations

from typing import Any

from node.store.backend import Connection

_COLUMNS = "token_hash, officer_id, officer_name, language, created_at, expires_at"


def create(
    conn: Connection,
    token_hash: str,
    *,
    officer_id: str | None,
    officer_name: str | None,
    language: str | None,
    created_at: str,
    expires_at: str,
) -> None:
    conn.execute(
        f"INSERT INTO console_sessions ({_COLUMNS}) VALUES (?,?,?,?,?,?)",  # noqa: S608
        (token_hash, officer_id, officer_name, language, created_at, expires_at),
    )


def get(conn: Connection, token_hash: str) -> dict[str, Any] | None:
    row = conn.execute(
        f"SELECT {_COLUMNS} FROM console_sessions WHERE token_hash = ?",  # noqa: S608
        (token_hash,),
    ).fetchone()
    return dict(row) if row else None


def renew(conn: Connection, token_hash: str, expires_at: str) -> None:
    conn.execute(
        "UPDATE console_sessions SET expires_at = ? WHERE token_hash = ?",
        (expires_at, token_hash),
    )


def set_language(conn: Connection, token_hash: str, language: str) -> None:
    conn.execute(
        "UPDATE console_sessions SET language = ? WHERE token_hash = ?", (language, token_hash)
    )


def delete(conn: Connection, token_hash: str) -> None:
    conn.execute("DELETE FROM console_sessions WHERE token_hash = ?", (token_hash,))


def delete_for_officer(conn: Connection, officer_id: str) -> int:
    cur = conn.execute("DELETE FROM console_sessions WHERE officer_id = ?", (officer_id,))
    return int(cur.rowcount or 0)


def prune(conn: Connection, now: str, opened_before: str) -> int:
    """Drop every session that lapsed (idle) or was opened before ``opened_before``."""
    cur = conn.execute(
        "DELETE FROM console_sessions WHERE expires_at <= ? OR created_at <= ?",
        (now, opened_before),
    )
    return int(cur.rowcount or 0)


def count(conn: Connection) -> int:
    row = conn.execute("SELECT COUNT(*) FROM console_sessions").fetchone()
    return int(row[0])
