"""Officer credentials repository: password hashes, TOTP secrets, failed attempts.

One row per enrolled officer, keyed by the roster name, with a stable
``officer_id`` the audit trail names (table made by migration 0004).
"""

from __future__ import annotations

from typing import Any

from node.store.backend import Connection

_COLUMNS = (
    "name, officer_id, password_hash, totp_secret, failed_attempts, locked_until, "
    "last_totp_step, enrolled_at, changed_at"
)


def get(conn: Connection, name: str) -> dict[str, Any] | None:
    """The credential row for ``name``; None when the officer never enrolled."""
    row = conn.execute(
        f"SELECT {_COLUMNS} FROM officer_credentials WHERE name = ?",  # noqa: S608 fixed columns
        (name,),
    ).fetchone()
    return dict(row) if row else None


def by_officer_id(conn: Connection, officer_id: str) -> dict[str, Any] | None:
    row = conn.execute(
        f"SELECT {_COLUMNS} FROM officer_credentials WHERE officer_id = ?",  # noqa: S608
        (officer_id,),
    ).fetchone()
    return dict(row) if row else None


def put(
    conn: Connection,
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


def record_failure(conn: Connection, name: str, attempts: int, locked_until: str | None) -> None:
    conn.execute(
        "UPDATE officer_credentials SET failed_attempts = ?, locked_until = ? WHERE name = ?",
        (attempts, locked_until, name),
    )


def record_success(conn: Connection, name: str, totp_step: int, password_hash: str | None) -> None:
    """Clear failures, remember the TOTP step used (no replay), store a rehash if any."""
    conn.execute(
        "UPDATE officer_credentials SET failed_attempts = 0, locked_until = NULL, "
        "last_totp_step = ?, password_hash = COALESCE(?, password_hash) WHERE name = ?",
        (totp_step, password_hash, name),
    )


def set_totp(conn: Connection, name: str, totp_secret: str, totp_step: int, now: str) -> None:
    """A new TOTP secret for ``name``, with the step of the code that confirmed it."""
    conn.execute(
        "UPDATE officer_credentials SET totp_secret = ?, last_totp_step = ?, changed_at = ? "
        "WHERE name = ?",
        (totp_secret, totp_step, now, name),
    )
