"""A database kept locked by another writer: a clear message and its own exit code."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

import node.store.backend
import node.store.postgres
from node import store
from node.cli.busy import EXIT_BUSY
from node.cli.credentials_input import PASSWORD_ENV
from node.cli.main import cli
from tests.conftest import init_node


class TestBusyDatabase:
    def test_a_write_behind_a_long_writer_exits_busy(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """A command that cannot get the write lock says so, exits 75 and changes nothing."""
        home = init_node(tmp_path, "ke-kws", "KE")
        monkeypatch.setattr(node.store.backend, "BUSY_TIMEOUT_MS", 300)
        monkeypatch.setattr(node.store.postgres, "BUSY_TIMEOUT_MS", 300)
        url = store.located(home / "node.db").url
        node.store.postgres.close_pools([url] if url else [])  # new connections wait 300 ms
        holder = store.connect(home / "node.db")
        try:
            with store.transaction(holder):  # another writer, mid-way through a long import
                result = CliRunner().invoke(
                    cli,
                    ["officers", "add", "amina", "--role", "legal_officer", "--home", str(home)],
                    env={PASSWORD_ENV: "a long enough passphrase"},
                )
        finally:
            holder.close()
        assert result.exit_code == EXIT_BUSY, result.output
        assert "The node database is busy" in result.output
        assert "Nothing was changed" in result.output
        listed = CliRunner().invoke(cli, ["officers", "list", "--home", str(home)])
        assert "amina" not in listed.output


class TestReadersNeverWait:
    @pytest.mark.parametrize(
        "command",
        [["records", "list"], ["audit", "verify"], ["approvals", "list"], ["store", "where"]],
    )
    def test_reads_succeed_while_another_process_writes(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, command: list[str]
    ) -> None:
        """Listing records, verifying the trail and listing approvals do not wait for a writer."""
        home = init_node(tmp_path, "ke-kws", "KE")
        monkeypatch.setattr(node.store.backend, "BUSY_TIMEOUT_MS", 300)
        monkeypatch.setattr(node.store.postgres, "BUSY_TIMEOUT_MS", 300)
        url = store.located(home / "node.db").url
        node.store.postgres.close_pools([url] if url else [])
        holder = store.connect(home / "node.db")
        try:
            with store.transaction(holder):
                holder.execute("INSERT INTO meta (key, value) VALUES (?, ?)", ("import", "running"))
                result = CliRunner().invoke(cli, [*command, "--home", str(home)])
        finally:
            holder.close()
        assert result.exit_code == 0, result.output
