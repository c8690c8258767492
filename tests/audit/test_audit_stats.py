"""Cooperation figures from the audit trail ('spoor stats')."""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime, timedelta

import pytest
from click.testing import CliRunner

from node import audit, store
from node.app.home import NodeHome
from node.cli.audit_cmd import stats as stats_cli
from node.store import tickets
from tests.audit.helpers import record

MAY = datetime(2026, 5, 4, 10, 0, tzinfo=UTC)
JUNE = datetime(2026, 6, 8, 10, 0, tzinfo=UTC)
NOW = datetime(2026, 6, 30, tzinfo=UTC)
HOUR = 3600


@pytest.fixture
def cooperation(conn: sqlite3.Connection) -> None:
    """May and June traffic with two counterparts, in both directions."""
    record(conn, "match.requested", at=MAY, counterpart="vn-ems", elements=100, hits=3)
    record(conn, "match.requested", at=JUNE, counterpart="vn-ems", elements=50, hits=1)
    record(conn, "match.served", at=MAY, counterpart="vn-ems", elements=80)
    record(conn, "match.refused", at=MAY, counterpart="th-dnp", status="budget_exceeded")
    record(conn, "match.served", at=JUNE, counterpart="th-dnp", elements=20)
    record(
        conn,
        "disclosure.requested",
        at=MAY,
        counterpart="vn-ems",
        details={"disclosure_id": "d1", "released": 1, "denied": 0, "pending": 2},
    )
    record(conn, "disclosure.received", at=MAY, counterpart="th-dnp")
    record(
        conn,
        "disclosure.decided",
        at=MAY,
        counterpart="th-dnp",
        details={"released": 2, "denied": 1, "pending": 4},
    )
    for waited in (1 * HOUR, 2 * HOUR, 10 * HOUR):
        record(
            conn,
            "disclosure.approved",
            at=JUNE,
            counterpart="th-dnp",
            officer="Legal Officer Mutua",
            details={"ticket_id": f"t{waited}", "waited_seconds": waited},
        )
    record(  # first of two approvals under the two-person rule: not yet a decision
        conn,
        "disclosure.approved",
        at=JUNE,
        counterpart="th-dnp",
        officer="Legal Officer Wekesa",
        status="APPROVAL_RECORDED",
        details={"ticket_id": "t-y", "final": False},
    )
    record(
        conn,
        "disclosure.refused",
        at=JUNE,
        counterpart="th-dnp",
        details={"ticket_id": "t-x", "waited_seconds": 4 * HOUR},
    )
    record(conn, "records.imported", at=MAY, actor="node", elements=5000)


def by_name(report: audit.StatsReport) -> dict[str, audit.CounterpartStats]:
    return {row.counterpart: row for row in report.counterparts}


class TestFigures:
    def test_requests_elements_and_hits(self, conn: sqlite3.Connection, cooperation: None) -> None:
        """Requests sent and received, elements each way and hits are counted per counterpart."""
        rows = by_name(audit.compute_stats(conn, now=NOW))
        assert set(rows) == {"vn-ems", "th-dnp"}  # node-only events make no row
        vn, th = rows["vn-ems"], rows["th-dnp"]
        assert (vn.requests_sent, vn.elements_sent, vn.hits) == (2, 150, 4)
        assert (vn.requests_received, vn.elements_received) == (1, 80)
        assert (th.requests_received, th.requests_refused, th.elements_received) == (1, 1, 20)

    def test_disclosure_outcomes_and_decision_times(
        self, conn: sqlite3.Connection, cooperation: None
    ) -> None:
        """Released, denied and pending follow final decisions; waits give median and p90."""
        report = audit.compute_stats(conn, now=NOW)
        th, vn = by_name(report)["th-dnp"], by_name(report)["vn-ems"]
        assert th.disclosures_received == 1
        assert vn.disclosures_requested == 1
        assert (vn.requested_released, vn.requested_denied, vn.requested_pending) == (1, 0, 2)
        assert (th.released, th.denied, th.pending) == (5, 2, 0)
        assert th.median_decision_seconds == 3 * HOUR
        assert th.p90_decision_seconds == pytest.approx(8.2 * HOUR)
        assert report.total.released == 5
        assert report.total.requests_sent == 2

    def test_reopened_ticket_is_pending_again(
        self, conn: sqlite3.Connection, cooperation: None
    ) -> None:
        """Reopening a refused ticket takes it out of the denied count and back to pending."""
        record(
            conn,
            "ticket.reopened",
            at=JUNE,
            counterpart="th-dnp",
            details={"ticket_id": "t-x", "previous_status": "denied"},
        )
        th = by_name(audit.compute_stats(conn, now=NOW))["th-dnp"]
        assert (th.released, th.denied, th.pending) == (5, 1, 1)

    def test_period_and_counterpart_filters(
        self, conn: sqlite3.Connection, cooperation: None
    ) -> None:
        """Only entries inside [since, until) and for the chosen counterpart are counted."""
        june = datetime(2026, 6, 1, tzinfo=UTC)
        report = audit.compute_stats(conn, since=june, counterpart="vn-ems", now=NOW)
        assert [r.counterpart for r in report.counterparts] == ["vn-ems"]
        assert report.counterparts[0].requests_sent == 1
        assert report.counterparts[0].requests_received == 0
        may_only = audit.compute_stats(conn, until=june, now=NOW)
        assert by_name(may_only)["th-dnp"].pending == 4
        assert by_name(may_only)["th-dnp"].decision_seconds == []

    def test_overdue_from_decided_entries_without_tickets_table(
        self, conn: sqlite3.Connection
    ) -> None:
        """With no ticket on this node, overdue counts come from 'disclosure.decided' entries."""
        record(
            conn, "disclosure.decided", counterpart="th-dnp", details={"pending": 2, "overdue": 1}
        )
        report = audit.compute_stats(conn)
        assert report.overdue_source == "audit entries"
        assert report.counterparts[0].overdue == 1

    def test_overdue_from_tickets_table(self, conn: sqlite3.Connection, cooperation: None) -> None:
        """With tickets on this node, overdue is pending tickets past their deadline, now."""
        past = (NOW - timedelta(hours=5)).isoformat()
        future = (NOW + timedelta(hours=5)).isoformat()
        with store.transaction(conn):
            for ticket_id, counterpart, status, deadline in [
                ("a", "th-dnp", "pending", past),
                ("b", "th-dnp", "pending", future),
                ("c", "th-dnp", "approved", past),
                ("d", "za-sanparks", "pending", past),
            ]:
                add_ticket(conn, ticket_id, counterpart, status, deadline)
        report = audit.compute_stats(conn, now=NOW)
        assert report.overdue_source == "tickets table"
        rows = by_name(report)
        assert rows["th-dnp"].overdue == 1
        assert rows["za-sanparks"].overdue == 1
        assert report.total.overdue == 2


def add_ticket(
    conn: sqlite3.Connection, ticket_id: str, counterpart: str, status: str, deadline: str
) -> None:
    """Store a ticket (with the request and decision it answers) as the responder does."""
    request = {
        "disclosure_id": f"d-{ticket_id}",
        "requester": counterpart,
        "request_id": f"r-{ticket_id}",
        "received_at": NOW.isoformat(),
        "purpose": "criminal_investigation",
        "legal_basis": "TEST-MoU",
        "case_reference": "CASE-1",
        "officer": "Officer",
        "justification": "test",
        "potential_charges": "[]",
        "assurances": "[]",
        "requested_fields": "[]",
        "policy_digest": "p",
        "keys_count": 1,
    }
    tickets.add_request(conn, request)
    tickets.add_decision(
        conn,
        {
            "item_id": f"i-{ticket_id}",
            "disclosure_id": f"d-{ticket_id}",
            "position": 0,
            "key_digest": "k",
            "record_id": "R-1",
            "outcome": "PENDING_APPROVAL",
            "reason_code": "APPROVAL_REQUIRED",
            "fields": "{}",
            "transforms": "{}",
            "denied_by": "[]",
            "explanation": "",
            "decided_at": NOW.isoformat(),
            "ticket_id": ticket_id,
        },
    )
    tickets.add_ticket(
        conn,
        {
            "ticket_id": ticket_id,
            "item_id": f"i-{ticket_id}",
            "disclosure_id": f"d-{ticket_id}",
            "counterpart": counterpart,
            "record_id": "R-1",
            "status": status,
            "created_at": NOW.isoformat(),
            "deadline": deadline,
            "roles": "[]",
            "two_person": 0,
        },
    )


class TestStatsCommand:
    def test_json_output(self, conn: sqlite3.Connection, cooperation: None, home: NodeHome) -> None:
        """--json prints the figures per counterpart and the total."""
        result = CliRunner().invoke(stats_cli, ["--json", "--home", str(home.root)])
        assert result.exit_code == 0, result.output
        data = json.loads(result.output)
        names = [row["counterpart"] for row in data["counterparts"]]
        assert names == ["th-dnp", "vn-ems"]
        assert data["total"]["hits"] == 4
        assert data["counterparts"][0]["median_decision_seconds"] == 3 * HOUR

    def test_table_output(
        self, conn: sqlite3.Connection, cooperation: None, home: NodeHome
    ) -> None:
        """Without --json a readable table lists each counterpart and the total."""
        args = ["--since", "2026-05-01", "--until", "2026-05-31", "--home", str(home.root)]
        result = CliRunner().invoke(stats_cli, args)
        assert result.exit_code == 0, result.output
        assert "vn-ems" in result.output
        assert "all counterparts" in result.output
        assert "Cooperation figures" in result.output
        assert "2/1/4" in result.output  # th-dnp in May: released/denied/pending

    def test_missing_home_is_a_clear_error(self, tmp_path: object) -> None:
        """A home without a database is reported with what to do, and nothing is created."""
        missing = f"{tmp_path}/nowhere"
        result = CliRunner().invoke(stats_cli, ["--home", missing])
        assert result.exit_code == 1
        assert "No node database" in result.output
