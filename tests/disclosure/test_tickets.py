"""Approval tickets: two-person rule, overdue tickets, reopening, refusals."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from node import officers, store
from node.disclosure import DENY, NOT_RELEASABLE, PENDING_APPROVAL, RELEASE, tickets
from node.disclosure.model import now_utc
from node.errors import DisclosureNotFound, InvalidRequest, TicketStateConflict
from node.officers.credentials import AuthenticatedOfficer, AuthenticationFailed
from tests.disclosure.helpers import REQUESTER, SUSPECT, ResponderNode, key_of
from tests.officers_support import PASSWORD, enrol, signed_in

SUSPECT_KEY = key_of(SUSPECT, "passport")


def pending_ticket(responder: ResponderNode) -> tuple[str, str]:
    """(disclosure id, ticket id) of a fresh request for the suspect."""
    answer = responder.disclose((SUSPECT_KEY,))
    (item,) = answer.items
    assert item.outcome == PENDING_APPROVAL
    assert item.ticket_id is not None
    return answer.disclosure_id, item.ticket_id


def officers_auth(responder: ResponderNode, name: str) -> AuthenticatedOfficer:
    from node.officers.credentials import authenticate

    return authenticate(responder.conn, name, PASSWORD, "000000")


def events(responder: ResponderNode) -> list[str]:
    return [r[0] for r in responder.conn.execute("SELECT event FROM audit_entries ORDER BY seq")]


class TestTwoPersonRule:
    def test_two_different_officers_release_the_record(self, responder: ResponderNode) -> None:
        """One approval is not enough; a second, different officer releases the record."""
        disclosure_id, ticket_id = pending_ticket(responder)
        first = tickets.approve(
            responder.conn, ticket_id, signed_in(responder.conn, "Adv. Wanjiru")
        )
        assert first.status == "pending"
        assert first.approvers == ("Adv. Wanjiru",)
        second = tickets.approve(
            responder.conn, ticket_id, signed_in(responder.conn, "Adv. Kamau"), note="proportionate"
        )
        assert second.status == "approved"
        assert second.decided_by == "Adv. Wanjiru, Adv. Kamau"
        answer = responder.service.get_disclosure(REQUESTER, disclosure_id, include_fields=True)
        (item,) = answer.items
        assert item.outcome == RELEASE
        assert item.fields["documents"][0]["number"] == "C1234567"
        assert item.fields["date_of_birth"] == "1979"
        assert "phones" not in item.fields
        assert item.obligations is not None
        assert item.obligations.handling_code == "H2"

    def test_same_officer_cannot_approve_twice(self, responder: ResponderNode) -> None:
        """The same officer approving again is refused and changes nothing."""
        _, ticket_id = pending_ticket(responder)
        tickets.approve(responder.conn, ticket_id, signed_in(responder.conn, "Adv. Wanjiru"))
        before = events(responder)
        with pytest.raises(TicketStateConflict) as err:
            tickets.approve(responder.conn, ticket_id, signed_in(responder.conn, "Adv. Wanjiru"))
        assert "already approved" in err.value.reason
        ticket = tickets.get_ticket(responder.conn, ticket_id)
        assert ticket.status == "pending"
        assert len(ticket.history) == 1
        assert events(responder) == before

    def test_approvals_are_audited_with_the_final_one_marked(
        self, responder: ResponderNode
    ) -> None:
        """Each approval is audited; only the deciding one is final and carries the wait."""
        _, ticket_id = pending_ticket(responder)
        tickets.approve(responder.conn, ticket_id, signed_in(responder.conn, "Adv. Wanjiru"))
        tickets.approve(responder.conn, ticket_id, signed_in(responder.conn, "Adv. Kamau"))
        rows = responder.conn.execute(
            "SELECT status, details FROM audit_entries WHERE event='disclosure.approved' "
            "ORDER BY seq"
        ).fetchall()
        details = [json.loads(r["details"]) for r in rows]
        assert [d["final"] for d in details] == [False, True]
        assert [r["status"] for r in rows] == ["APPROVAL_RECORDED", "APPROVED"]
        assert "waited_seconds" in details[1]
        assert "waited_seconds" not in details[0]


class TestOverdue:
    def test_overdue_ticket_is_listed_and_cannot_be_approved(
        self, responder: ResponderNode
    ) -> None:
        """Past its deadline a ticket shows as overdue and approving it is refused."""
        _, ticket_id = pending_ticket(responder)
        later = now_utc() + timedelta(hours=49)
        overdue = tickets.list_tickets(responder.conn, overdue_only=True, now=later)
        assert [t.ticket_id for t in overdue] == [ticket_id]
        assert overdue[0].state == "overdue"
        assert tickets.list_tickets(responder.conn, overdue_only=True) == []
        with pytest.raises(TicketStateConflict) as err:
            tickets.approve(
                responder.conn, ticket_id, signed_in(responder.conn, "Adv. Wanjiru"), now=later
            )
        assert err.value.status == "overdue"
        assert tickets.get_ticket(responder.conn, ticket_id).history == ()

    def test_requester_sees_overdue_flag(self, responder: ResponderNode) -> None:
        """The requester's status read marks a ticket past its deadline as overdue."""
        disclosure_id, _ = pending_ticket(responder)
        later = now_utc() + timedelta(hours=49)
        answer = responder.service.get_disclosure(
            REQUESTER, disclosure_id, include_fields=False, now=later
        )
        assert answer.items[0].outcome == PENDING_APPROVAL
        assert answer.items[0].overdue is True

    def test_reopen_gives_new_deadline_and_fresh_round(self, responder: ResponderNode) -> None:
        """Reopening an overdue ticket sets a new deadline; earlier approvals no longer count."""
        _, ticket_id = pending_ticket(responder)
        tickets.approve(responder.conn, ticket_id, signed_in(responder.conn, "Adv. Wanjiru"))
        later = now_utc() + timedelta(hours=49)
        reopened = tickets.reopen(
            responder.conn,
            ticket_id,
            signed_in(responder.conn, "Adv. Kamau"),
            deadline_hours=24,
            now=later,
        )
        assert reopened.status == "pending"
        assert reopened.round == 2
        assert not reopened.overdue
        assert reopened.approvers == ()
        tickets.approve(
            responder.conn, ticket_id, signed_in(responder.conn, "Adv. Wanjiru"), now=later
        )
        done = tickets.approve(
            responder.conn, ticket_id, signed_in(responder.conn, "Adv. Kamau"), now=later
        )
        assert done.status == "approved"
        assert "ticket.reopened" in events(responder)

    def test_reopen_refused_within_deadline_and_after_approval(
        self, responder: ResponderNode
    ) -> None:
        """A ticket still within its deadline, or already approved, cannot be reopened."""
        _, ticket_id = pending_ticket(responder)
        with pytest.raises(TicketStateConflict):
            tickets.reopen(
                responder.conn,
                ticket_id,
                signed_in(responder.conn, "Adv. Kamau"),
                deadline_hours=24,
            )
        tickets.approve(responder.conn, ticket_id, signed_in(responder.conn, "Adv. Wanjiru"))
        tickets.approve(responder.conn, ticket_id, signed_in(responder.conn, "Adv. Kamau"))
        with pytest.raises(TicketStateConflict) as err:
            tickets.reopen(
                responder.conn,
                ticket_id,
                signed_in(responder.conn, "Adv. Kamau"),
                deadline_hours=24,
            )
        assert err.value.status == "approved"


class TestRefusal:
    def test_denied_ticket_shows_only_generic_code(self, responder: ResponderNode) -> None:
        """A refusal reaches the requester as NOT_RELEASABLE; the reason stays home."""
        disclosure_id, ticket_id = pending_ticket(responder)
        tickets.deny(
            responder.conn,
            ticket_id,
            signed_in(responder.conn, "Adv. Wanjiru"),
            reason="cooperating witness",
        )
        (item,) = responder.service.get_disclosure(
            REQUESTER, disclosure_id, include_fields=True
        ).items
        assert (item.outcome, item.reason_code, item.fields) == (DENY, NOT_RELEASABLE, {})
        assert "disclosure.refused" in events(responder)
        details = responder.conn.execute(
            "SELECT details FROM audit_entries WHERE event='disclosure.refused'"
        ).fetchone()[0]
        assert "witness" not in details

    def test_deny_needs_a_reason_and_officer(self, responder: ResponderNode) -> None:
        """Denying without a reason or officer is refused and changes nothing."""
        _, ticket_id = pending_ticket(responder)
        with pytest.raises(InvalidRequest) as err:
            tickets.deny(
                responder.conn, ticket_id, signed_in(responder.conn, "Adv. Wanjiru"), reason=" "
            )
        assert err.value.field == "reason"
        with pytest.raises(InvalidRequest):
            tickets.deny(
                responder.conn, ticket_id, AuthenticatedOfficer("", "off-0", ()), reason="no basis"
            )
        assert tickets.get_ticket(responder.conn, ticket_id).status == "pending"

    def test_unknown_ticket_is_not_found(self, responder: ResponderNode) -> None:
        """An unknown ticket id is reported as not found for every action."""
        with pytest.raises(DisclosureNotFound):
            tickets.get_ticket(responder.conn, "T-000000000000")
        with pytest.raises(DisclosureNotFound):
            tickets.approve(
                responder.conn, "T-000000000000", signed_in(responder.conn, "Adv. Wanjiru")
            )
        with pytest.raises(DisclosureNotFound):
            tickets.deny(
                responder.conn,
                "T-000000000000",
                signed_in(responder.conn, "Adv. Wanjiru"),
                reason="x",
            )


class TestShow:
    def test_detail_carries_request_explanation_and_record(self, responder: ResponderNode) -> None:
        """The officer sees the request, the policy's explanation and the record itself."""
        _, ticket_id = pending_ticket(responder)
        detail = tickets.ticket_detail(responder.conn, ticket_id)
        assert detail.request["legal_basis"] == "KE-VN-MoU-2024"
        assert detail.request["justification"].startswith("Container and passport")
        assert "suspects-two-officers" in detail.decision["explanation"]
        assert detail.decision["fields"]["date_of_birth"] == "1979"
        assert detail.record is not None
        assert detail.record["record_id"] == "KWS-P-001"


class TestOfficerRoster:
    def test_officer_not_on_roster_cannot_decide(self, responder: ResponderNode) -> None:
        """Someone the roster does not know can neither sign in nor decide; nothing changes."""
        _, ticket_id = pending_ticket(responder)
        before = events(responder)
        with pytest.raises(AuthenticationFailed):
            officers_auth(responder, "Mr. Nobody")
        assert events(responder) == [*before, "officer.signin_refused"]
        forged = AuthenticatedOfficer("Mr. Nobody", "off-000000000000", ("legal_officer",))
        with pytest.raises(officers.OfficerNotAuthorized, match="not on this node's roster"):
            tickets.approve(responder.conn, ticket_id, forged)
        with pytest.raises(officers.OfficerNotAuthorized):
            tickets.deny(responder.conn, ticket_id, forged, reason="no")
        assert tickets.get_ticket(responder.conn, ticket_id).history == ()
        assert events(responder) == [*before, "officer.signin_refused"]

    def test_role_must_be_one_the_policy_names(self, responder: ResponderNode) -> None:
        """An officer whose roles the ticket does not ask for is refused, with the roles named."""
        _, ticket_id = pending_ticket(responder)
        enrol(responder.conn, ["Dr. Otieno"], ("data_protection_officer",))
        with pytest.raises(officers.OfficerNotAuthorized, match="legal_officer"):
            tickets.approve(responder.conn, ticket_id, signed_in(responder.conn, "Dr. Otieno"))

    def test_deactivated_officer_loses_authority(self, responder: ResponderNode) -> None:
        """After 'officers remove' even a signed-in officer cannot decide; past acts remain."""
        _, ticket_id = pending_ticket(responder)
        tickets.approve(responder.conn, ticket_id, signed_in(responder.conn, "Adv. Wanjiru"))
        signed_in(responder.conn, "Adv. Kamau")
        with store.transaction(responder.conn):
            officers.deactivate(responder.conn, "Adv. Kamau", actor="t")
        with pytest.raises(officers.OfficerNotAuthorized, match="deactivated"):
            tickets.approve(responder.conn, ticket_id, signed_in(responder.conn, "Adv. Kamau"))
        assert tickets.get_ticket(responder.conn, ticket_id).approvers == ("Adv. Wanjiru",)

    def test_roster_changes_are_validated_and_audited(self, responder: ResponderNode) -> None:
        """Unknown roles are refused; registrations land in the audit trail without clear names."""
        with (
            pytest.raises(officers.RosterError, match="unknown role"),
            store.transaction(responder.conn),
        ):
            officers.add(responder.conn, "Adv. X", ("judge",), actor="t")
        with store.transaction(responder.conn):
            officers.add(responder.conn, "Adv. Y", ("head_of_unit",), actor="t")
        rows = responder.conn.execute(
            "SELECT details FROM audit_entries WHERE event = 'config.changed'"
        ).fetchall()
        assert any("officer registered" in r[0] for r in rows)
        assert not any("Adv. Y" in r[0] for r in rows)

    def test_every_role_the_policy_names_must_be_covered(self, responder: ResponderNode) -> None:
        """With roles legal officer and head of unit, a second legal officer cannot complete it."""
        conn = responder.conn
        with store.transaction(conn):
            officers.add(conn, "Col. Otieno", ("head_of_unit",), actor="t")
        roles = ("legal_officer", "head_of_unit")
        first = officers.authorize(conn, "Adv. Wanjiru", roles, still_needed=roles)
        assert first == "legal_officer"
        with pytest.raises(officers.OfficerNotAuthorized, match="still needs: head_of_unit"):
            officers.authorize(conn, "Adv. Kamau", roles, still_needed=("head_of_unit",))
        second = officers.authorize(conn, "Col. Otieno", roles, still_needed=("head_of_unit",))
        assert second == "head_of_unit"
        # Once every role is covered, any holder of a listed role may add an approval.
        assert officers.authorize(conn, "Adv. Kamau", roles, still_needed=()) == "legal_officer"

    def test_approvals_needed_counts_roles_and_two_person_rule(
        self, responder: ResponderNode
    ) -> None:
        """A ticket needs two approvals under the two-person rule and one per named role."""
        _, ticket_id = pending_ticket(responder)
        ticket = tickets.get_ticket(responder.conn, ticket_id)
        assert ticket.approvals_needed == max(2 if ticket.two_person else 1, len(ticket.roles))
        tickets.approve(responder.conn, ticket_id, signed_in(responder.conn, "Adv. Wanjiru"))
        history = tickets.get_ticket(responder.conn, ticket_id).history
        assert [(a.officer, a.role) for a in history] == [("Adv. Wanjiru", "legal_officer")]


class TestStatsWithSharedTickets:
    def test_one_approval_clears_every_item_of_its_ticket(self, responder: ResponderNode) -> None:
        """Two keys of one record share a ticket; once approved, stats show both released."""
        from node.audit import compute_stats

        answer = responder.disclose((SUSPECT_KEY, key_of(SUSPECT, "phone")))
        (ticket_id,) = {item.ticket_id for item in answer.items}
        assert ticket_id is not None
        before = {s.counterpart: s for s in compute_stats(responder.conn).counterparts}
        assert before[REQUESTER].pending == 2
        tickets.approve(responder.conn, ticket_id, signed_in(responder.conn, "Adv. Wanjiru"))
        tickets.approve(responder.conn, ticket_id, signed_in(responder.conn, "Adv. Kamau"))
        after = {s.counterpart: s for s in compute_stats(responder.conn).counterparts}
        assert (after[REQUESTER].released, after[REQUESTER].pending) == (2, 0)
