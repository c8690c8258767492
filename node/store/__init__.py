"""The node's store: one database per home, reached only through this package.

* :func:`opened` — the one way to hold a connection: opens (upgrading the
  schema if needed) and always closes.
* :func:`transaction` — one write transaction (``BEGIN IMMEDIATE`` on
  SQLite): all of the block commits, or none of it. An action and its audit
  entry are written in the same one.
* Repositories, one module per aggregate, hold every SQL statement:
  :mod:`node.store.records`, :mod:`node.store.matches`,
  :mod:`node.store.budgets`, :mod:`node.store.tickets`,
  :mod:`node.store.disclosures`, :mod:`node.store.audit`,
  :mod:`node.store.officers`, :mod:`node.store.peers`.
* :func:`pooled` — a reused connection for a running node's per-call paths,
  group-durable (:mod:`node.store.pool`).
* :mod:`node.store.migrations` — numbered schema versions.
* :mod:`node.store.timecodec` — how a moment is written and read.
* :mod:`node.store.backend` — what differs between database engines.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import ClassVar

from node.errors import SpoorError
from node.store import migrations, pool
from node.store.backend import BACKEND, BUSY_TIMEOUT_MS, Connection, DatabaseError, Row

__all__ = [
    "BUSY_TIMEOUT_MS",
    "Connection",
    "Row",
    "SchemaTooNew",
    "StoreError",
    "close_pooled",
    "connect",
    "ensure_current",
    "open_store",
    "opened",
    "pooled",
    "transaction",
    "upgrade",
]


class StoreError(SpoorError):
    """The node database could not be opened or written."""

    FIELDS: ClassVar[tuple[str, ...]] = ("reason",)

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(reason)


class SchemaTooNew(StoreError):
    """The database was written by a newer release; this one will not touch it."""

    FIELDS = ("path", "found", "known")

    def __init__(self, path: Path, found: int, known: int) -> None:
        self.path = path
        self.found = found
        self.known = known
        super().__init__(
            f"{path}: the node database has schema version {found}, but this version of "
            f"spoor knows versions up to {known}. Nothing was changed. Run the newer spoor "
            "release that wrote it, or restore the backup copy (node.db.v*-*.bak) taken "
            "before its upgrade."
        )


def connect(path: Path) -> Connection:
    """A connection with the pragmas every Spoor connection needs (no schema check).

    Long-running processes open the store once with :func:`open_store` (which
    upgrades it) and use this for later connections.
    """
    return BACKEND.connect(path)


def open_store(path: Path) -> Connection:
    """Open (creating if needed) the node database, upgraded to the current schema."""
    if not path.parent.is_dir():
        raise StoreError(f"{path.parent}: node home does not exist — run 'spoor init' first")
    try:
        conn = connect(path)
    except DatabaseError as exc:
        raise StoreError(f"{path}: cannot open the node database: {exc}") from exc
    try:
        upgrade(conn, path)
    except BaseException:
        conn.close()
        raise
    return conn


def ensure_current(path: Path) -> None:
    """Upgrade the database at ``path`` to the current schema (or refuse a newer one)."""
    with opened(path):
        pass


@contextmanager
def opened(path: Path, *, check_schema: bool = True) -> Iterator[Connection]:
    """Hold a connection for the block and close it after, whatever happens.

    ``check_schema=False`` skips the version check for hot paths of a node
    whose store was opened (and upgraded) at start-up.
    """
    conn = open_store(path) if check_schema else connect(path)
    try:
        yield conn
    finally:
        conn.close()


@contextmanager
def pooled(path: Path) -> Iterator[Connection]:
    """Borrow a reused connection for a running node's per-call paths (no schema check).

    Like ``opened(path, check_schema=False)`` but the connection comes from the
    process's pool for ``path`` and goes back to it; commits made on it are
    group-durable (see :mod:`node.store.pool` for exactly what that keeps).
    A node closes its pool with :func:`close_pooled` when it stops.
    """
    with pool.pool_for(path, connect).connection() as conn:
        yield conn


def close_pooled(path: Path) -> None:
    """Close the pooled connections of ``path`` (after syncing what they wrote)."""
    pool.close_pool(path)


@contextmanager
def transaction(conn: Connection) -> Iterator[Connection]:
    """Run a block in one write transaction: all of it commits, or none."""
    BACKEND.begin_write(conn)
    try:
        yield conn
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    else:
        conn.execute("COMMIT")


def backup_path(path: Path, version: int, moment: datetime | None = None) -> Path:
    stamp = (moment or datetime.now(UTC)).strftime("%Y%m%dT%H%M%S%fZ")
    return path.with_name(f"{path.name}.v{version}-{stamp}.bak")


def upgrade(conn: Connection, path: Path) -> int:
    """Bring the database to :data:`migrations.LATEST`; the version it had.

    A database already current costs two small reads. An older one is copied first
    (mode 0600, next to it) and then upgraded in one write transaction, so an
    interrupted upgrade leaves the old version in place. A newer one raises
    :class:`SchemaTooNew` before anything is written.
    """
    try:
        tables = BACKEND.tables(conn)
        version = migrations.recorded_version(conn, tables)
        if version > migrations.LATEST:
            raise SchemaTooNew(path, version, migrations.LATEST)
        if version == migrations.LATEST:
            return version
        backup = backup_path(path, version) if tables else None
        if backup is not None:  # an existing home (an empty new file needs no copy)
            BACKEND.backup(conn, backup)
    except DatabaseError as exc:
        raise StoreError(f"{path}: cannot open the node database: {exc}") from exc
    try:
        with transaction(conn):
            # Another process may have upgraded it while we copied.
            version = migrations.recorded_version(conn, BACKEND.tables(conn))
            if version > migrations.LATEST:
                raise SchemaTooNew(path, version, migrations.LATEST)
            for step in migrations.pending(version):
                step.apply(conn)
            if version < migrations.LATEST:
                migrations.record_version(conn, migrations.LATEST)
    except DatabaseError as exc:
        kept = f"; a copy taken before the attempt is at {backup}" if backup else ""
        raise StoreError(
            f"{path}: could not upgrade the node database from schema version {version} to "
            f"{migrations.LATEST} ({exc}); nothing was changed{kept}"
        ) from exc
    return version
