"""Reconciling two agencies' trails one to one by transcript hash."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from node import audit
from node.app.home import NodeHome
from node.cli.audit_cmd import audit as audit_cli
from node.store import open_store
from tests.audit.helpers import record

T1, T3 = "a1" * 32, "c3" * 32
R2 = "0b7e3c1e-disclosure"


def _node(root: Path, agency_id: str, country: str) -> tuple[NodeHome, sqlite3.Connection]:
    home = NodeHome(root / agency_id)
    home.root.mkdir()
    home.config_path.write_text(f'agency_id = "{agency_id}"\ncountry = "{country}"\n')
    return home, open_store(home.db_path)


@pytest.fixture
def pair(
    tmp_path: Path, home: NodeHome
) -> Iterator[tuple[NodeHome, sqlite3.Connection, NodeHome, sqlite3.Connection]]:
    """Kenya's and Viet Nam's nodes after one match and one disclosure request between them."""
    del home  # requested only for its store set-up (the audit tables)
    ke, ke_conn = _node(tmp_path, "ke-kws", "KE")
    vn, vn_conn = _node(tmp_path, "vn-ems", "VN")
    record(ke_conn, "match.requested", counterpart="vn-ems", transcript_hash=T1, elements=10)
    record(vn_conn, "match.served", counterpart="ke-kws", transcript_hash=T1, elements=10)
    record(ke_conn, "disclosure.requested", counterpart="vn-ems", request_id=R2)
    record(vn_conn, "disclosure.received", counterpart="ke-kws", request_id=R2)
    record(vn_conn, "records.imported", elements=300)  # takes no part
    yield ke, ke_conn, vn, vn_conn
    ke_conn.close()
    vn_conn.close()


def _export(home: NodeHome, conn: sqlite3.Connection) -> list[str]:
    out = home.exports_dir / "audit.jsonl"
    audit.export_jsonl(conn, home, out)
    return out.read_text().splitlines()


class TestReconcile:
    def test_matching_trails_pair_one_to_one(
        self, pair: tuple[NodeHome, sqlite3.Connection, NodeHome, sqlite3.Connection]
    ) -> None:
        """Each request pairs with its answer on the other node and nothing is left over."""
        ke, ke_conn, vn, vn_conn = pair
        report = audit.reconcile(_export(ke, ke_conn), _export(vn, vn_conn))
        assert report.ok, (report.only_ours, report.only_theirs, report.disagreements)
        assert (report.ours, report.theirs) == ("ke-kws", "vn-ems")
        assert [(a.event, b.event) for a, b in report.paired] == [
            ("match.requested", "match.served"),
            ("disclosure.requested", "disclosure.received"),
        ]

    def test_unpaired_and_disagreeing_entries_are_findings(
        self, pair: tuple[NodeHome, sqlite3.Connection, NodeHome, sqlite3.Connection]
    ) -> None:
        """An answer with no request, and different element counts, are both reported."""
        ke, ke_conn, vn, vn_conn = pair
        record(ke_conn, "match.requested", counterpart="vn-ems", transcript_hash=T3, elements=5)
        record(vn_conn, "match.served", counterpart="ke-kws", transcript_hash=T3, elements=500)
        record(vn_conn, "match.served", counterpart="ke-kws", transcript_hash="dd" * 32)
        report = audit.reconcile(_export(ke, ke_conn), _export(vn, vn_conn))
        assert not report.ok
        assert [s.event for s in report.only_theirs] == ["match.served"]
        assert report.only_ours == []
        assert len(report.disagreements) == 1
        assert "5 elements on our side, 500 on theirs" in report.disagreements[0]

    def test_command_exit_codes(
        self,
        pair: tuple[NodeHome, sqlite3.Connection, NodeHome, sqlite3.Connection],
        tmp_path: Path,
    ) -> None:
        """'spoor audit reconcile' exits 0 when all pairs up and 1 with findings listed."""
        ke, ke_conn, vn, vn_conn = pair
        ours, theirs = tmp_path / "ke.jsonl", tmp_path / "vn.jsonl"
        ours.write_text("\n".join(_export(ke, ke_conn)))
        theirs.write_text("\n".join(_export(vn, vn_conn)))
        runner = CliRunner()
        fine = runner.invoke(audit_cli, ["reconcile", str(ours), str(theirs)])
        assert fine.exit_code == 0, fine.output
        assert "2 exchanges paired between ke-kws and vn-ems" in fine.output
        record(ke_conn, "match.requested", counterpart="vn-ems", transcript_hash=T3)
        ours.write_text("\n".join(_export(ke, ke_conn)))
        gap = runner.invoke(audit_cli, ["reconcile", str(ours), str(theirs)])
        assert gap.exit_code == 1
        assert "only in ours" in gap.output
