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
* :mod:`node.store.backend` — what differs between database engines;
  :mod:`node.store.postgres` the PostgreSQL one, :mod:`node.store.location`
  which one a home uses (``SPOOR_STORE_URL`` or ``[store] url``).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import ClassVar

from node.errors import SpoorError
from node.store import location, migrations, pool
from node.store.backend import (
    BACKEND,
    BUSY_TIMEOUT_MS,
    SQLITE,
    BusyError,
    Connection,
    DatabaseError,
    Row,
)

__all__ = [
    "BUSY_TIMEOUT_MS",
    "BusyError",
    "Connection",
    "JobsLeadership",
    "Row",
    "SchemaTooNew",
    "StoreError",
    "StoreUnavailable",
    "close_pooled",
    "connect",
    "ensure_current",
    "exists",
    "located",
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


class StoreUnavailable(StoreError):
    """The database server cannot be reached (down, restarting, or the network)."""

    FIELDS = ("where",)

    def __init__(self, where: str) -> None:
        self.where = where
        super().__init__(
            f"{where}: the node database cannot be reached (the server is down, restarting "
            "or unreachable). Nothing was changed. Try again shortly; a running node "
            "reconnects by itself once the server is back."
        )


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
    upgrades it) and use this for later connections. ``path`` is the home's
    ``node.db``; :func:`node.store.location.locate` says where its database is.
    """
    where = located(path)
    if where.url is not None:
        from node.store import postgres

        return postgres.connect(where.url)
    assert where.path is not None
    return SQLITE.connect(where.path)


def located(path: Path) -> location.Location:
    """Where the database of the home holding ``path`` is; :class:`StoreError` if misconfigured."""
    try:
        return location.locate(path)
    except location.BadStoreUrl as exc:
        raise StoreError(f"store.url: {exc}") from exc


def exists(path: Path) -> bool:
    """Whether the home holding ``path`` has a database yet (a PostgreSQL one always has)."""
    where = located(path)
    return where.path is None or where.path.is_file()


class JobsLeadership:
    """Whether this process runs the home's background jobs (one replica of several does).

    SQLite: one node process per home, which always leads. PostgreSQL: the
    replica holding an advisory lock (:class:`node.store.postgres.Leadership`).
    """

    def __init__(self, path: Path) -> None:
        where = located(path)
        self._pg = None
        if where.url is not None:
            from node.store import postgres

            self._pg = postgres.Leadership(where.url)

    @property
    def replicated(self) -> bool:
        """True on PostgreSQL, where several replicas may serve the home."""
        return self._pg is not None

    def held(self) -> bool:
        return True if self._pg is None else self._pg.held()

    def release(self) -> None:
        if self._pg is not None:
            self._pg.release()

    @classmethod
    def of_process(cls, path: Path) -> JobsLeadership:
        """The one leadership of this process for the home at ``path``.

        The background jobs and the held-setup builds of one node ask the same
        lock, so the replica that leads one leads the other.
        """
        key = str(path.resolve())
        with _SHARED_LOCK:
            found = _SHARED.get(key)
            if found is None:
                found = _SHARED[key] = cls(path)
            return found


_SHARED: dict[str, JobsLeadership] = {}
_SHARED_LOCK = threading.Lock()


def open_store(path: Path) -> Connection:
    """Open (creating if needed) the node database, upgraded to the current schema."""
    if not path.parent.is_dir():
        raise StoreError(f"{path.parent}: node home does not exist — run 'spoor init' first")
    try:
        conn = connect(path)
    except DatabaseError as exc:
        where = located(path).describe()
        raise StoreError(f"{where}: cannot open the node database: {exc}") from exc
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
    held = pool.existing(path)
    if held is None and located(path).url is not None:
        # PostgreSQL connections already come from psycopg's pool, and its
        # commits are as durable as any other: nothing to keep here. (A home
        # with a pool is a SQLite one: its spoor.toml is not read per call.)
        conn = connect(path)
        try:
            yield conn
        finally:
            conn.close()
        return
    with (held or pool.pool_for(path, connect)).connection() as conn:
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
        # The common case first, in two indexed reads: the schema is current.
        if BACKEND.has_table(conn, "meta"):
            version = migrations.recorded_version(conn, {"meta"})
            if version == migrations.LATEST:
                return version
        tables = BACKEND.tables(conn)
        version = migrations.recorded_version(conn, tables)
        if version > migrations.LATEST:
            raise SchemaTooNew(path, version, migrations.LATEST)
        if version == migrations.LATEST:
            return version
        backup = backup_path(path, version) if tables else None
        # An existing home (an empty new file needs no copy); PostgreSQL takes none.
        if backup is not None and not BACKEND.backup(conn, backup):
            backup = None
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
