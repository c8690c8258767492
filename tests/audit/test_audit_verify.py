"""Verification: every tamper case is found at the first bad entry; checkpoints catch truncation."""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

import node.store
from node import audit
from node.app.home import NodeHome
from node.audit.chain import AuditEntry
from node.audit.checkpoint import sign_checkpoint
from node.cli.audit_cmd import audit as audit_cli
from tests.audit.helpers import forge_entry, record, reseal

ENTRIES = 6


@pytest.fixture
def trail(conn: sqlite3.Connection) -> list[AuditEntry]:
    """Six entries of different kinds, with personal content on some."""
    out = [
        record(conn, "node.initialized", actor="node"),
        record(conn, "peer.added", counterpart="vn-ems", actor="operator.mwangi"),
        record(
            conn,
            "match.requested",
            counterpart="vn-ems",
            officer="Sgt Achieng",
            case_reference="KWS/2026/0042",
            key_types=["passport"],
            elements=40,
            hits=2,
        ),
        record(conn, "match.served", counterpart="vn-ems", elements=25),
        record(conn, "disclosure.requested", counterpart="vn-ems", justification="broker link"),
        record(conn, "records.imported", actor="node", elements=500),
    ]
    assert len(out) == ENTRIES
    return out


def cut_tail(conn: sqlite3.Connection, keep: int) -> None:
    """Delete every entry after ``keep`` with its personal content, as a careful attacker would."""
    conn.execute("DELETE FROM audit_entries WHERE seq > ?", (keep,))
    conn.execute("DELETE FROM audit_personal WHERE seq > ?", (keep,))


def first(conn: sqlite3.Connection, **kwargs: object) -> audit.Problem:
    report = audit.verify(conn, **kwargs)  # type: ignore[arg-type]
    assert not report.ok
    problem = report.first_problem
    assert problem is not None
    return problem


class TestIntactTrail:
    def test_intact_trail_verifies(self, conn: sqlite3.Connection, trail: list[AuditEntry]) -> None:
        """An untouched trail verifies with its length, head and personal values checked."""
        report = audit.verify(conn)
        assert report.ok
        assert report.entry_count == ENTRIES
        assert report.head_hash == trail[-1].entry_hash
        assert report.personal_values_checked == 6

    def test_empty_trail_verifies(self, conn: sqlite3.Connection) -> None:
        """A node with no entries yet has a valid, empty trail."""
        report = audit.verify(conn)
        assert report.ok
        assert report.entry_count == 0

    def test_backdated_entry_is_a_warning(
        self, conn: sqlite3.Connection, trail: list[AuditEntry]
    ) -> None:
        """An entry dated before its predecessor is flagged without failing the check."""
        record(conn, "peer.removed", at=datetime(2020, 1, 1, tzinfo=UTC), counterpart="vn-ems")
        report = audit.verify(conn)
        assert report.ok
        assert len(report.warnings) == 1
        assert f"entry {ENTRIES + 1} is dated 2020-01-01" in report.warnings[0]


class TestTamperCases:
    def test_modified_entry(self, conn: sqlite3.Connection, trail: list[AuditEntry]) -> None:
        """Changing a stored field is reported at that entry as modified."""
        conn.execute("UPDATE audit_entries SET hits = 0 WHERE seq = 3")
        problem = first(conn)
        assert (problem.seq, problem.kind) == (3, "modified")

    def test_modified_entry_with_recomputed_hash(
        self, conn: sqlite3.Connection, trail: list[AuditEntry]
    ) -> None:
        """Re-hashing only the altered entry breaks the link from the next one."""
        conn.execute("UPDATE audit_entries SET elements = 4 WHERE seq = 3")
        reseal(conn, 3)
        conn.execute(
            "UPDATE audit_entries SET prev_hash = ?, entry_hash = ? WHERE seq > 3",
            (trail[2].entry_hash, trail[3].entry_hash),
        )
        problem = first(conn)
        assert problem.seq == 4

    def test_deleted_entry(self, conn: sqlite3.Connection, trail: list[AuditEntry]) -> None:
        """Deleting an entry in the middle is reported as missing at its sequence number."""
        conn.execute("DELETE FROM audit_entries WHERE seq = 3")
        problem = first(conn)
        assert (problem.seq, problem.kind) == (3, "missing")

    def test_inserted_entry(self, conn: sqlite3.Connection, trail: list[AuditEntry]) -> None:
        """An entry slipped in between (later ones renumbered) is found right after the insert."""
        for table in ("audit_entries", "audit_personal"):
            conn.execute(f"UPDATE {table} SET seq = seq + 100 WHERE seq >= 3")
            conn.execute(f"UPDATE {table} SET seq = seq - 99 WHERE seq >= 103")
        forge_entry(conn, 3, trail[1].entry_hash, "peer.removed")
        problem = first(conn)
        assert problem.seq == 4
        assert problem.kind in {"modified", "broken link"}

    def test_reordered_entries(self, conn: sqlite3.Connection, trail: list[AuditEntry]) -> None:
        """Swapping two entries is reported at the first of them."""
        conn.execute("UPDATE audit_entries SET seq = -1 WHERE seq = 2")
        conn.execute("UPDATE audit_entries SET seq = 2 WHERE seq = 3")
        conn.execute("UPDATE audit_entries SET seq = 3 WHERE seq = -1")
        problem = first(conn)
        assert problem.seq == 2

    def test_altered_personal_content(
        self, conn: sqlite3.Connection, trail: list[AuditEntry]
    ) -> None:
        """Changing a stored officer name no longer matches the commitment in the chain."""
        conn.execute("UPDATE audit_personal SET value = 'Someone Else' WHERE field = 'officer'")
        problem = first(conn)
        assert (problem.seq, problem.kind) == (3, "personal content altered")


class TestCheckpoints:
    def test_truncated_tail_found_by_stored_checkpoint(
        self, conn: sqlite3.Connection, trail: list[AuditEntry], home: NodeHome
    ) -> None:
        """Cutting off the newest entries is caught by a checkpoint stored earlier."""
        audit.write_checkpoint(conn, home)
        cut_tail(conn, keep=4)
        problem = first(conn)
        assert (problem.seq, problem.kind) == (5, "truncated")

    def test_truncated_tail_found_by_external_checkpoint(
        self, conn: sqlite3.Connection, trail: list[AuditEntry], home: NodeHome
    ) -> None:
        """With stored checkpoints also deleted, the auditor's copy still reveals the cut."""
        held = audit.write_checkpoint(conn, home)
        cut_tail(conn, keep=4)
        conn.execute("DELETE FROM audit_checkpoints")
        assert audit.verify(conn).ok  # the chain alone cannot tell
        problem = first(conn, external=held)
        assert (problem.seq, problem.kind) == (5, "truncated")

    def test_rewritten_history_found_by_external_checkpoint(
        self, conn: sqlite3.Connection, trail: list[AuditEntry], home: NodeHome
    ) -> None:
        """A fully re-hashed history no longer matches the head the checkpoint vouches for."""
        held = audit.write_checkpoint(conn, home)
        conn.execute("DELETE FROM audit_checkpoints")
        conn.execute("UPDATE audit_entries SET hits = 0 WHERE seq = 3")
        reseal(conn, 3)
        problem = first(conn, external=held)
        assert (problem.seq, problem.kind) == (ENTRIES, "rewritten")

    def test_forged_stored_checkpoint(
        self, conn: sqlite3.Connection, trail: list[AuditEntry], home: NodeHome
    ) -> None:
        """A stored checkpoint whose count was edited fails its signature."""
        audit.write_checkpoint(conn, home)
        conn.execute("UPDATE audit_checkpoints SET entry_count = 3")
        problem = first(conn)
        assert problem.kind == "bad checkpoint"

    def test_checkpoint_from_another_key(
        self, conn: sqlite3.Connection, trail: list[AuditEntry], home: NodeHome
    ) -> None:
        """A validly signed checkpoint from a key other than the node's is rejected."""
        with node.store.transaction(conn):
            audit.create_first_key(conn, home)
        other = sign_checkpoint(
            Ed25519PrivateKey.generate(), ENTRIES, trail[-1].entry_hash, trail[-1].ts
        )
        assert other.signature_valid()
        problem = first(conn, external=other, node_public_key=audit.node_public_key(home))
        assert problem.kind == "bad checkpoint"


class TestVerifyCommand:
    def test_registered_under_spoor(
        self, conn: sqlite3.Connection, trail: list[AuditEntry], home: NodeHome
    ) -> None:
        """'spoor audit verify' and 'spoor stats' are reachable from the main command."""
        from node.cli.main import cli

        runner = CliRunner()
        verified = runner.invoke(cli, ["audit", "verify", "--home", str(home.root)])
        assert verified.exit_code == 0, verified.output
        stats = runner.invoke(cli, ["stats", "--json", "--home", str(home.root)])
        assert stats.exit_code == 0, stats.output
        assert json.loads(stats.output)["total"]["requests_sent"] == 1

    def test_exit_zero_and_one_line_summary(
        self, conn: sqlite3.Connection, trail: list[AuditEntry], home: NodeHome
    ) -> None:
        """A sound trail exits 0 with one summary line."""
        result = CliRunner().invoke(audit_cli, ["verify", "--home", str(home.root)])
        assert result.exit_code == 0, result.output
        assert result.output.count("\n") == 1
        assert result.output.startswith(f"audit trail OK: {ENTRIES} entries")

    def test_exit_one_and_first_bad_entry(
        self, conn: sqlite3.Connection, trail: list[AuditEntry], home: NodeHome
    ) -> None:
        """A tampered trail exits 1 and names the first bad entry and what is wrong."""
        conn.execute("UPDATE audit_entries SET counterpart = 'th-dnp' WHERE seq = 4")
        result = CliRunner().invoke(audit_cli, ["verify", "--home", str(home.root)])
        assert result.exit_code == 1
        assert "first bad entry: entry 4: modified" in result.output

    def test_checkpoint_file_detects_truncation(
        self, conn: sqlite3.Connection, trail: list[AuditEntry], home: NodeHome, tmp_path: Path
    ) -> None:
        """The JSON printed by 'audit checkpoint', kept elsewhere, catches a later truncation."""
        runner = CliRunner()
        printed = runner.invoke(audit_cli, ["checkpoint", "--home", str(home.root)])
        assert printed.exit_code == 0, printed.output
        held = tmp_path / "held-by-auditor.json"
        held.write_text(printed.output)
        assert json.loads(printed.output)["entry_count"] == ENTRIES
        cut_tail(conn, keep=ENTRIES - 1)
        conn.execute("DELETE FROM audit_checkpoints")
        args = ["verify", "--checkpoint", str(held), "--home", str(home.root)]
        result = runner.invoke(audit_cli, args)
        assert result.exit_code == 1
        assert f"entry {ENTRIES}: truncated" in result.output

    def test_unreadable_signing_key_degrades_to_a_warning(
        self, conn: sqlite3.Connection, trail: list[AuditEntry], home: NodeHome
    ) -> None:
        """An auditor without the node's key still gets the chain checked, with a warning."""
        home.audit_key_path.parent.mkdir(parents=True, exist_ok=True)
        home.audit_key_path.write_bytes(b"unreadable")
        result = CliRunner().invoke(audit_cli, ["verify", "--home", str(home.root)])
        assert result.exit_code == 0, result.output
        assert "warning: cannot read the node's audit key" in result.output
        assert f"audit trail OK: {ENTRIES} entries" in result.output

    def test_unreadable_checkpoint_file_is_a_clear_error(
        self, conn: sqlite3.Connection, home: NodeHome, tmp_path: Path
    ) -> None:
        """A file that is not a checkpoint is refused with a message, not a traceback."""
        bogus = tmp_path / "bogus.json"
        bogus.write_text('{"hello": 1}')
        args = ["verify", "--checkpoint", str(bogus), "--home", str(home.root)]
        result = CliRunner().invoke(audit_cli, args)
        assert result.exit_code == 1
        assert "not a Spoor audit checkpoint" in result.output
        assert result.exception is None or isinstance(result.exception, SystemExit)
