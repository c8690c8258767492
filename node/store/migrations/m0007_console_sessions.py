"""Migration 0007: console sessions kept in the store, so they outlive a restart.

One row per browser session, keyed by the SHA-256 of its token (the token
itself is only ever in the browser's cookie), with the signed-in officer's id
and name (NULL before sign-in), the chosen language, when it was opened and
when it lapses. Several console replicas on one database share them.
"""

from __future__ import annotations

from node.store.backend import Connection
from node.store.migrations.script import run_script

NUMBER = 7
NAME = "console_sessions"

SQL = """
CREATE TABLE console_sessions (
    token_hash    TEXT PRIMARY KEY,
    officer_id    TEXT,
    officer_name  TEXT,
    language      TEXT,
    created_at    TEXT NOT NULL,
    expires_at    TEXT NOT NULL
);
CREATE INDEX console_sessions_officer ON console_sessions (officer_id);
CREATE INDEX console_sessions_expiry ON console_sessions (expires_at);
"""


def apply(conn: Connection) -> None:
    run_script(conn, SQL)
