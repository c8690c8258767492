"""Pooled store connections: reused, group-durable, closed with the node."""

from __future__ import annotations

from pathlib import Path

import pytest

from node import store
from node.store.pool import ConnectionPool


def _home_db(tmp_path: Path) -> Path:
    path = tmp_path / "node.db"
    with store.opened(path) as conn:  # creates and upgrades the schema
        conn.execute("SELECT 1")
    return path


@pytest.mark.sqlite  # the pool holds SQLite connections; PostgreSQL's come from psycopg's pool
class TestConnectionPool:
    def test_a_returned_connection_is_lent_again(self, tmp_path: Path) -> None:
        """Two borrows one after the other get the same connection, not a new one."""
        pool = ConnectionPool(lambda: store.connect(_home_db(tmp_path)))
        with pool.connection() as first:
            pass
        with pool.connection() as second:
            assert second is first
        pool.close()

    def test_pooled_commits_are_seen_by_every_other_connection(self, tmp_path: Path) -> None:
        """A write committed on a pooled connection is read by a fresh one at once."""
        path = _home_db(tmp_path)
        with store.pooled(path) as conn, store.transaction(conn):
            conn.execute("CREATE TABLE probe (x INTEGER)")
            conn.execute("INSERT INTO probe VALUES (7)")
        with store.opened(path, check_schema=False) as other:
            assert [r[0] for r in other.execute("SELECT x FROM probe")] == [7]
        store.close_pooled(path)

    def test_pooled_connections_defer_the_sync_and_others_keep_full(self, tmp_path: Path) -> None:
        """Pooled connections commit with synchronous=NORMAL; every other one with FULL."""
        path = _home_db(tmp_path)
        normal, full = 1, 2
        with store.pooled(path) as conn:
            assert conn.execute("PRAGMA synchronous").fetchone()[0] == normal
        with store.opened(path, check_schema=False) as conn:
            assert conn.execute("PRAGMA synchronous").fetchone()[0] == full
        store.close_pooled(path)

    def test_a_pooled_write_is_synced_by_the_flusher(self, tmp_path: Path) -> None:
        """After a pooled write, the flusher fsyncs the write-ahead log on its own."""
        path = _home_db(tmp_path)
        with store.opened(path, check_schema=False) as conn:
            conn.execute("CREATE TABLE probe (x INTEGER)")
        pool = ConnectionPool(lambda: store.connect(path), flush_s=0.0)
        with pool.connection() as conn, store.transaction(conn):
            conn.execute("INSERT INTO probe VALUES (1)")
        for _ in range(500):
            if pool.flushes:
                break
            pool._closed.wait(0.01)
        assert pool.flushes >= 1
        pool.close()

    def test_close_syncs_and_refuses_later_borrows(self, tmp_path: Path) -> None:
        """Closing the pool syncs what it wrote; borrowing afterwards fails loudly."""
        path = _home_db(tmp_path)
        with store.opened(path, check_schema=False) as conn:
            conn.execute("CREATE TABLE probe (x INTEGER)")
        pool = ConnectionPool(lambda: store.connect(path), flush_s=3600)
        with pool.connection() as conn, store.transaction(conn):
            conn.execute("INSERT INTO probe VALUES (1)")
        pool.close()
        assert pool.flushes == 1
        with pytest.raises(RuntimeError, match="closed"), pool.connection():
            pass

    def test_a_connection_left_in_a_transaction_is_not_lent_again(self, tmp_path: Path) -> None:
        """A block that leaves a transaction open loses its connection; the next gets a new one."""
        pool = ConnectionPool(lambda: store.connect(_home_db(tmp_path)))
        with pool.connection() as first:
            first.execute("BEGIN IMMEDIATE")
        with pool.connection() as second:
            assert second is not first
            assert not second.in_transaction
        pool.close()

    def test_a_failed_read_gives_the_connection_back(self, tmp_path: Path) -> None:
        """An error raised inside a read block does not cost the pool its connection."""
        pool = ConnectionPool(lambda: store.connect(_home_db(tmp_path)))
        with pytest.raises(LookupError), pool.connection() as first:
            raise LookupError("no such peer")
        with pool.connection() as second:
            assert second is first
        pool.close()

    def test_closing_a_home_pool_makes_the_next_borrow_open_anew(self, tmp_path: Path) -> None:
        """After close_pooled (a node stopped), a replaced database file is what is read."""
        path = _home_db(tmp_path)
        with store.pooled(path) as conn:
            conn.execute("SELECT 1")
        store.close_pooled(path)
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        fresh = _home_db(tmp_path)
        with store.opened(fresh, check_schema=False) as conn, store.transaction(conn):
            conn.execute("CREATE TABLE marker (x INTEGER)")
        with store.pooled(fresh) as conn:
            names = {r[0] for r in conn.execute("SELECT name FROM sqlite_master")}
        assert "marker" in names
        store.close_pooled(fresh)
