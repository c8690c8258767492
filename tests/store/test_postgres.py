"""PostgreSQL as the store, and several replicas of one node on one database.

The replica tests run in a ``--postgres`` run (``scripts/test-postgres``, part
of .ci/run); each replica is a process of its own with its own connection pool.
"""

from __future__ import annotations

import multiprocessing
import threading
from pathlib import Path
from typing import Any

import psycopg
import pytest

from node import audit, store
from node.app.home import NodeHome
from node.match import budget
from node.store import location
from node.store.postgres import APPLICATION_NAME, translate
from tests.store.backends import SchemaPerHome

REPLICAS = 2
CLIENTS_PER_REPLICA = 5


@pytest.fixture
def pg_home(tmp_path: Path, postgres_homes: SchemaPerHome | None) -> NodeHome:
    """A node home whose database is a fresh PostgreSQL schema."""
    if postgres_homes is None:
        pytest.skip("PostgreSQL run only (scripts/test-postgres, part of .ci/run)")
    root = tmp_path / "home"
    root.mkdir()
    home = NodeHome(root)
    store.ensure_current(home.db_path)
    assert store.located(home.db_path).engine == "postgresql"
    return home


def _replica_charges(db_path: str, clients: int, limit: int, start: Any, out: Any) -> None:
    """One replica: ``clients`` threads each trying to charge 10 elements, as servicers do."""
    granted: list[int] = []
    failed: list[BaseException] = []

    def client() -> None:
        conn = store.connect(Path(db_path))
        try:
            start.wait(timeout=30)
            for _ in range(4):
                try:
                    budget.charge(conn, "tz-tawa", 10, limit)
                    granted.append(10)
                except budget.BudgetExceeded:
                    pass
        except BaseException as exc:
            failed.append(exc)
        finally:
            conn.close()

    threads = [threading.Thread(target=client) for _ in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    if failed:
        raise failed[0]
    out.put(sum(granted))


def _replica_appends(db_path: str, replica: int, count: int, start: Any) -> None:
    conn = store.connect(Path(db_path))
    start.wait(timeout=30)
    try:
        for _ in range(count):
            with store.transaction(conn):
                audit.append(conn, "records.imported", actor=f"replica-{replica}", details={})
    finally:
        conn.close()


def _run(processes: list[multiprocessing.process.BaseProcess]) -> None:
    for p in processes:
        p.start()
    for p in processes:
        p.join(timeout=180)
    assert [p.exitcode for p in processes] == [0] * len(processes)


class TestReplicas:
    def test_budget_is_atomic_across_replicas(self, pg_home: NodeHome) -> None:
        """10 concurrent clients spread over 2 replicas never charge past the limit."""
        limit = 150  # 40 attempts of 10 elements: 15 can be granted, 25 must be refused
        ctx = multiprocessing.get_context("fork")
        start, out = ctx.Barrier(REPLICAS * CLIENTS_PER_REPLICA), ctx.Queue()
        _run(
            [
                ctx.Process(
                    target=_replica_charges,
                    args=(str(pg_home.db_path), CLIENTS_PER_REPLICA, limit, start, out),
                )
                for _ in range(REPLICAS)
            ]
        )
        granted = sum(out.get(timeout=10) for _ in range(REPLICAS))
        with store.opened(pg_home.db_path) as conn:
            used = budget.used(conn, "tz-tawa", budget.current_period())
        assert used == granted == limit

    def test_audit_trail_is_one_chain_under_appends_from_both(self, pg_home: NodeHome) -> None:
        """Concurrent appends from two replicas form one contiguous chain that verifies."""
        per_replica = 40
        ctx = multiprocessing.get_context("fork")
        start = ctx.Barrier(REPLICAS)
        _run(
            [
                ctx.Process(
                    target=_replica_appends, args=(str(pg_home.db_path), r, per_replica, start)
                )
                for r in range(REPLICAS)
            ]
        )
        with store.opened(pg_home.db_path) as conn:
            seqs = [r[0] for r in conn.execute("SELECT seq FROM audit_entries ORDER BY seq")]
            report = audit.verify(conn)
        assert seqs == list(range(1, REPLICAS * per_replica + 1))
        assert report.ok, report.problems

    def test_background_jobs_have_one_leader(self, pg_home: NodeHome) -> None:
        """Of two replicas only one leads the jobs; when it lets go, the other takes over."""
        first = store.JobsLeadership(pg_home.db_path)
        second = store.JobsLeadership(pg_home.db_path)
        try:
            assert first.held()
            assert not second.held()
            assert first.held()  # leading is kept, not re-won each pass
            first.release()
            assert second.held()
            assert not first.held()
        finally:
            first.release()
            second.release()

    def test_a_write_on_one_replica_is_read_on_the_other(self, pg_home: NodeHome) -> None:
        """What one replica commits, another process reads at once (no per-replica state)."""
        ctx = multiprocessing.get_context("fork")

        def write() -> None:
            with store.opened(pg_home.db_path) as conn, store.transaction(conn):
                conn.execute("INSERT INTO meta (key, value) VALUES (?, ?)", ("seen", "yes"))

        _run([ctx.Process(target=write)])
        with store.opened(pg_home.db_path) as conn:
            row = conn.execute("SELECT value FROM meta WHERE key = ?", ("seen",)).fetchone()
        assert row["value"] == "yes"


class TestServerRestart:
    def test_sessions_lost_to_a_restart_are_replaced(
        self, pg_home: NodeHome, postgres_homes: SchemaPerHome
    ) -> None:
        """After the server drops every node session (as a restart does) the next call works."""
        with store.opened(pg_home.db_path) as conn, store.transaction(conn):
            audit.append(conn, "records.imported", actor="before", details={})
        with psycopg.connect(postgres_homes.url, autocommit=True) as admin:
            dropped = admin.execute(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                "WHERE application_name = %s",
                (APPLICATION_NAME,),
            ).fetchone()
        assert dropped is not None
        assert dropped[0] >= 1
        with store.opened(pg_home.db_path) as conn, store.transaction(conn):
            audit.append(conn, "records.imported", actor="after", details={})
        with store.opened(pg_home.db_path) as conn:
            report = audit.verify(conn)
        assert report.ok
        assert report.entry_count == 2


class TestStoreUrl:
    def test_default_is_the_home_file(self, tmp_path: Path, monkeypatch: Any) -> None:
        """Without store.url or SPOOR_STORE_URL a home's database is its node.db file."""
        monkeypatch.delenv(location.ENV_URL, raising=False)
        assert location.parse("", tmp_path / "node.db") == location.Location(
            "sqlite", path=tmp_path / "node.db"
        )

    def test_sqlite_url_names_a_file(self, tmp_path: Path) -> None:
        """sqlite:////abs/path puts the database at that path."""
        found = location.parse(f"sqlite:///{tmp_path}/x.db", tmp_path / "node.db")
        assert found.path == tmp_path / "x.db"

    @pytest.mark.parametrize(
        ("url", "says"),
        [
            ("mysql://db/spoor", "unknown store URL"),
            ("postgresql://db.internal", "name the database"),
            ("sqlite:///relative.db", "absolute file path"),
        ],
    )
    def test_bad_url_is_refused_clearly(self, tmp_path: Path, url: str, says: str) -> None:
        """An unusable store URL is an error saying what to write instead."""
        with pytest.raises(location.BadStoreUrl, match=says):
            location.parse(url, tmp_path / "node.db")

    def test_password_never_shown(self) -> None:
        """Messages name a PostgreSQL store without its password."""
        shown = location.Location("postgresql", url="postgresql://spoor:s3cret@db/spoor").describe()
        assert "s3cret" not in shown
        assert shown == "postgresql://spoor:***@db/spoor"

    def test_bad_url_in_config_is_a_config_error(self, tmp_path: Path) -> None:
        """spoor.toml with a bad store.url names the key and changes nothing."""
        from node.app.config import ConfigError, load_config

        home = NodeHome(tmp_path)
        home.config_path.write_text(
            'agency_id = "ke-kws"\ncountry = "KE"\n[store]\nurl = "mysql://x/y"\n'
        )
        with pytest.raises(ConfigError, match=r"store\.url"):
            load_config(home)
        assert not home.db_path.exists()


class TestDialect:
    def test_placeholders_and_sqlite_ddl_are_translated(self) -> None:
        """Repositories' SQLite spelling becomes PostgreSQL's; literals are left alone."""
        assert translate("SELECT a FROM t WHERE b = ? AND c LIKE 'x?%'") == (
            "SELECT a FROM t WHERE b = %s AND c LIKE 'x?%%'"
        )
        assert translate("CREATE TABLE t (id INTEGER PRIMARY KEY, n INTEGER) WITHOUT ROWID") == (
            "CREATE TABLE t (id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY, n BIGINT)"
        )
