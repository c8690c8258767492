"""The responder's decisions on disclosure requests, and bad input that changes nothing."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from node.disclosure import DENY, NOT_RELEASABLE, PENDING_APPROVAL, RELEASE
from node.disclosure.model import parse_iso
from node.errors import DisclosureNotFound, InvalidRequest, VersionMismatch
from tests.disclosure.helpers import (
    CANE_RAT,
    IVORY,
    OTHER,
    SUSPECT,
    UNHELD_KEY,
    VICTIM,
    ResponderNode,
    key_of,
)
from tests.officers_support import signed_in

SUSPECT_KEY = key_of(SUSPECT, "passport")
IVORY_KEY = key_of(IVORY, "container")
CANE_RAT_KEY = key_of(CANE_RAT, "container")
VICTIM_KEY = key_of(VICTIM, "passport")


class TestDecisions:
    def test_shipment_released_at_once_with_fields_and_obligations(
        self, responder: ResponderNode
    ) -> None:
        """A releasable shipment comes back at once with the permitted fields and obligations."""
        (item,) = responder.disclose((IVORY_KEY,)).items
        assert item.outcome == RELEASE
        assert item.reason_code == "RELEASED"
        assert item.fields["containers"] == ["MSCU1234566"]
        assert item.fields["quantity"] == "120 kg"
        assert "source" not in item.fields
        assert item.obligations is not None
        assert item.obligations.handling_code == "TLP:AMBER"
        assert item.obligations.retention_days == 365
        assert item.obligations.case_reference == "VN-HCM-2026-044"

    def test_suspect_pending_with_ticket_and_deadline(self, responder: ResponderNode) -> None:
        """A suspect's identity waits for approval: a ticket, a 48-hour deadline, no fields yet."""
        answer = responder.disclose((SUSPECT_KEY,))
        (item,) = answer.items
        assert item.outcome == PENDING_APPROVAL
        assert item.ticket_id
        assert item.deadline is not None
        waited = parse_iso(item.deadline) - parse_iso(item.decided_at)
        assert waited == timedelta(hours=48)
        assert item.fields == {}
        row = responder.conn.execute(
            "SELECT status, two_person, counterpart FROM tickets WHERE ticket_id=?",
            (item.ticket_id,),
        ).fetchone()
        assert tuple(row) == ("pending", 1, "vn-customs")

    def test_keys_of_one_record_share_one_ticket(self, responder: ResponderNode) -> None:
        """Several keys reaching one record open one ticket; approving it answers every key."""
        from node.disclosure import tickets

        phone_key = key_of(SUSPECT, "phone")
        answer = responder.disclose((SUSPECT_KEY, phone_key))
        assert [i.outcome for i in answer.items] == [PENDING_APPROVAL, PENDING_APPROVAL]
        assert len({i.ticket_id for i in answer.items}) == 1
        assert responder.count("tickets") == 1
        ticket_id = str(answer.items[0].ticket_id)
        tickets.approve(responder.conn, ticket_id, signed_in(responder.conn, "Adv. A"))
        tickets.approve(responder.conn, ticket_id, signed_in(responder.conn, "Adv. B"))
        fetched = responder.service.get_disclosure(
            "vn-customs", answer.disclosure_id, include_fields=True
        )
        assert [i.outcome for i in fetched.items] == [RELEASE, RELEASE]
        assert all(i.fields.get("names") for i in fetched.items)

    def test_guard_denies_with_safe_reason_code(self, responder: ResponderNode) -> None:
        """A record stopped by a guard is denied with the guard's safe reason code."""
        (item,) = responder.disclose((CANE_RAT_KEY,)).items
        assert (item.outcome, item.reason_code) == (DENY, "DUAL_CRIMINALITY_NOT_MET")
        assert item.fields == {}
        assert item.obligations is None
        assert item.ticket_id is None

    def test_victim_key_answers_exactly_like_an_unheld_key(self, responder: ResponderNode) -> None:
        """A victim's key and a key the node does not hold get identical answers."""
        victim = responder.disclose((VICTIM_KEY,)).items
        unheld = responder.disclose(
            (UNHELD_KEY,), request_id="9b2f3c1e-6a7d-4e8f-9a0b-1c2d3e4f5a6b"
        ).items
        assert len(victim) == len(unheld) == 1
        assert victim[0].item_id != unheld[0].item_id
        same: tuple[object, ...] = (DENY, NOT_RELEASABLE, {}, None, None, False)
        for item in (victim[0], unheld[0]):
            assert (
                item.outcome,
                item.reason_code,
                item.fields,
                item.obligations,
                item.ticket_id,
                item.overdue,
            ) == same

    def test_keys_are_charged_to_the_element_budget(self, responder: ResponderNode) -> None:
        """Every key of a disclosure request is charged like a match element."""
        answer = responder.disclose((IVORY_KEY, UNHELD_KEY))
        assert answer.elements_charged == 2
        used = responder.conn.execute("SELECT SUM(elements) FROM budget_usage").fetchone()[0]
        assert used == 2

    def test_retry_with_same_request_id_returns_same_disclosure_uncharged(
        self, responder: ResponderNode
    ) -> None:
        """Sending the same request again returns the same disclosure and charges nothing."""
        first = responder.disclose((IVORY_KEY, SUSPECT_KEY))
        again = responder.disclose((IVORY_KEY, SUSPECT_KEY))
        assert again.disclosure_id == first.disclosure_id
        assert again.elements_charged == 0
        assert [i.item_id for i in again.items] == [i.item_id for i in first.items]
        assert responder.count("disclosure_requests") == 1

    def test_reused_request_id_for_other_keys_is_refused(self, responder: ResponderNode) -> None:
        """A request id reused for different keys is refused."""
        responder.disclose((IVORY_KEY,))
        with pytest.raises(InvalidRequest) as err:
            responder.disclose((SUSPECT_KEY,))
        assert err.value.field == "request_id"

    def test_every_step_is_audited_without_keys(self, responder: ResponderNode) -> None:
        """Received, decided and fetched are audited with counts, never the keys."""
        answer = responder.disclose((IVORY_KEY, SUSPECT_KEY, UNHELD_KEY))
        rows = responder.conn.execute(
            "SELECT event, counterpart, details, key_types FROM audit_entries ORDER BY seq"
        ).fetchall()
        events = [r["event"] for r in rows if r["event"].startswith("disclosure.")]
        assert events == ["disclosure.received", "disclosure.decided", "disclosure.fetched"]
        decided = json.loads(
            rows[[r["event"] for r in rows].index("disclosure.decided")]["details"]
        )
        assert decided["disclosure_id"] == answer.disclosure_id
        assert (decided["released"], decided["pending"], decided["denied"]) == (1, 1, 1)
        dump = json.dumps([dict(r) for r in rows])
        assert "C1234567" not in dump
        assert "Z9999999" not in dump


class TestBadInput:
    @pytest.mark.parametrize(
        ("overrides", "field"),
        [
            ({"match_keys": ("passport C1234567",)}, "match_keys[0]"),
            ({"match_keys": ("v9|passport|VNM|C1234567",)}, "match_keys[0]"),
            ({"match_keys": ()}, "match_keys"),
            ({"legal_basis": ""}, "legal_basis"),
            ({"case_reference": "  "}, "case_reference"),
            ({"legal_basis": "MADE-UP-TREATY"}, "legal_basis"),
            ({"requested_fields": ()}, "requested_fields"),
            ({"requested_fields": ("favourite_colour",)}, "requested_fields"),
            ({"potential_charges": ("jaywalking",)}, "potential_charges"),
            ({"request_id": "not-a-uuid"}, "request_id"),
        ],
    )
    def test_refused_with_field_and_nothing_changed(
        self, responder: ResponderNode, overrides: dict[str, object], field: str
    ) -> None:
        """Malformed keys, a missing legal basis or case reference: refused, nothing changed."""
        audit_before = responder.count("audit_entries")
        overrides.setdefault("match_keys", (IVORY_KEY,))
        keys = overrides.pop("match_keys")
        with pytest.raises(InvalidRequest) as err:
            responder.disclose(keys, **overrides)  # type: ignore[arg-type]
        assert err.value.field == field
        assert responder.count("disclosure_requests") == 0
        assert responder.count("disclosure_decisions") == 0
        assert responder.count("budget_usage") == 0
        assert responder.count("audit_entries") == audit_before

    def test_wrong_protocol_version_is_refused(self, responder: ResponderNode) -> None:
        """A request in another protocol version is refused before anything is stored."""
        with pytest.raises(VersionMismatch):
            responder.disclose((IVORY_KEY,), protocol_version=99)
        assert responder.count("disclosure_requests") == 0


class TestGetDisclosure:
    def test_unknown_and_foreign_disclosures_look_the_same(self, responder: ResponderNode) -> None:
        """Another agency's disclosure id is answered exactly like an unknown one."""
        answer = responder.disclose((IVORY_KEY,))
        with pytest.raises(DisclosureNotFound) as foreign:
            responder.service.get_disclosure(OTHER, answer.disclosure_id, include_fields=True)
        with pytest.raises(DisclosureNotFound) as unknown:
            responder.service.get_disclosure(
                OTHER, "00000000-0000-4000-8000-000000000000", include_fields=True
            )
        assert foreign.value.what == unknown.value.what == "disclosure request"
        assert str(foreign.value).replace(answer.disclosure_id, "X") == str(unknown.value).replace(
            "00000000-0000-4000-8000-000000000000", "X"
        )

    def test_fields_delivered_only_when_asked(self, responder: ResponderNode) -> None:
        """Status-only reads carry no released fields; a fetch does."""
        answer = responder.disclose((IVORY_KEY,))
        status = responder.service.get_disclosure(
            "vn-customs", answer.disclosure_id, include_fields=False
        )
        fetched = responder.service.get_disclosure(
            "vn-customs", answer.disclosure_id, include_fields=True
        )
        assert status.items[0].outcome == RELEASE
        assert status.items[0].fields == {}
        assert fetched.items[0].fields["quantity"] == "120 kg"
        assert fetched.items[0].match_key == ""
