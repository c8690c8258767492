"""The database backend seam: everything that differs between engines lives here.

Repositories write plain SQL with ``?`` placeholders (the one parameter style
of the store) and portable constructs only; they never open connections,
set pragmas or begin transactions themselves. A backend knows how to
connect, how a write transaction begins, how to copy the database before an
upgrade and how to read a table's actual columns.

Two backends implement :class:`Backend`: :class:`SqliteBackend` (one file
per home, the default) and :class:`node.store.postgres.PostgresBackend`
(``store.url = "postgresql://..."``), which translates the placeholder and
the few SQLite-only constructs of the migrations in one place. Which one a
home uses is decided by :mod:`node.store.location`; :data:`BACKEND` picks
the right one for each connection.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Any, Protocol

import psycopg

BUSY_TIMEOUT_MS = 15_000

#: The placeholder every repository writes; a backend with another style translates it.
PARAM = "?"

Row = sqlite3.Row
#: Every engine's error (``except DatabaseError`` catches both backends' failures).
DatabaseError: tuple[type[Exception], ...] = (sqlite3.Error, psycopg.Error)
IntegrityError: tuple[type[Exception], ...] = (sqlite3.IntegrityError, psycopg.IntegrityError)
#: The database is busy (another writer held it past the wait): try again later.
BusyError: tuple[type[Exception], ...] = (
    sqlite3.OperationalError,
    psycopg.errors.LockNotAvailable,
    psycopg.errors.QueryCanceled,
)


class Cursor(Protocol):
    """What the store reads from a statement's result."""

    @property
    def rowcount(self) -> int: ...

    def fetchone(self) -> Any: ...

    def fetchall(self) -> list[Any]: ...

    def __iter__(self) -> Iterator[Any]: ...


class Connection(Protocol):
    """A connection of either backend, as repositories use it."""

    @property
    def in_transaction(self) -> bool: ...

    def execute(self, sql: str, parameters: Any = ..., /) -> Any: ...

    def executemany(self, sql: str, parameters: Iterable[Sequence[Any]], /) -> Any: ...

    def close(self) -> None: ...


class Backend(Protocol):
    """What the store needs from a database engine."""

    name: str

    def begin_write(self, conn: Connection) -> None: ...

    def backup(self, conn: Connection, dest: Path) -> bool: ...

    def tables(self, conn: Connection) -> set[str]: ...

    def has_table(self, conn: Connection, table: str) -> bool: ...

    def columns(self, conn: Connection, table: str) -> list[str]: ...

    def prepare_bulk_load(self, conn: Connection, cache_kib: int) -> None: ...

    def scans(
        self, conn: Connection, statements: Sequence[str]
    ) -> AbstractContextManager[list[Iterator[Any]]]: ...


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

    def connect(self, path: Path) -> sqlite3.Connection:
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

    def backup(self, conn: Connection, dest: Path) -> bool:
        """A consistent copy of the database (WAL included) at ``dest``, mode 0600."""
        assert isinstance(conn, sqlite3.Connection)
        if dest.exists():
            dest.unlink()
        _create_private(dest)
        target = sqlite3.connect(dest)
        try:
            conn.backup(target)
        finally:
            target.close()
        os.chmod(dest, 0o600)
        return True

    def tables(self, conn: Connection) -> set[str]:
        rows = conn.execute("SELECT name FROM sqlite_master WHERE type='table'")
        return {str(r[0]) for r in rows if not str(r[0]).startswith("sqlite_")}

    def has_table(self, conn: Connection, table: str) -> bool:
        row = conn.execute(
            "SELECT 1 FROM sqlite_master WHERE type='table' AND name=?", (table,)
        ).fetchone()
        return row is not None

    def columns(self, conn: Connection, table: str) -> list[str]:
        return [str(r[1]) for r in conn.execute(f"PRAGMA table_info({table})")]

    def prepare_bulk_load(self, conn: Connection, cache_kib: int) -> None:
        """A large page cache keeps the indexes' hot pages in memory during a big import.

        Index builds may sort on a second thread: by the time an import merges,
        its worker processes have finished and the cores are free.
        """
        conn.execute(f"PRAGMA cache_size=-{cache_kib}")
        conn.execute("PRAGMA threads=2")

    @contextmanager
    def scans(self, conn: Connection, statements: Sequence[str]) -> Iterator[list[Iterator[Any]]]:
        """Rows of several statements read side by side; SQLite steps each as it is read."""
        yield [iter(conn.execute(sql)) for sql in statements]


SQLITE = SqliteBackend()


def backend_of(conn: Connection) -> Backend:
    """The backend a connection belongs to."""
    if isinstance(conn, sqlite3.Connection):
        return SQLITE
    from node.store.postgres import POSTGRES

    return POSTGRES


class _ByConnection:
    """Dispatches every call to the backend of the connection it is given."""

    name = "by-connection"

    def begin_write(self, conn: Connection) -> None:
        backend_of(conn).begin_write(conn)

    def backup(self, conn: Connection, dest: Path) -> bool:
        return backend_of(conn).backup(conn, dest)

    def tables(self, conn: Connection) -> set[str]:
        return backend_of(conn).tables(conn)

    def has_table(self, conn: Connection, table: str) -> bool:
        return backend_of(conn).has_table(conn, table)

    def columns(self, conn: Connection, table: str) -> list[str]:
        return backend_of(conn).columns(conn, table)

    def prepare_bulk_load(self, conn: Connection, cache_kib: int) -> None:
        backend_of(conn).prepare_bulk_load(conn, cache_kib)

    def scans(
        self, conn: Connection, statements: Sequence[str]
    ) -> AbstractContextManager[list[Iterator[Any]]]:
        return backend_of(conn).scans(conn, statements)


#: The backend of whatever connection it is handed.
BACKEND: Backend = _ByConnection()
