"""Two processes appending at once (e.g. 'spoor serve' and an import) never fork the chain."""

from __future__ import annotations

import multiprocessing
import sqlite3
import time
from pathlib import Path
from typing import Any

import pytest

from node import audit
from node.app.home import NodeHome
from node.store import connect, transaction

# About SQLite files themselves: stays on SQLite in a --postgres run.
pytestmark = pytest.mark.sqlite

PER_WORKER = 60


def _append_many(db_path: str, worker: int, count: int, start: Any) -> None:
    conn = connect(Path(db_path))
    start.wait(timeout=30)  # both writers begin together, so their appends contend
    try:
        for n in range(count):
            with transaction(conn):
                conn.execute(
                    "INSERT INTO meta (key, value) VALUES (?, ?)", (f"w{worker}-{n}", "done")
                )
                audit.append(
                    conn, "records.imported", actor=f"worker-{worker}", details={"worker": worker}
                )
            time.sleep(0.002)  # let the other writer take the lock between our transactions
    finally:
        conn.close()


class TestConcurrentAppends:
    def test_two_processes_produce_one_unbroken_chain(
        self, conn: sqlite3.Connection, home: NodeHome
    ) -> None:
        """Entries from two writer processes interleave into one contiguous, verifiable chain."""
        context = multiprocessing.get_context("fork")
        start = context.Barrier(2)
        workers = [
            context.Process(target=_append_many, args=(str(home.db_path), w, PER_WORKER, start))
            for w in (1, 2)
        ]
        for process in workers:
            process.start()
        for process in workers:
            process.join(timeout=120)
        assert all(p.exitcode == 0 for p in workers), [p.exitcode for p in workers]
        seqs = [r[0] for r in conn.execute("SELECT seq FROM audit_entries ORDER BY seq")]
        assert seqs == list(range(1, 2 * PER_WORKER + 1))
        per_worker = dict(
            conn.execute(
                "SELECT json_extract(details, '$.worker'), COUNT(*) FROM audit_entries GROUP BY 1"
            ).fetchall()
        )
        assert per_worker == {1: PER_WORKER, 2: PER_WORKER}
        meta_rows = conn.execute("SELECT COUNT(*) FROM meta WHERE key LIKE 'w%'").fetchone()[0]
        assert meta_rows == 2 * PER_WORKER
        report = audit.verify(conn)
        assert report.ok, report.problems
        assert report.entry_count == 2 * PER_WORKER
