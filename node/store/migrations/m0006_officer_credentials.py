"""Migration 0006: officers sign in with a password and a TOTP second factor.

One row per enrolled officer, keyed by the roster name, with the stable
``officer_id`` the audit trail names, the argon2id hash, the TOTP secret, the
count of failed sign-ins in a row and the lock's end, and the last TOTP time
step accepted (so a code is never accepted twice). Officers registered before
this migration have no row: they must be enrolled ('spoor officers reset NAME')
before they can decide a ticket again.
"""

from __future__ import annotations

from node.store.backend import Connection
from node.store.migrations.script import run_script

NUMBER = 6
NAME = "officer_credentials"

SQL = """
CREATE TABLE officer_credentials (
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


def apply(conn: Connection) -> None:
    run_script(conn, SQL)
