"""The node's embedded SQLite database.

One file per node home. WAL journal so readers never block the writer,
``synchronous=FULL`` so a committed action survives a power cut, and every
write in ``BEGIN IMMEDIATE`` so two processes (``spoor serve`` and an import)
serialise cleanly instead of failing half-way. Each domain module that owns
tables exposes an idempotent ``SCHEMA`` string; :func:`open_store` applies them
all in one transaction.
"""

from __future__ import annotations

import importlib
import os
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from node.errors import SpoorError

# Modules that own tables, in creation order. Each exposes ``SCHEMA: str``
# made only of ``CREATE ... IF NOT EXISTS`` statements.
SCHEMA_MODULES: tuple[str, ...] = (
    "node.store.core_schema",
    "node.records.schema",
    "node.audit.schema",
    "node.disclosure.schema",
    "node.officers",
    "node.officers.credential_store",
)

BUSY_TIMEOUT_MS = 15_000


class StoreError(SpoorError):
    """The node database could not be opened or written."""

    FIELDS = ("reason",)

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(reason)


def connect(path: Path) -> sqlite3.Connection:
    """Open a connection with the pragmas every Spoor connection needs.

    A new database file is created with mode 0600: it holds records and keys.
    SQLite gives its -wal and -shm files the same mode.
    """
    if not path.exists():
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT, 0o600))
    conn = sqlite3.connect(
        path,
        isolation_level=None,  # explicit BEGIN IMMEDIATE / COMMIT below
        timeout=BUSY_TIMEOUT_MS / 1000,
        check_same_thread=False,
        detect_types=0,
    )
    conn.row_factory = sqlite3.Row
    conn.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=FULL")
    conn.execute("PRAGMA foreign_keys=ON")
    return conn


def _schemas() -> list[str]:
    out: list[str] = []
    for name in SCHEMA_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name is None or not name.startswith(exc.name):
                raise
            continue
        schema = getattr(module, "SCHEMA", "")
        if schema:
            out.append(schema)
    return out


def open_store(path: Path) -> sqlite3.Connection:
    """Open (creating if needed) the node database and apply every schema."""
    if not path.parent.is_dir():
        raise StoreError(f"{path.parent}: node home does not exist — run 'spoor init' first")
    try:
        conn = connect(path)
        with transaction(conn):
            for schema in _schemas():
                for statement in _split(schema):
                    conn.execute(statement)
    except sqlite3.Error as exc:
        raise StoreError(f"{path}: cannot open the node database: {exc}") from exc
    return conn


def _split(script: str) -> Iterator[str]:
    # sqlite3.executescript would COMMIT our transaction; run statements one by one.
    buf = ""
    for line in script.splitlines(keepends=True):
        buf += line
        if sqlite3.complete_statement(buf):
            if buf.strip():
                yield buf
            buf = ""
    if buf.strip():
        yield buf


@contextmanager
def transaction(conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """Run a block in one ``BEGIN IMMEDIATE`` transaction: all of it commits, or none."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield conn
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    else:
        conn.execute("COMMIT")
