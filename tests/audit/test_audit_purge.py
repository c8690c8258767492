"""Retention purge: personal content goes, the chain still verifies, the purge is logged."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta

import pytest
from click.testing import CliRunner

from node import audit
from node.app.home import NodeHome
from node.cli.audit_cmd import audit as audit_cli
from tests.audit.helpers import record, rows

NOW = datetime(2029, 6, 1, 12, 0, tzinfo=UTC)
OLD = NOW - timedelta(days=4 * 365)
RECENT = NOW - timedelta(days=30)


@pytest.fixture
def aged(conn: sqlite3.Connection) -> None:
    """Two old entries with personal content and one recent one."""
    record(conn, "match.requested", at=OLD, officer="Sgt Achieng", case_reference="KWS/2025/7")
    record(conn, "disclosure.requested", at=OLD, justification="broker link", actor="a.otieno")
    record(conn, "match.requested", at=RECENT, officer="Cpl Njeri", case_reference="KWS/2029/1")


class TestPurge:
    def test_purge_removes_old_personal_content_and_keeps_the_chain(
        self, conn: sqlite3.Connection, aged: None
    ) -> None:
        """Old values and salts are deleted, recent ones kept, and every entry still verifies."""
        report = audit.purge_personal(conn, retention_days=3 * 365, now=NOW)
        assert (report.entries, report.values) == (2, 4)
        remaining = {(r["seq"], r["field"]): r["value"] for r in rows(conn, "audit_personal")}
        assert remaining == {(3, "case_reference"): "KWS/2029/1", (3, "officer"): "Cpl Njeri"}
        stored = " ".join(str(v) for r in rows(conn, "audit_personal") for v in r.values())
        assert "Achieng" not in stored
        assert "broker link" not in stored
        verified = audit.verify(conn)
        assert verified.ok, verified.problems
        assert verified.entry_count == 4

    def test_purge_is_itself_an_audit_entry(self, conn: sqlite3.Connection, aged: None) -> None:
        """The purge appends 'audit.purged' with its counts and cutoff."""
        report = audit.purge_personal(conn, retention_days=3 * 365, now=NOW, actor="dpo")
        last = conn.execute("SELECT * FROM audit_entries ORDER BY seq DESC LIMIT 1").fetchone()
        assert last["event"] == "audit.purged"
        assert last["seq"] == report.entry.seq
        assert '"values_deleted":4' in last["details"]
        assert report.cutoff in last["details"]

    def test_purge_twice_purges_nothing_more(self, conn: sqlite3.Connection, aged: None) -> None:
        """A second purge on the same day finds nothing left to delete."""
        audit.purge_personal(conn, retention_days=3 * 365, now=NOW)
        again = audit.purge_personal(conn, retention_days=3 * 365, now=NOW)
        assert (again.entries, again.values) == (0, 0)
        assert audit.verify(conn).ok

    def test_zero_retention_is_refused(self, conn: sqlite3.Connection, aged: None) -> None:
        """A retention below one day is refused and nothing is deleted."""
        with pytest.raises(audit.AuditError, match="at least 1 day"):
            audit.purge_personal(conn, retention_days=0, now=NOW)
        assert len(rows(conn, "audit_personal")) == 6


class TestPurgeCommand:
    def test_retention_from_spoor_toml(self, conn: sqlite3.Connection, home: NodeHome) -> None:
        """Without --older-than the purge uses [audit] retention_days from spoor.toml."""
        home.config_path.write_text(
            'agency_id = "ke-kws"\ncountry = "KE"\n\n[audit]\nretention_days = 10\n'
        )
        now = datetime.now(UTC)
        record(conn, "peer.added", at=now - timedelta(days=20), actor="operator")
        record(conn, "peer.added", at=now - timedelta(days=5), actor="operator")
        result = CliRunner().invoke(audit_cli, ["purge", "--home", str(home.root)])
        assert result.exit_code == 0, result.output
        assert "purged 1 personal values from 1 entries" in result.output
        assert [r["seq"] for r in rows(conn, "audit_personal")] == [2, 3]
        assert audit.verify(conn).ok

    def test_older_than_overrides_and_default_is_three_years(
        self, conn: sqlite3.Connection, home: NodeHome
    ) -> None:
        """--older-than wins; with no config the default retention is three years."""
        now = datetime.now(UTC)
        record(conn, "peer.added", at=now - timedelta(days=400), actor="operator")
        runner = CliRunner()
        kept = runner.invoke(audit_cli, ["purge", "--home", str(home.root)])
        assert kept.exit_code == 0, kept.output
        assert "(1095 days)" in kept.output
        assert len(rows(conn, "audit_personal")) == 2  # the old entry's and the purge's actor
        purged = runner.invoke(
            audit_cli, ["purge", "--older-than", "365", "--home", str(home.root)]
        )
        assert purged.exit_code == 0, purged.output
        assert 1 not in [r["seq"] for r in rows(conn, "audit_personal")]
