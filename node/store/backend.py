"""The database backend seam: everything that differs between engines lives here.

Repositories write plain SQL with ``?`` placeholders (the one parameter style
of the store) and portable constructs only; they never open connections,
set pragmas or begin transactions themselves. A backend knows how to
connect, how a write transaction begins, how to copy the database before an
upgrade and how to read a table's actual columns. SQLite is the only backend
today; a PostgreSQL backend would implement the same :class:`Backend`
protocol (translating ``?`` to ``%s`` in one place) and reuse every
repository and migration written against it. Two listings still break ties
by SQLite's ``rowid`` (items of a request sent, the latest match with a
peer); a second backend would give those tables an ordering column.
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path
from typing import Protocol

BUSY_TIMEOUT_MS = 15_000

#: The placeholder every repository writes; a backend with another style translates it.
PARAM = "?"

Connection = sqlite3.Connection
Row = sqlite3.Row
DatabaseError = sqlite3.Error
IntegrityError = sqlite3.IntegrityError


class Backend(Protocol):
    """What the store needs from a database engine."""

    name: str

    def connect(self, path: Path) -> Connection: ...

    def begin_write(self, conn: Connection) -> None: ...

    def backup(self, conn: Connection, dest: Path) -> None: ...

    def tables(self, conn: Connection) -> set[str]: ...

    def columns(self, conn: Connection, table: str) -> list[str]: ...

    def prepare_bulk_load(self, conn: Connection, cache_kib: int) -> None: ...


def _create_private(path: Path) -> None:
    """Create ``path`` empty with mode 0600 (it will hold records and keys)."""
    os.close(os.open(path, os.O_WRONLY | os.O_CREAT, 0o600))


class SqliteBackend:
    """One SQLite file per node home.

    WAL journal so readers never block the writer, ``synchronous=FULL`` so a
    committed action survives a power cut, and every write in ``BEGIN
    IMMEDIATE`` so two processes (``spoor serve`` and an import) serialise
    cleanly instead of failing half-way. A new file gets mode 0600; SQLite
    gives its -wal and -shm files the same mode.
    """

    name = "sqlite"

    def connect(self, path: Path) -> Connection:
        if not path.exists():
            _create_private(path)
        conn = sqlite3.connect(
            path,
            isolation_level=None,  # explicit BEGIN IMMEDIATE / COMMIT in transaction()
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

    def begin_write(self, conn: Connection) -> None:
        conn.execute("BEGIN IMMEDIATE")

    def backup(self, conn: Connection, dest: Path) -> None:
        """A consistent copy of the database (WAL included) at ``dest``, mode 0600."""
        if dest.exists():
            dest.unlink()
        _create_private(dest)
        target = sqlite3.connect(dest)
        try:
            conn.backup(target)
        finally:
            target.close()
        os.chmod(dest, 0o600)

    def tables(self, conn: Connection) -> set[str]:
        rows = conn.execute("SELECT name FROM sqlite_master WHERE type='table'")
        return {str(r[0]) for r in rows if not str(r[0]).startswith("sqlite_")}

    def columns(self, conn: Connection, table: str) -> list[str]:
        return [str(r[1]) for r in conn.execute(f"PRAGMA table_info({table})")]

    def prepare_bulk_load(self, conn: Connection, cache_kib: int) -> None:
        """A large page cache keeps the indexes' hot pages in memory during a big import."""
        conn.execute(f"PRAGMA cache_size=-{cache_kib}")


#: The backend every home uses today.
BACKEND: Backend = SqliteBackend()
