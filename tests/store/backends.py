"""Running the suite on PostgreSQL: ``pytest --postgres URL`` (or ``SPOOR_TEST_POSTGRES_URL``).

Every node home a test creates gets a schema of its own in that database,
created and migrated ahead of need by a thread (the DDL is the slow part), so
the homes of one test are as separate as they are on SQLite and the suite
runs unchanged. The schema is also written to the home's spoor.toml
(``[store] url``), so ``spoor`` processes a test starts use the same one.
A home that already holds a ``node.db`` file when it is first opened (a
fixture copied from tests/data, a legacy home) stays on SQLite: those tests
are about SQLite files. ``scripts/test-postgres`` starts a throwaway cluster
and runs the suite this way.
"""

from __future__ import annotations

import os
import queue
import secrets
import threading
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import psycopg
import pytest

from node import store
from node.store import location, migrations, postgres
from node.store.backend import BACKEND

ENV = "SPOOR_TEST_POSTGRES_URL"
PREPARED_AHEAD = 4


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--postgres",
        default=os.environ.get(ENV, ""),
        metavar="URL",
        help="run store-touching tests on this PostgreSQL database (one schema per node home)",
    )


class SchemaPerHome:
    """Maps each node home to a fresh schema of one PostgreSQL database."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.run = secrets.token_hex(3)
        self.homes: dict[Path, location.Location] = {}
        # Homes first opened during the running test (not by a module or session fixture):
        # theirs are the schemas :meth:`release` hands back for reuse.
        self.owned: list[Path] = []
        self.in_test = False
        self.lock = threading.Lock()
        self.count = 0
        # Schemas made and migrated ahead, in a thread, while tests run (DDL is the slow part).
        self.ready: queue.Queue[location.Location] = queue.Queue(maxsize=PREPARED_AHEAD)
        # Schemas of finished tests, emptied by the same thread and handed out again:
        # deleting a few rows costs a tenth of creating and migrating a schema.
        self.used: queue.Queue[location.Location] = queue.Queue()
        self.tables: set[str] | None = None
        self.stopping = threading.Event()
        self.maker = threading.Thread(target=self._prepare, name="pg-schemas", daemon=True)
        self.maker.start()

    def _new_schema(self) -> location.Location:
        with self.lock:
            self.count += 1
            schema = f"t{self.run}_{self.count}"
        with psycopg.connect(self.url, autocommit=True) as admin:
            admin.execute(f"CREATE SCHEMA {schema}")
        found = location.Location("postgresql", url=self.url_for(schema))
        assert found.url is not None
        conn = postgres.connect(found.url)
        try:
            store.upgrade(conn, Path(schema))
            if self.tables is None:
                self.tables = BACKEND.tables(conn)
        finally:
            conn.close()
            postgres.close_pools([found.url])
        return found

    def _recycled(self) -> location.Location | None:
        """A finished test's schema emptied for the next home, or None if none is reusable."""
        try:
            found = self.used.get_nowait()
        except queue.Empty:
            return None
        assert found.url is not None
        conn = postgres.connect(found.url)
        try:
            if not self._reusable(conn):
                return None  # a test changed its tables or holds its locks: a fresh one instead
            tables = sorted(t for t in BACKEND.tables(conn) if t != "meta")
            with store.transaction(conn):
                conn.execute("SET LOCAL session_replication_role = replica")  # any order
                for table in tables:
                    conn.execute(f"DELETE FROM {table}")
                conn.execute("DELETE FROM meta WHERE key <> ?", (migrations.VERSION_KEY,))
                postgres.POSTGRES.reset_identities(conn)
        except psycopg.Error:
            return None
        finally:
            conn.close()
            postgres.close_pools([found.url])
        return found

    def _reusable(self, conn: store.Connection) -> bool:
        tables = BACKEND.tables(conn)
        if self.tables is None or tables != self.tables:
            return False
        version = migrations.recorded_version(conn, tables)
        held = conn.execute(
            "SELECT COUNT(*) FROM pg_locks WHERE locktype = 'advisory' AND objsubid = 2"
            " AND objid = (hashtext(current_schema())::bigint & 4294967295)::text::oid"
        ).fetchone()[0]
        return version == migrations.LATEST and int(held) == 0

    def _prepare(self) -> None:
        while not self.stopping.is_set():
            try:
                found = self._recycled() or self._new_schema()
            except Exception:
                self.stopping.wait(1)
                continue
            while not self.stopping.is_set():
                try:
                    self.ready.put(found, timeout=0.5)
                    break
                except queue.Full:
                    continue

    def stop(self) -> None:
        self.stopping.set()
        self.maker.join(timeout=30)

    def url_for(self, schema: str) -> str:
        joiner = "&" if "?" in self.url else "?"
        return f"{self.url}{joiner}options={quote(f'-csearch_path={schema}')}"

    def __call__(self, db_path: Path) -> location.Location | None:
        key = db_path.resolve()
        with self.lock:
            found = self.homes.get(key)
            if found is not None:
                return found
            if key.exists() or not key.parent.is_dir():
                return None  # an SQLite file made before the test opened it, or no home
        found = self.ready.get(timeout=120)
        with self.lock:
            chosen = self.homes.setdefault(key, found)
            if chosen is found and self.in_test:
                self.owned.append(key)
        if chosen is found:
            _tell_children(key.parent, found)
        return chosen

    def begin_test(self) -> None:
        with self.lock:
            self.in_test = True

    def release(self) -> None:
        """After a test: close its homes' pools and hand their schemas back for reuse.

        Homes of module and session fixtures keep their schemas for the whole run.
        """
        with self.lock:
            used = [self.homes.pop(key) for key in self.owned if key in self.homes]
            self.owned.clear()
            self.in_test = False
        postgres.close_pools([loc.url for loc in used if loc.url])
        for found in used:
            self.used.put(found)


def store_dump(conn: store.Connection) -> str:
    """Every row of every table as text, on either backend (``iterdump`` is SQLite's only)."""
    lines: list[str] = []
    for table in sorted(BACKEND.tables(conn)):
        lines.extend(f"{table}: {tuple(row)!r}" for row in conn.execute(f"SELECT * FROM {table}"))
    return "\n".join(lines)


def _tell_children(home: Path, found: location.Location) -> None:
    """Name the schema in the home's spoor.toml, so ``spoor`` processes a test starts use it too."""
    config = home / "spoor.toml"
    if not config.is_file() or location.configured_url(home):
        return
    with config.open("a", encoding="utf-8") as out:
        out.write(f'\n[store]\nurl = "{found.url}"\n')


@pytest.fixture(scope="session")
def postgres_homes(request: pytest.FixtureRequest) -> Iterator[SchemaPerHome | None]:
    """The schema-per-home mapping when the run is on PostgreSQL, else ``None``."""
    url = str(request.config.getoption("--postgres"))
    if not url:
        yield None
        return
    mapping = SchemaPerHome(url)
    location.set_locator(mapping)
    try:
        yield mapping
    finally:
        mapping.stop()
        location.set_locator(None)
        postgres.close_pools()


@pytest.fixture(autouse=True)
def _store_backend(
    request: pytest.FixtureRequest, postgres_homes: SchemaPerHome | None
) -> Iterator[None]:
    """Each test's homes on the selected backend; their connections closed after it.

    A test marked ``sqlite`` reads or writes the SQLite file itself and runs on SQLite.
    """
    if postgres_homes is None:
        yield
        return
    sqlite_only = request.node.get_closest_marker("sqlite") is not None
    if sqlite_only:
        location.set_locator(None)
    postgres_homes.begin_test()
    try:
        yield
    finally:
        postgres_homes.release()
        if sqlite_only:
            location.set_locator(postgres_homes)
