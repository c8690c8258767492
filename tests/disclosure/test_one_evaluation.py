"""What the responder sends, stores and explains for a record comes from one evaluation."""

from __future__ import annotations

import json

from click.testing import CliRunner

from node.cli.policy_cmd import policy
from node.disclosure import DENY, NOT_RELEASABLE, PENDING_APPROVAL
from tests.disclosure.helpers import SUSPECT, UNHELD_KEY, VICTIM, ResponderNode, key_of

SUSPECT_KEY = key_of(SUSPECT, "passport")
VICTIM_KEY = key_of(VICTIM, "passport")


def stored(responder: ResponderNode, item_id: str) -> dict[str, object]:
    row = responder.conn.execute(
        "SELECT record_id, outcome, reason_code, denied_by, explanation "
        "FROM disclosure_decisions WHERE item_id=?",
        (item_id,),
    ).fetchone()
    return {
        "record_id": row["record_id"],
        "outcome": row["outcome"],
        "reason_code": row["reason_code"],
        "denied_by": json.loads(row["denied_by"]),
        "explanation": row["explanation"],
    }


def explain_decision(responder: ResponderNode, item_id: str, *extra: str) -> str:
    result = CliRunner().invoke(
        policy,
        ["explain", "--home", str(responder.db_path.parent), "--decision", item_id, *extra],
        catch_exceptions=False,
    )
    assert result.exit_code == 0, result.output
    return result.output


class TestParticipationRefusals:
    """Refusals at the participation stage keep their record, guard and explanation."""

    def test_capital_charge_without_assurance_is_sent_and_stored_with_its_guard(
        self, responder: ResponderNode
    ) -> None:
        """The requester is told an assurance is required; the guard and reason stay on record."""
        (item,) = responder.disclose((SUSPECT_KEY,), potential_charges=("drug_trafficking",)).items
        assert (item.outcome, item.reason_code) == (DENY, "ASSURANCE_REQUIRED")
        row = stored(responder, item.item_id)
        assert row["record_id"] == SUSPECT.record_id
        assert row["reason_code"] == "ASSURANCE_REQUIRED"
        assert row["denied_by"] == ["capital-charge-without-assurance"]
        assert "[FIRES] capital-charge-without-assurance" in str(row["explanation"])
        assert "Reason code shown to the requester: ASSURANCE_REQUIRED" in str(row["explanation"])

    def test_victim_refusal_is_stored_yet_answers_like_an_unheld_key(
        self, responder: ResponderNode
    ) -> None:
        """The victim's record and guard are kept at home; the requester sees NOT_RELEASABLE."""
        (item,) = responder.disclose((VICTIM_KEY,)).items
        assert (item.outcome, item.reason_code, item.fields) == (DENY, NOT_RELEASABLE, {})
        row = stored(responder, item.item_id)
        assert row["record_id"] == VICTIM.record_id
        assert row["denied_by"] == ["protected-persons"]
        assert "[FIRES] protected-persons" in str(row["explanation"])

    def test_refusals_are_audited_by_guard(self, responder: ResponderNode) -> None:
        """disclosure.decided counts each refusal under every guard that fired for it."""
        responder.disclose(
            (SUSPECT_KEY, VICTIM_KEY, UNHELD_KEY), potential_charges=("drug_trafficking",)
        )
        (details,) = responder.conn.execute(
            "SELECT details FROM audit_entries WHERE event='disclosure.decided'"
        ).fetchone()
        refused = json.loads(details)["refused_by"]
        assert refused == {
            # The victim's record is refused by both guards.
            "capital-charge-without-assurance": 2,
            "protected-persons": 1,
            NOT_RELEASABLE: 1,
        }


class TestExplainPastDecision:
    """spoor policy explain --decision shows exactly what was sent."""

    def test_refusal_is_shown_as_sent(self, responder: ResponderNode) -> None:
        """The code sent, the guard and the stored explanation, with nothing re-evaluated."""
        (item,) = responder.disclose((SUSPECT_KEY,), potential_charges=("drug_trafficking",)).items
        out = explain_decision(responder, item.item_id)
        assert "Sent to vn-customs: DENY ASSURANCE_REQUIRED" in out
        assert f"Record: {SUSPECT.record_id}" in out
        assert "Refused by: capital-charge-without-assurance" in out
        assert str(stored(responder, item.item_id)["explanation"]) in out

    def test_pending_decision_shows_its_ticket(self, responder: ResponderNode) -> None:
        """A decision held for approval shows the code sent and its ticket."""
        (item,) = responder.disclose((SUSPECT_KEY,)).items
        assert item.outcome == PENDING_APPROVAL
        data = json.loads(explain_decision(responder, item.item_id, "--json"))
        assert data["sent"] == {"outcome": PENDING_APPROVAL, "reason_code": item.reason_code}
        assert data["ticket_id"] == item.ticket_id
        assert data["ticket_status"] == "pending"
        assert "HELD FOR APPROVAL" in data["explanation"]

    def test_ticket_or_disclosure_id_finds_the_decisions(self, responder: ResponderNode) -> None:
        """A ticket id names its decision; a disclosure id names every item of the request."""
        answer = responder.disclose((SUSPECT_KEY, UNHELD_KEY))
        pending = answer.items[0]
        by_ticket = json.loads(explain_decision(responder, str(pending.ticket_id), "--json"))
        assert by_ticket["item_id"] == pending.item_id
        both = json.loads(explain_decision(responder, answer.disclosure_id, "--json"))
        assert [d["item_id"] for d in both] == [i.item_id for i in answer.items]
        assert both[1]["sent"] == {"outcome": DENY, "reason_code": NOT_RELEASABLE}

    def test_unknown_decision_is_a_usage_error(self, responder: ResponderNode) -> None:
        """An id that is not a stored decision exits 2 and says so."""
        result = CliRunner().invoke(
            policy,
            ["explain", "--home", str(responder.db_path.parent), "--decision", "nope"],
        )
        assert result.exit_code == 2
        assert "no disclosure decision 'nope'" in result.output
