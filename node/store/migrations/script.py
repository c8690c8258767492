"""Running a migration's SQL text statement by statement inside the open transaction."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator

from node.store.backend import Connection


def statements(script: str) -> Iterator[str]:
    """The statements of ``script`` (``executescript`` would commit the transaction)."""
    buf = ""
    for line in script.splitlines(keepends=True):
        buf += line
        if sqlite3.complete_statement(buf):
            if buf.strip():
                yield buf
            buf = ""
    if buf.strip():
        yield buf


def run_script(conn: Connection, script: str) -> None:
    whole = getattr(conn, "execute_script", None)
    if whole is not None:  # a backend that runs a script in one round trip (PostgreSQL)
        whole(script)
        return
    for statement in statements(script):
        conn.execute(statement)
