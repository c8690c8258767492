"""A long import holds no write lock while it reads: the node carries on meanwhile.

The import runs in a thread with its own connection and is paused, mid-way,
by its progress callback after its first chunk was staged (so the pause is
certain, not a matter of timing). While it waits, other commands, a starting
``spoor serve`` and a counterpart's match all succeed; then it finishes and
stores everything in one go. Runs on both backends.
"""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest
from click.testing import CliRunner

from node import audit, store
from node.app.config import load_config
from node.app.home import NodeHome
from node.cli.credentials_input import PASSWORD_ENV
from node.cli.main import cli
from node.records.importer import ImportRefusedError, ImportReport, import_file
from node.rpc.server import build_node
from node.store import records as records_repo
from spoor_dev import generate
from tests.conftest import responder_with_peer, spoor, write_jsonl

CONTAINERS = ["MSCU1234566", "TGHU7654320", "MSKU1234502"]
HELD: list[dict[str, object]] = [
    {"record_id": f"KE-S-{i}", "kind": "shipment", "containers": [c], "review_date": "2031-01-01"}
    for i, c in enumerate(CONTAINERS)
]
LONG_IMPORT = 5000  # three chunks of the reader: the pause comes after the first


class PausedImport:
    """``spoor records import``'s work in a thread, held after its first staged chunk."""

    def __init__(self, home: NodeHome, path: Path) -> None:
        self.home = home
        self.path = path
        self.staged = threading.Event()
        self.go_on = threading.Event()
        self.report: ImportReport | None = None
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _progress(self, rows: int) -> None:
        if not self.staged.is_set():
            self.staged.set()
            self.go_on.wait(timeout=120)

    def _run(self) -> None:
        try:
            with store.opened(self.home.db_path) as conn:
                self.report = import_file(conn, self.path, workers=0, progress=self._progress)
        except BaseException as exc:
            self.error = exc
            self.staged.set()

    def __enter__(self) -> PausedImport:
        self.thread.start()
        assert self.staged.wait(timeout=120), "the import never staged its first chunk"
        assert self.error is None, self.error
        return self

    def __exit__(self, *exc: object) -> None:
        self.go_on.set()
        self.thread.join(timeout=120)


@pytest.fixture
def agencies(tmp_path: Path) -> dict[str, Path]:
    return responder_with_peer(tmp_path, HELD)


def cli_ok(*args: str) -> str:
    result = CliRunner().invoke(cli, list(args), env={PASSWORD_ENV: "a long enough passphrase"})
    assert result.exit_code == 0, f"spoor {' '.join(args)}: {result.output}"
    return result.output


class TestLongImport:
    def test_commands_serve_and_matches_succeed_during_a_long_import(
        self, agencies: dict[str, Path], tmp_path: Path
    ) -> None:
        """Mid-import: records list, audit verify, approvals list, serve start-up and a
        counterpart's match succeed; the import then stores all its rows at once."""
        ke = NodeHome(agencies["ke-kws"])
        vn = agencies["vn-customs"]
        big = tmp_path / "register.jsonl"
        generate.write(big, generate.rows(LONG_IMPORT, seed=7, agency="KWS"))
        query = write_jsonl(
            tmp_path / "query.jsonl",
            [
                {"record_id": f"VN-Q-{i}", "kind": "shipment", "containers": [c],
                 "review_date": "2031-01-01"}
                for i, c in enumerate(CONTAINERS)
            ],
        )  # fmt: skip
        with PausedImport(ke, big) as running:
            listed = cli_ok("records", "list", "--home", str(ke.root))
            assert "KE-S-0" in listed
            assert "KWS-" not in listed  # nothing of the import is visible before it commits
            assert "verified" in cli_ok("audit", "verify", "--home", str(ke.root)).lower()
            cli_ok("approvals", "list", "--home", str(ke.root))
            node = build_node(ke, load_config(ke), listen="127.0.0.1:0")  # serve start-up
            try:
                spoor("peers", "add", "--home", str(vn), "ke-kws", "--address",
                      f"127.0.0.1:{node.port}", "--ca", str(ke.ca_cert_path))  # fmt: skip
                out = cli_ok(
                    "match", str(query), "--home", str(vn), "--peer", "ke-kws",
                    "--purpose", "criminal_investigation", "--legal-basis", "CITES-Art-VIII",
                    "--case", "VN-2026-7", "--officer", "Insp. Tran", "--json",
                )  # fmt: skip
            finally:
                node.stop()
            (counterpart,) = json.loads(out)["counterparts"]
            assert counterpart["error"] is None
            assert counterpart["hits"] == len(CONTAINERS)
            assert running.thread.is_alive()  # all of the above happened mid-import
        assert running.error is None, running.error
        assert running.report is not None
        assert running.report.counts.inserted == LONG_IMPORT
        with store.opened(ke.db_path) as conn:
            assert records_repo.count(conn) == len(HELD) + LONG_IMPORT
            assert audit.verify(conn).ok
            events = [r[0] for r in conn.execute("SELECT event FROM audit_entries ORDER BY seq")]
        assert events[-1] == "records.imported"
        assert "match.served" in events

    def test_a_refused_long_import_leaves_nothing_and_never_blocked(
        self, agencies: dict[str, Path], tmp_path: Path
    ) -> None:
        """A file refused at its last row stores nothing; a write made meanwhile is kept."""
        ke = NodeHome(agencies["ke-kws"])
        big = tmp_path / "register.jsonl"
        rows = list(generate.rows(LONG_IMPORT, seed=8, agency="KWS"))
        rows.append({"record_id": "KWS-BAD", "kind": "shipment"})  # no review date
        generate.write(big, rows)
        with PausedImport(ke, big) as running:
            cli_ok("officers", "add", "amina", "--role", "legal_officer", "--home", str(ke.root))
        assert isinstance(running.error, ImportRefusedError)
        with store.opened(ke.db_path) as conn:
            assert records_repo.count(conn) == len(HELD)
            assert audit.verify(conn).ok
        assert "amina" in cli_ok("officers", "list", "--home", str(ke.root))
