"""The requester's side: request by hit, follow up, store with obligations, export, purge."""

from __future__ import annotations

import csv
import json
import sqlite3
import stat
from collections.abc import Iterator
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from node.disclosure import DisclosureAnswer, DisclosureCall, requester, tickets
from node.disclosure import export as disclosure_export
from node.disclosure.model import now_utc
from node.errors import DisclosureNotFound, InvalidRequest
from node.match.context import request_context
from tests.disclosure.helpers import (
    CANE_RAT,
    IVORY,
    REQUESTER,
    SUSPECT,
    DirectChannel,
    ResponderNode,
    key_of,
    make_requester_db,
)
from tests.officers_support import signed_in

HITS = [
    ("VN-ROW-1", "passport", key_of(SUSPECT, "passport")),
    ("VN-ROW-2", "container", key_of(IVORY, "container")),
    ("VN-ROW-3", "container", key_of(CANE_RAT, "container")),
]
#: Who asks and why, as the investigator gives it on the command line.
REASON_GIVEN: dict[str, Any] = {
    "requester": REQUESTER,
    "purpose": "criminal_investigation",
    "legal_basis": "KE-VN-MoU-2024",
    "case_reference": "VN-HCM-2026-044",
    "officer": "Insp. Tran Thi Mai",
    "justification": "Passport and containers linked to an ivory seizure in Hai Phong.",
    "requested_fields": (
        "identity",
        "date_of_birth",
        "documents",
        "shipment",
        "species",
        "seizure",
    ),
    "justification_required": True,
    "fields_required": True,
}
REASON = request_context(now=now_utc(), **REASON_GIVEN)


@pytest.fixture
def req(tmp_path: Path) -> Iterator[sqlite3.Connection]:
    conn = make_requester_db(tmp_path / "requester", HITS)
    try:
        yield conn
    finally:
        conn.close()


def send(req: sqlite3.Connection, responder: ResponderNode) -> str:
    hits = requester.select_hits(req, "m-1")
    return requester.send_request(req, DirectChannel(responder.service), hits, REASON)


def states(req: sqlite3.Connection) -> dict[str | None, str]:
    return {i.record_id: i.state for i in requester.sent_items(req)}


class TestRequest:
    def test_request_by_match_stores_each_item_state(
        self, req: sqlite3.Connection, responder: ResponderNode
    ) -> None:
        """Asking by match id gives one released, one pending and one denied item."""
        send(req, responder)
        assert states(req) == {
            "VN-ROW-1": "pending",
            "VN-ROW-2": "released",
            "VN-ROW-3": "denied",
        }
        events = [r[0] for r in req.execute("SELECT event FROM audit_entries ORDER BY seq")]
        assert events == ["disclosure.requested", "disclosure.fetched"]

    def test_hits_chosen_by_row(self, req: sqlite3.Connection, responder: ResponderNode) -> None:
        """Choosing rows sends only those rows' keys."""
        hits = requester.select_hits(req, "m-1", rows=[2])
        assert [h.record_id for h in hits] == ["VN-ROW-2"]

    def test_unknown_match_or_hit_is_refused(self, req: sqlite3.Connection) -> None:
        """An unknown match id or hit id is reported and nothing is sent."""
        with pytest.raises(DisclosureNotFound):
            requester.select_hits(req, "no-such-match")
        with pytest.raises(InvalidRequest) as err:
            requester.select_hits(req, "m-1", hit_ids=[999])
        assert err.value.field == "hit"

    def test_missing_justification_is_refused_before_sending(
        self, req: sqlite3.Connection, responder: ResponderNode
    ) -> None:
        """A request without justification is refused locally; the counterpart sees nothing."""
        hits = requester.select_hits(req, "m-1")

        def ask_without_justification() -> str:
            context = request_context(now=now_utc(), **{**REASON_GIVEN, "justification": " "})
            return requester.send_request(req, DirectChannel(responder.service), hits, context)

        with pytest.raises(InvalidRequest) as err:
            ask_without_justification()
        assert err.value.field == "justification"
        assert responder.count("disclosure_requests") == 0


class TestFollowUp:
    def test_fetch_after_two_approvals_stores_with_obligations(
        self, req: sqlite3.Connection, responder: ResponderNode
    ) -> None:
        """After two approvals a fetch stores the suspect's details with their obligations."""
        disclosure_id = send(req, responder)
        channel = DirectChannel(responder.service)
        assert requester.refresh(req, channel, disclosure_id, fetch=True) == 0
        (item,) = [i for i in requester.sent_items(req) if i.record_id == "VN-ROW-1"]
        assert item.ticket_id is not None
        tickets.approve(responder.conn, item.ticket_id, signed_in(responder.conn, "Adv. Wanjiru"))
        tickets.approve(responder.conn, item.ticket_id, signed_in(responder.conn, "Adv. Kamau"))
        assert requester.refresh(req, channel, disclosure_id, fetch=False) == 0
        assert states(req)["VN-ROW-1"] == "released (fetch it)"
        assert requester.refresh(req, channel, disclosure_id, fetch=True) == 1
        assert states(req)["VN-ROW-1"] == "released"
        row = req.execute(
            "SELECT handling_code, retention_days, onward_transfer, fields FROM "
            "disclosures_received WHERE record_id='VN-ROW-1'"
        ).fetchone()
        assert (row[0], row[1], row[2]) == ("H2", 180, "prohibited")
        assert json.loads(row[3])["names"] == ["Nguyen Van Hung"]

    def test_stats_follow_the_counterparts_later_decisions(
        self, req: sqlite3.Connection, responder: ResponderNode
    ) -> None:
        """An item pending when asked counts as released in stats once a refresh sees it so."""
        from node.audit import compute_stats

        disclosure_id = send(req, responder)
        channel = DirectChannel(responder.service)

        def ours() -> tuple[int, int]:
            (stats,) = compute_stats(req).counterparts
            return stats.requested_released, stats.requested_pending

        released_before, pending_before = ours()
        assert pending_before >= 1
        (item,) = [i for i in requester.sent_items(req) if i.record_id == "VN-ROW-1"]
        assert item.ticket_id is not None
        tickets.approve(responder.conn, item.ticket_id, signed_in(responder.conn, "Adv. Wanjiru"))
        tickets.approve(responder.conn, item.ticket_id, signed_in(responder.conn, "Adv. Kamau"))
        requester.refresh(req, channel, disclosure_id, fetch=False)
        assert ours() == (released_before + 1, pending_before - 1)
        requester.refresh(req, channel, disclosure_id, fetch=True)  # no double counting
        assert ours() == (released_before + 1, pending_before - 1)

    def test_counterpart_release_without_obligations_is_refused(
        self, req: sqlite3.Connection, responder: ResponderNode
    ) -> None:
        """Released data arriving without obligations is refused whole; nothing is stored."""

        class Stripping(DirectChannel):
            def disclose(self, request: DisclosureCall) -> DisclosureAnswer:
                answer = super().disclose(request)
                items = [replace(i, obligations=None) for i in answer.items]
                return replace(answer, items=items)

        hits = requester.select_hits(req, "m-1")
        with pytest.raises(requester.CounterpartReplyError):
            requester.send_request(req, Stripping(responder.service), hits, REASON)
        assert req.execute("SELECT COUNT(*) FROM disclosures_sent").fetchone()[0] == 0
        assert req.execute("SELECT COUNT(*) FROM disclosures_received").fetchone()[0] == 0


class TestExport:
    def test_csv_rows_carry_conditions(
        self, req: sqlite3.Connection, responder: ResponderNode, tmp_path: Path
    ) -> None:
        """Every exported CSV row carries handling code, use limits and retention."""
        send(req, responder)
        out = tmp_path / "out" / "released.csv"
        result = disclosure_export.write_export(req, "csv", out)
        assert result.rows == 1
        with out.open(encoding="utf-8") as handle:
            rows = list(csv.DictReader(handle))
        assert rows[0]["handling_code"] == "TLP:AMBER"
        assert rows[0]["use_limited_to_case"] == "yes"
        assert rows[0]["onward_transfer"] == "prohibited"
        assert rows[0]["retention_days"] == "365"
        assert rows[0]["retain_until"]
        assert rows[0]["quantity"] == "120 kg"
        assert stat.S_IMODE(out.stat().st_mode) == 0o600

    def test_xlsx_and_i2_rows_carry_conditions(
        self, req: sqlite3.Connection, responder: ResponderNode, tmp_path: Path
    ) -> None:
        """XLSX rows and every i2 entity and link row carry the handling code and retention."""
        import openpyxl

        send(req, responder)
        book_path = tmp_path / "released.xlsx"
        disclosure_export.write_export(req, "xlsx", book_path)
        sheet = openpyxl.load_workbook(book_path, read_only=True).worksheets[0]
        header, *rows = [list(r) for r in sheet.iter_rows(values_only=True)]
        assert rows[0][header.index("handling_code")] == "TLP:AMBER"
        assert rows[0][header.index("quantity")] == "120 kg"
        result = disclosure_export.write_export(req, "i2", tmp_path / "case.csv")
        entities, links = result.paths
        assert entities.name == "case-entities.csv"
        assert links.name == "case-links.csv"
        for path in (entities, links):
            with path.open(encoding="utf-8-sig") as handle:
                table = list(csv.DictReader(handle))
            assert table
            assert all(r["handling_code"] == "TLP:AMBER" and r["retain_until"] for r in table)
            assert stat.S_IMODE(path.stat().st_mode) == 0o600

    def test_jsonl_rows_carry_conditions(
        self, req: sqlite3.Connection, responder: ResponderNode, tmp_path: Path
    ) -> None:
        """Every JSONL row carries the obligations beside the released fields."""
        send(req, responder)
        out = tmp_path / "released.jsonl"
        disclosure_export.write_export(req, "jsonl", out)
        (row,) = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
        assert row["handling_code"] == "TLP:AMBER"
        assert row["fields"]["containers"] == ["MSCU1234566"]
        assert row["case_reference"] == "VN-HCM-2026-044"

    def test_past_retention_is_not_exported_and_is_purged(
        self, req: sqlite3.Connection, responder: ResponderNode, tmp_path: Path
    ) -> None:
        """Details past retention are left out of exports and purged, with an audit entry."""
        send(req, responder)
        later = now_utc() + timedelta(days=366)
        result = disclosure_export.write_export(req, "csv", tmp_path / "x.csv", now=later)
        assert (result.rows, result.skipped_expired) == (0, 1)
        assert disclosure_export.purge_expired(req, now=now_utc()) == 0
        assert disclosure_export.purge_expired(req, now=later) == 1
        assert req.execute("SELECT COUNT(*) FROM disclosures_received").fetchone()[0] == 0
        purged = req.execute(
            "SELECT details FROM audit_entries WHERE event='records.purged'"
        ).fetchone()
        assert json.loads(purged[0])["disclosures_received"] == 1
