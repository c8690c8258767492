"""Officer credentials repository: password hashes, TOTP secrets, failed attempts.

The only module of node/officers that speaks SQL; it moves into the store's
repositories as they land. One row per enrolled officer, keyed by the roster
name, with a stable ``officer_id`` the audit trail names.
"""

from __future__ import annotations

import sqlite3
from typing import Any

SCHEMA = """
CREATE TABLE IF NOT EXISTS officer_credentials (
    name            TEXT PRIMARY KEY REFERENCES officers(name),
    officer_id      TEXT NOT NULL UNIQUE,
    password_hash   TEXT NOT NULL,
    totp_secret     TEXT NOT NULL,
    failed_attempts INTEGER NOT NULL DEFAULT 0,
    locked_until    TEXT,
    last_totp_step  INTEGER NOT NULL DEFAULT 0,
    enrolled_at     TEXT NOT NULL,
    changed_at      TEXT NOT NULL
);
"""

_COLUMNS = (
    "name, officer_id, password_hash, totp_secret, failed_attempts, locked_until, "
    "last_totp_step, enrolled_at, changed_at"
)


def get(conn: sqlite3.Connection, name: str) -> dict[str, Any] | None:
    """The credential row for ``name``; None when the officer never enrolled."""
    row = conn.execute(
        f"SELECT {_COLUMNS} FROM officer_credentials WHERE name = ?",  # noqa: S608 fixed columns
        (name,),
    ).fetchone()
    return dict(row) if row else None


def by_officer_id(conn: sqlite3.Connection, officer_id: str) -> dict[str, Any] | None:
    row = conn.execute(
        f"SELECT {_COLUMNS} FROM officer_credentials WHERE officer_id = ?",  # noqa: S608
        (officer_id,),
    ).fetchone()
    return dict(row) if row else None


def put(
    conn: sqlite3.Connection,
    name: str,
    officer_id: str,
    password_hash: str,
    totp_secret: str,
    now: str,
) -> None:
    """Store fresh credentials for ``name``, clearing failed attempts and any lockout."""
    conn.execute(
        "INSERT INTO officer_credentials (name, officer_id, password_hash, totp_secret, "
        "failed_attempts, locked_until, last_totp_step, enrolled_at, changed_at) "
        "VALUES (?,?,?,?,0,NULL,0,?,?) "
        "ON CONFLICT (name) DO UPDATE SET password_hash = excluded.password_hash, "
        "totp_secret = excluded.totp_secret, failed_attempts = 0, locked_until = NULL, "
        "last_totp_step = 0, changed_at = excluded.changed_at",
        (name, officer_id, password_hash, totp_secret, now, now),
    )


def record_failure(
    conn: sqlite3.Connection, name: str, attempts: int, locked_until: str | None
) -> None:
    conn.execute(
        "UPDATE officer_credentials SET failed_attempts = ?, locked_until = ? WHERE name = ?",
        (attempts, locked_until, name),
    )


def record_success(
    conn: sqlite3.Connection, name: str, totp_step: int, password_hash: str | None
) -> None:
    """Clear failures, remember the TOTP step used (no replay), store a rehash if any."""
    conn.execute(
        "UPDATE officer_credentials SET failed_attempts = 0, locked_until = NULL, "
        "last_totp_step = ?, password_hash = COALESCE(?, password_hash) WHERE name = ?",
        (totp_step, password_hash, name),
    )
