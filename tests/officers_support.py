"""Officers who really sign in, for tests: a known password and the enrolled TOTP secret."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterable

import pyotp

from node import officers, store
from node.officers import credentials
from node.store import officer_credentials as credential_store

PASSWORD = "correct horse battery staple"

_signed_in: dict[tuple[int, str], credentials.AuthenticatedOfficer] = {}


def enrol(conn: sqlite3.Connection, names: Iterable[str], roles: tuple[str, ...] = ()) -> None:
    """Register (when ``roles`` are given) and enrol each officer with :data:`PASSWORD`."""
    with store.transaction(conn):
        for name in names:
            if roles:
                officers.add(conn, name, roles, actor="test")
            credentials.enrol(conn, name, PASSWORD, actor="test")


def totp_secret(conn: sqlite3.Connection, name: str) -> str:
    row = credential_store.get(conn, name)
    assert row is not None, f"{name} is not enrolled"
    return str(row["totp_secret"])


def code(conn: sqlite3.Connection, name: str, steps_ahead: int = 0) -> str:
    """The officer's current TOTP code (or one ``steps_ahead`` 30-second steps later)."""
    return pyotp.TOTP(totp_secret(conn, name)).at(time.time() + 30 * steps_ahead)


def signed_in(conn: sqlite3.Connection, name: str) -> credentials.AuthenticatedOfficer:
    """Authenticate ``name`` once per connection (a code is accepted only once), then reuse it."""
    key = (id(conn), name)
    if key not in _signed_in:
        _signed_in[key] = credentials.authenticate(conn, name, PASSWORD, code(conn, name))
    return _signed_in[key]
