"""One evaluation path: the disclosure decision, its reason code and its explanation agree.

Scenarios over death penalty (no, expired, direct-only, valid assurance),
INTERPOL Art. 3, witnesses and review dates, each at the participation stage,
the release stage and on the disclosure path that runs both.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import pytest

from policy import Outcome, Policy, evaluate_disclosure, evaluate_participation, evaluate_release
from tests.policy.policy_support import make_ctx, make_facts

TT = {"requester": "tt-police", "legal_basis": "UNTOC-Art-27", "potential_charges": ("murder",)}
AFTER_EXPIRY = datetime(2027, 2, 1, 12, 0, tzinfo=UTC)

#: (scenario, request overrides, record overrides, guard expected to fire, code sent)
SCENARIOS = [
    (
        "death-penalty-no-assurance",
        TT,
        {},
        "capital-charge-without-assurance",
        "ASSURANCE_REQUIRED",
    ),
    (
        "death-penalty-expired-assurance",
        {**TT, "assurances": ("TT-NDP-1",), "now": AFTER_EXPIRY},
        {"review_date": "2028-01-01"},
        "capital-charge-without-assurance",
        "ASSURANCE_REQUIRED",
    ),
    (
        "death-penalty-direct-use-only",
        {**TT, "assurances": ("TT-NDP-DIRECT",)},
        {},
        "capital-charge-without-assurance",
        "ASSURANCE_REQUIRED",
    ),
    (
        "interpol-art3",
        {},
        {"handling_restrictions": ["interpol_art3"]},
        "interpol-art3",
        "NOT_RELEASABLE",
    ),
    ("witness", {}, {"subject_category": "witness"}, "protected-persons", "NOT_RELEASABLE"),
    ("past-review-date", {}, {"review_date": "2026-01-31"}, "past-review-date", "NOT_RELEASABLE"),
]


def ids(scenarios: list[Any]) -> list[str]:
    return [s[0] for s in scenarios]


class TestGuardsAtBothStages:
    """Each scenario is refused by its guard at participation and at release alike."""

    @pytest.mark.parametrize(("name", "req", "rec", "guard", "code"), SCENARIOS, ids=ids(SCENARIOS))
    def test_participation_stage(
        self,
        agency_policy: Policy,
        name: str,
        req: dict[str, Any],
        rec: dict[str, Any],
        guard: str,
        code: str,
    ) -> None:
        """The record is kept out of a match, with the guard and its reason code."""
        d = evaluate_participation(agency_policy, make_ctx(**req), make_facts(**rec))
        assert d.outcome is Outcome.DENY
        assert guard in d.denied_by
        assert d.reason_code == code

    @pytest.mark.parametrize(("name", "req", "rec", "guard", "code"), SCENARIOS, ids=ids(SCENARIOS))
    def test_release_stage(
        self,
        agency_policy: Policy,
        name: str,
        req: dict[str, Any],
        rec: dict[str, Any],
        guard: str,
        code: str,
    ) -> None:
        """Nothing is released, with the guard and its reason code."""
        d = evaluate_release(agency_policy, make_ctx(**req), make_facts(**rec))
        assert d.outcome is Outcome.DENY
        assert guard in d.denied_by
        assert d.reason_code == code
        assert d.fields == {}


class TestDisclosurePath:
    """evaluate_disclosure: one decision whose code and explanation are what is sent."""

    @pytest.mark.parametrize(("name", "req", "rec", "guard", "code"), SCENARIOS, ids=ids(SCENARIOS))
    def test_refusal_carries_guard_code_and_explanation(
        self,
        agency_policy: Policy,
        name: str,
        req: dict[str, Any],
        rec: dict[str, Any],
        guard: str,
        code: str,
    ) -> None:
        """Refused at participation; the explanation names the guard and the code sent."""
        d = evaluate_disclosure(agency_policy, make_ctx(**req), make_facts(**rec))
        assert (d.outcome, d.reason_code, d.refused_at) == (Outcome.DENY, code, "participation")
        assert guard in d.denied_by
        assert d.explanation.reason_code == code
        text = d.explanation.text
        assert text.startswith("Decision (disclosure): record rec-1 is REFUSED.")
        assert f"Reason code shown to the requester: {code}" in text
        assert f"[FIRES] {guard}" in text
        assert "the release rules were not evaluated" in text

    def test_valid_assurance_clears_both_stages(self, agency_policy: Policy) -> None:
        """A valid assurance for direct and indirect use lets the record through to release."""
        ctx = make_ctx(**TT, assurances=("TT-NDP-1",))
        d = evaluate_disclosure(agency_policy, ctx, make_facts())
        assert (d.outcome, d.reason_code, d.refused_at) == (Outcome.RELEASE, "RELEASED", None)
        assert d.denied_by == []
        assert d.fields["names"] == ["Jane Doe"]
        assert "1. May the record be considered for this request" in d.explanation.text
        assert "2. What may be released (release stage)?" in d.explanation.text
        assert "[clear] capital-charge-without-assurance" in d.explanation.text

    def test_assurance_for_another_case_does_not_count(self, agency_policy: Policy) -> None:
        """An assurance given for one case does not clear a request for another."""
        ndp = agency_policy.assurances["TT-NDP-1"]
        policy = replace(
            agency_policy,
            assurances={
                **agency_policy.assurances,
                "TT-NDP-1": replace(ndp, case_reference="TT-9"),
            },
        )
        other = evaluate_disclosure(policy, make_ctx(**TT, assurances=("TT-NDP-1",)), make_facts())
        same = evaluate_disclosure(
            policy, make_ctx(**TT, assurances=("TT-NDP-1",), case_reference="TT-9"), make_facts()
        )
        assert other.reason_code == "ASSURANCE_REQUIRED"
        assert same.reason_code == "RELEASED"

    def test_release_stage_refusal_is_refused_at_release(self, agency_policy: Policy) -> None:
        """A refusal only the release stage makes is marked so, with both passes explained."""
        ctx = make_ctx(potential_charges=("drug_trafficking",))
        policy = replace(
            agency_policy,
            counterparts={
                **agency_policy.counterparts,
                "za-police": replace(
                    agency_policy.counterparts["za-police"], criminal_offences=("poaching",)
                ),
            },
        )
        d = evaluate_disclosure(policy, ctx, make_facts())
        assert (d.reason_code, d.refused_at) == ("DUAL_CRIMINALITY_NOT_MET", "release")
        assert "drug_trafficking is not an offence in ZA" in d.explanation.text
        assert "2. What may be released (release stage)?" in d.explanation.text

    def test_no_participation_rule_is_sent_as_not_releasable(self, agency_policy: Policy) -> None:
        """Release alone would give the record; the disclosure path refuses it as not held."""
        policy = replace(agency_policy, participation=())
        assert evaluate_release(policy, make_ctx(), make_facts()).outcome is Outcome.RELEASE
        d = evaluate_disclosure(policy, make_ctx(), make_facts())
        assert (d.outcome, d.reason_code, d.refused_at) == (
            Outcome.DENY,
            "NOT_RELEASABLE",
            "participation",
        )
        assert "Refused at the participation stage (NO_MATCHING_RULE" in d.explanation.text
        assert "exactly as for a key this node does not hold" in d.explanation.text

    def test_json_form_holds_both_passes(self, agency_policy: Policy) -> None:
        """The decision record as data keeps the participation pass beside the release pass."""
        data = evaluate_disclosure(agency_policy, make_ctx(), make_facts()).explanation.as_dict()
        assert data["stage"] == "disclosure"
        assert data["participation"]["stage"] == "participation"
        assert data["participation"]["outcome"] == "RELEASE"
        assert data["outcome"] == "RELEASE"


class TestReferenceDataFailsClosed:
    """Counterpart facts the policy does not give are never assumed."""

    def _without(self, policy: Policy, **fields: Any) -> Policy:
        za = replace(policy.counterparts["za-police"], **fields)
        return replace(policy, counterparts={**policy.counterparts, "za-police": za})

    def test_unknown_cites_status_fails_dual_criminality_by_listing(
        self, agency_policy: Policy
    ) -> None:
        """A CITES-listed species counts only when the counterpart is known to be a party."""
        facts = make_facts(
            kind="shipment",
            subject_category=None,
            species=[{"scientific_name": "Diceros bicornis"}],
        )
        known = evaluate_release(agency_policy, make_ctx(), facts)
        unknown = evaluate_release(
            self._without(agency_policy, cites_party=None), make_ctx(), facts
        )
        assert "dual-criminality" not in known.denied_by
        assert unknown.denied_by == ["dual-criminality"]

    def test_unknown_offences_fail_dual_criminality_for_charges(
        self, agency_policy: Policy
    ) -> None:
        """A potential charge needs the counterpart's criminal offences to be listed."""
        ctx = make_ctx(potential_charges=("poaching",))
        d = evaluate_release(
            self._without(agency_policy, criminal_offences=None), ctx, make_facts()
        )
        assert d.reason_code == "DUAL_CRIMINALITY_NOT_MET"
        assert "does not list its criminal offences" in d.explanation.text

    def test_charge_not_an_offence_at_the_counterpart(self, agency_policy: Policy) -> None:
        """criminal_offences of the counterpart is read: both sides must criminalise the charge."""
        ctx = make_ctx(potential_charges=("poaching",))
        ok = evaluate_release(agency_policy, ctx, make_facts())
        narrow = evaluate_release(
            self._without(agency_policy, criminal_offences=("smuggling",)), ctx, make_facts()
        )
        assert ok.outcome is Outcome.RELEASE
        assert narrow.reason_code == "DUAL_CRIMINALITY_NOT_MET"
