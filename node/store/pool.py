"""Reused connections for a running node's per-call paths, with group durability.

Opening a connection costs a file open and four pragmas, and closing the last
one of a SQLite file checkpoints and deletes its write-ahead log: together
about as much as the lookup they serve. A running node's per-call paths
(authenticating a caller, charging a budget, auditing a lookup) therefore
borrow connections from one :class:`ConnectionPool` per database and give
them back; nothing else changes about how they read or write.

Durability. Pooled SQLite connections commit with ``synchronous=NORMAL`` in
WAL mode instead of ``FULL``. What that keeps and what it trades:

* Every transaction is still atomic and the database is never corrupted: an
  action and its audit entry (a budget charge, a served lookup) commit
  together or not at all, and the hash chain stays verifiable after any crash.
* A crash of the node process loses nothing committed: the WAL is written at
  each commit, only its fsync is deferred.
* Only an operating-system crash or power cut can roll back the most recent
  commits, and only those of at most :data:`FLUSH_SECONDS`: a flusher thread
  fsyncs the WAL that long after any pooled write. Everything else in the node
  (and every audit checkpoint, before a witness may see it) still commits with
  ``FULL``, which also syncs every earlier pooled commit; so a head a witness
  countersigned is always on disk.

That turns one fsync per lookup transaction (several milliseconds each on
shared storage) into a few per second for all lookups together.
"""

from __future__ import annotations

import atexit
import os
import sqlite3
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from node.store.backend import Connection

#: A pooled write becomes power-cut durable at most this long after its commit.
FLUSH_SECONDS = 0.5
#: Idle connections kept per database (more may be borrowed at once; extras are closed).
POOL_SIZE = 8


def _relax(conn: Connection) -> Path | None:
    """Set group durability on a SQLite connection; the path of its WAL (None otherwise)."""
    if not isinstance(conn, sqlite3.Connection):
        return None
    conn.execute("PRAGMA synchronous=NORMAL")
    row = conn.execute("PRAGMA database_list").fetchone()
    return Path(f"{row[2]}-wal") if row is not None and row[2] else None


def _changes(conn: Connection) -> int:
    """Rows a SQLite connection has changed so far (the pool holds only SQLite ones)."""
    return conn.total_changes if isinstance(conn, sqlite3.Connection) else 0


class ConnectionPool:
    """Connections to one database, lent out one borrower at a time."""

    def __init__(
        self, connect: Callable[[], Connection], *, size: int = POOL_SIZE,
        flush_s: float = FLUSH_SECONDS,
    ) -> None:  # fmt: skip
        self._connect = connect
        self._size = size
        self._flush_s = flush_s
        self._lock = threading.Lock()
        self._idle: list[Connection] = []
        self._wal: Path | None = None
        self._dirty = threading.Event()
        self._closed = threading.Event()
        self._flusher: threading.Thread | None = None
        self.flushes = 0

    def _take(self) -> Connection:
        with self._lock:
            if self._closed.is_set():
                raise RuntimeError("the connection pool is closed")
            if self._idle:
                return self._idle.pop()
        conn = self._connect()
        wal = _relax(conn)
        with self._lock:
            if wal is not None and self._wal is None:
                self._wal = wal
                self._flusher = threading.Thread(
                    target=self._flush_loop, name="spoor-store-flush", daemon=True
                )
                self._flusher.start()
        return conn

    def _give(self, conn: Connection) -> None:
        with self._lock:
            if not self._closed.is_set() and len(self._idle) < self._size:
                self._idle.append(conn)
                return
        conn.close()

    @contextmanager
    def connection(self) -> Iterator[Connection]:
        """Borrow a connection for the block (in autocommit mode, as ``store.opened`` gives).

        A block that inserted, updated or deleted rows wakes the flusher (schema
        changes are not made on pooled connections).
        """
        conn = self._take()
        before = _changes(conn)
        try:
            yield conn
        finally:
            if _changes(conn) != before:
                self._dirty.set()
            if conn.in_transaction:
                # ``store.transaction`` always ends its own; a block that left one
                # open is a bug, and its connection is never lent again.
                conn.close()
            else:
                self._give(conn)

    def flush(self) -> None:
        """Make every pooled commit so far durable against a power cut (fsync the WAL)."""
        wal = self._wal
        if wal is None:
            return
        try:
            fd = os.open(wal, os.O_RDONLY)
        except FileNotFoundError:
            return  # no WAL: everything is in the database file already
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
        self.flushes += 1

    def _flush_loop(self) -> None:
        while not self._closed.is_set():
            self._dirty.wait()
            if self._closed.wait(self._flush_s):
                break  # close() flushes one last time
            self._dirty.clear()
            self.flush()

    def close(self) -> None:
        """Close every idle connection and sync what was written; later borrows fail."""
        with self._lock:
            self._closed.set()
            idle, self._idle = self._idle, []
        self._dirty.set()
        if self._flusher is not None:
            self._flusher.join(timeout=5)
        self.flush()
        for conn in idle:
            conn.close()


_pools: dict[Path, ConnectionPool] = {}
_pools_lock = threading.Lock()
# The normal form of each absolute path asked for: per-call paths ask with the same
# few, and normalising one costs more than the query it serves. (A relative path
# depends on the working directory and is resolved every time.)
_normal: dict[Path, Path] = {}
_MAX_NORMAL = 256


def _key(path: Path) -> Path:
    key = _normal.get(path)
    if key is not None:
        return key
    key = Path(os.path.abspath(path))
    if Path(path).is_absolute():
        if len(_normal) >= _MAX_NORMAL:
            _normal.clear()
        _normal[path] = key
    return key


def pool_for(path: Path, connect: Callable[[Path], Connection]) -> ConnectionPool:
    """The process's pool for the database at ``path`` (created on first use)."""
    key = _key(path)
    with _pools_lock:
        pool = _pools.get(key)
        if pool is None:
            pool = _pools[key] = ConnectionPool(lambda: connect(key))
        return pool


def existing(path: Path) -> ConnectionPool | None:
    """The pool of ``path`` if one was made (only SQLite databases get one)."""
    with _pools_lock:
        return _pools.get(_key(path))


def close_pool(path: Path) -> None:
    """Close the pool of ``path`` if there is one (a node stopping, a home going away)."""
    with _pools_lock:
        pool = _pools.pop(_key(path), None)
    if pool is not None:
        pool.close()


def close_all() -> None:
    """Close every pool of this process."""
    with _pools_lock:
        pools = list(_pools.values())
        _pools.clear()
    for pool in pools:
        pool.close()


atexit.register(close_all)
