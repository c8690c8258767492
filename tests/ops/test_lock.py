"""One serving process per node home: a second is refused, a killed one leaves no lock."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from node.app.config import load_config
from node.app.home import NodeHome
from node.app.lock import HomeInUse, HomeLock, holder_of
from node.cli.main import cli
from node.rpc.server import build_node
from tests.conftest import init_node
from tests.store.backends import SchemaPerHome

HOLD = """
import sys, time
from pathlib import Path
from node.app.lock import HomeLock
HomeLock(Path(sys.argv[1])).acquire()
print("held", flush=True)
time.sleep(120)
"""


class TestSingleInstance:
    # An SQLite home; a PostgreSQL one is served by replicas together (TestPostgresReplicas).
    @pytest.mark.sqlite
    def test_second_node_on_one_home_is_refused(self, tmp_path: Path) -> None:
        """While one node serves a home, building another on it raises HomeInUse."""
        home = NodeHome(init_node(tmp_path, "ke-kws", "KE"))
        first = build_node(home, load_config(home), listen="127.0.0.1:0")
        try:
            with pytest.raises(HomeInUse, match="already being served"):
                build_node(home, load_config(home), listen="127.0.0.1:0")
            assert holder_of(home.root) is not None
        finally:
            first.stop()
        again = build_node(home, load_config(home), listen="127.0.0.1:0")
        again.stop()

    def test_serve_refuses_with_a_clear_message(self, tmp_path: Path) -> None:
        """`spoor serve` on a home in use exits non-zero naming the holder's pid."""
        root = init_node(tmp_path, "ke-kws", "KE")
        with HomeLock(root):
            result = CliRunner().invoke(
                cli, ["serve", "--home", str(root), "--listen", "127.0.0.1:0"]
            )
        assert result.exit_code != 0
        assert "already being served by process" in result.output
        assert "Stop the other node first" in result.output

    def test_lock_of_a_killed_process_does_not_block(self, tmp_path: Path) -> None:
        """SIGKILL leaves the lock file behind but not the lock: the next node starts."""
        root = init_node(tmp_path, "ke-kws", "KE")
        holder = subprocess.Popen(
            [sys.executable, "-c", HOLD, str(root)], stdout=subprocess.PIPE, text=True
        )
        try:
            assert holder.stdout is not None
            assert holder.stdout.readline().strip() == "held"
            assert holder_of(root) == str(holder.pid)
            with pytest.raises(HomeInUse):
                HomeLock(root).acquire()
        finally:
            holder.send_signal(signal.SIGKILL)
            holder.wait(timeout=10)
        assert (root / "serve.lock").exists()
        deadline = time.monotonic() + 10
        while holder_of(root) is not None and time.monotonic() < deadline:
            time.sleep(0.05)
        lock = HomeLock(root).acquire()
        assert lock.held
        lock.release()

    def test_lock_file_is_private(self, tmp_path: Path) -> None:
        """The lock file is created with mode 0600."""
        root = init_node(tmp_path, "ke-kws", "KE")
        with HomeLock(root):
            assert (root / "serve.lock").stat().st_mode & 0o777 == 0o600


class TestPostgresReplicas:
    def test_replicas_of_a_postgres_home_serve_together(
        self, tmp_path: Path, postgres_homes: SchemaPerHome | None
    ) -> None:
        """Two nodes on one PostgreSQL home both start; the home shows as served until both stop."""
        if postgres_homes is None:
            pytest.skip("PostgreSQL run only (scripts/test-postgres, part of .ci/run)")
        home = NodeHome(init_node(tmp_path, "ke-kws", "KE"))
        nodes = [build_node(home, load_config(home), listen="127.0.0.1:0")]
        try:
            nodes.append(build_node(home, load_config(home), listen="127.0.0.1:0"))
            nodes[0].stop()
            assert holder_of(home.root) is not None
            nodes[1].stop()
        finally:
            for node in nodes:
                node.stop()
        assert holder_of(home.root) is None
        # An exclusive holder still keeps replicas out.
        with HomeLock(home.root), pytest.raises(HomeInUse):
            build_node(home, load_config(home), listen="127.0.0.1:0")
