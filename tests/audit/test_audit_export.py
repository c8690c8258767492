"""Export for oversight: JSON Lines with hashes, salts and a signed checkpoint."""

from __future__ import annotations

import json
import sqlite3
import stat
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from click.testing import CliRunner

from node import audit
from node.app.home import NodeHome
from node.audit.chain import chain_hash
from node.cli.audit_cmd import audit as audit_cli
from tests.audit.helpers import record

JAN = datetime(2026, 1, 10, tzinfo=UTC)
FEB = datetime(2026, 2, 10, tzinfo=UTC)
MAR = datetime(2026, 3, 10, tzinfo=UTC)


def _populate(conn: sqlite3.Connection) -> None:
    record(conn, "match.requested", at=JAN, counterpart="vn-ems", officer="Sgt Achieng", hits=1)
    record(conn, "match.served", at=FEB, counterpart="th-dnp", elements=30)
    record(conn, "match.requested", at=MAR, counterpart="vn-ems", officer="Cpl Njeri", hits=0)


def _read(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


class TestExport:
    def test_export_holds_header_entries_and_checkpoint(
        self, conn: sqlite3.Connection, home: NodeHome, tmp_path: Path
    ) -> None:
        """The file has a header with the public key, every entry, and a valid checkpoint."""
        _populate(conn)
        out = tmp_path / "audit.jsonl"
        summary = audit.export_jsonl(conn, home, out)
        lines = _read(out)
        assert lines[0]["type"] == "spoor-audit-export"
        assert lines[0]["public_key"] == audit.node_public_key(home)
        assert [line["seq"] for line in lines[1:-1]] == [1, 2, 3, 4]
        assert lines[4]["body"]["event"] == "audit.exported"  # the export records itself
        assert lines[-1]["type"] == "spoor-audit-checkpoint"
        assert summary.checkpoint.entry_count == 4
        assert lines[-1]["head_hash"] == lines[4]["entry_hash"]
        assert lines[1]["personal"]["officer"]["value"] == "Sgt Achieng"
        assert stat.S_IMODE(out.stat().st_mode) == 0o600
        assert audit.verify_export(out.read_text().splitlines()) == []

    def test_export_is_logged(
        self, conn: sqlite3.Connection, home: NodeHome, tmp_path: Path
    ) -> None:
        """Exporting personal content is itself recorded as 'audit.exported'."""
        _populate(conn)
        audit.export_jsonl(conn, home, tmp_path / "a.jsonl", counterpart="vn-ems", actor="dpo")
        last = conn.execute("SELECT * FROM audit_entries ORDER BY seq DESC LIMIT 1").fetchone()
        assert last["event"] == "audit.exported"
        assert last["counterpart"] == "vn-ems"
        assert json.loads(last["details"])["entries"] == 2

    def test_filters_by_period_and_counterpart(
        self, conn: sqlite3.Connection, home: NodeHome, tmp_path: Path
    ) -> None:
        """--since/--until/--counterpart select entries; the file still verifies."""
        _populate(conn)
        out = tmp_path / "vn.jsonl"
        audit.export_jsonl(
            conn, home, out, since=JAN, until=datetime(2026, 3, 1, tzinfo=UTC), counterpart="vn-ems"
        )
        lines = _read(out)
        assert [line["seq"] for line in lines[1:-1]] == [1]
        assert audit.verify_export(out.read_text().splitlines()) == []

    def test_purged_content_is_listed_not_exported(
        self, conn: sqlite3.Connection, home: NodeHome, tmp_path: Path
    ) -> None:
        """After a purge the export names the purged fields and carries no value for them."""
        _populate(conn)
        audit.purge_personal(conn, retention_days=30, now=datetime(2026, 3, 1, tzinfo=UTC))
        out = tmp_path / "after.jsonl"
        audit.export_jsonl(conn, home, out)
        first = _read(out)[1]
        assert first["personal"] == {}
        assert first["purged"] == ["officer"]
        assert "Achieng" not in out.read_text()
        assert audit.verify_export(out.read_text().splitlines()) == []

    def test_tampered_export_is_detected(
        self, conn: sqlite3.Connection, home: NodeHome, tmp_path: Path
    ) -> None:
        """Editing an exported entry or officer name is caught by verify_export."""
        _populate(conn)
        out = tmp_path / "audit.jsonl"
        audit.export_jsonl(conn, home, out)
        text = out.read_text()
        edited = text.replace('"hits": 1', '"hits": 5').splitlines()
        assert [p.kind for p in audit.verify_export(edited)] == ["modified"]
        renamed = text.replace("Sgt Achieng", "Sgt Someone").splitlines()
        assert [p.kind for p in audit.verify_export(renamed)] == ["personal content altered"]

    def test_gaps_and_rewrites_in_a_full_export_are_detected(
        self, conn: sqlite3.Connection, home: NodeHome, tmp_path: Path
    ) -> None:
        """A dropped line, or a re-hashed last entry, no longer fits the signed checkpoint."""
        _populate(conn)
        out = tmp_path / "audit.jsonl"
        audit.export_jsonl(conn, home, out)
        lines = out.read_text().splitlines()
        dropped = [line for n, line in enumerate(lines) if n != 2]
        assert [(p.seq, p.kind) for p in audit.verify_export(dropped)] == [(2, "missing")]
        last = json.loads(lines[-2])
        last["body"]["status"] = "forged"
        last["entry_hash"] = chain_hash(last["prev_hash"], last["body"])
        rewritten = [*lines[:-2], json.dumps(last), lines[-1]]
        assert [(p.seq, p.kind) for p in audit.verify_export(rewritten)] == [(4, "rewritten")]
        assert audit.verify_export(["not json"])[0].kind == "unreadable"


class TestExportCommand:
    def test_export_command_writes_the_file(
        self, conn: sqlite3.Connection, home: NodeHome, tmp_path: Path
    ) -> None:
        """'spoor audit export' writes JSON Lines for the chosen period and counterpart."""
        _populate(conn)
        out = tmp_path / "cli.jsonl"
        args = ["export", "--since", "2026-02-01", "--until", "2026-03-10", "--out", str(out)]
        result = CliRunner().invoke(audit_cli, [*args, "--home", str(home.root)])
        assert result.exit_code == 0, result.output
        assert "exported 2 entries" in result.output  # --until includes the whole day
        assert [line["seq"] for line in _read(out)[1:-1]] == [2, 3]

    def test_verify_export_command(
        self, conn: sqlite3.Connection, home: NodeHome, tmp_path: Path
    ) -> None:
        """'spoor audit verify --export' checks a file alone: 0 when sound, 1 when edited."""
        _populate(conn)
        out = tmp_path / "audit.jsonl"
        audit.export_jsonl(conn, home, out)
        runner = CliRunner()
        fine = runner.invoke(audit_cli, ["verify", "--export", str(out)])
        assert fine.exit_code == 0, fine.output
        assert "export OK: 4 entries" in fine.output
        out.write_text(out.read_text().replace('"hits": 1', '"hits": 7'))
        broken = runner.invoke(audit_cli, ["verify", "--export", str(out)])
        assert broken.exit_code == 1
        assert "first bad entry: entry 1: modified" in broken.output

    def test_bad_date_changes_nothing(self, conn: sqlite3.Connection, home: NodeHome) -> None:
        """An unreadable --since is refused before anything is written."""
        _populate(conn)
        result = CliRunner().invoke(
            audit_cli, ["export", "--since", "last week", "--home", str(home.root)]
        )
        assert result.exit_code == 2
        assert "not a date" in result.output
        assert conn.execute("SELECT COUNT(*) FROM audit_entries").fetchone()[0] == 3
