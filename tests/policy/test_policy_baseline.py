"""The baseline is mandatory: omitting, redefining or writing rules around it is an error."""

from __future__ import annotations

from datetime import date

import pytest

from policy import PolicyError
from policy.loader import load_sources
from tests.policy.test_policy_loader import MINIMAL


def problems_of(text: str) -> list[str]:
    """The formatted problems of loading ``text`` as the agency's only policy file."""
    with pytest.raises(PolicyError) as info:
        load_sources([("agency.yaml", text)], today=date(2026, 1, 1))
    return [p.format() for p in info.value.problems]


PARTICIPATION_RULE = """\
  - id: p2
    title: Another rule
    legal_references: [MoU Art. 2]
    explanation: "{requester} may match."
    when:
      requester: [peer]
"""


def with_rule(condition: str) -> str:
    """MINIMAL with a second participation rule carrying ``condition`` under ``when``."""
    return MINIMAL + PARTICIPATION_RULE + f"      {condition}\n"


class TestMandatory:
    """A policy without the baseline does not load."""

    def test_policy_without_include_is_an_error_with_a_location(self) -> None:
        """Omitting include: [baseline] is reported at the agency section with a hint."""
        found = problems_of(MINIMAL.replace("include: [baseline]\n", ""))
        assert len(found) == 1
        assert found[0].startswith(
            "agency.yaml:2:1: error: the policy does not include the baseline"
        )
        assert "(hint: add the line 'include: [baseline]'" in found[0]

    def test_empty_include_is_an_error_at_the_include(self) -> None:
        """An include list without the baseline is reported where it is written."""
        found = problems_of(MINIMAL.replace("include: [baseline]", "include: []"))
        assert any(
            p.startswith("agency.yaml:2:10: error: the policy does not include the baseline")
            for p in found
        ), found

    def test_baseline_in_another_file_of_the_directory_is_enough(self) -> None:
        """Including the baseline once, in any file of the policy, satisfies the rule."""
        head, rules = MINIMAL.split("participation:\n")
        policy = load_sources(
            [
                ("a.yaml", head),
                ("b.yaml", "spoor_policy: 1\nparticipation:\n" + rules),
            ]
        )
        assert "protected-persons" in [g.id for g in policy.guards]


class TestNoRedefinition:
    """A baseline id cannot be reused by the agency."""

    @pytest.mark.parametrize("section", ["guards", "participation"])
    def test_reusing_a_baseline_guard_id_is_an_error_where_the_agency_wrote_it(
        self, section: str
    ) -> None:
        """A rule named like a baseline guard is refused at the agency's line, with a hint."""
        item = (
            "  - id: protected-persons\n"
            "    title: Witnesses are fine\n"
            "    legal_references: [None]\n"
            "    explanation: x\n"
            + ("    reason_code: NOT_RELEASABLE\n" if section == "guards" else "")
            + "    when:\n"
            "      purpose: [prosecution]\n"
        )
        if section == "guards":
            text = MINIMAL.replace("participation:\n", "guards:\n" + item + "participation:\n")
        else:
            text = MINIMAL + item
        found = problems_of(text)
        assert any(
            p.startswith("agency.yaml:")
            and "error: rule id 'protected-persons' is part of the baseline; an agency policy "
            "cannot redefine"
            in p
            and "a policy may add guards and reference data, never remove or weaken" in p
            for p in found
        ), found

    def test_redefining_a_baseline_instrument_is_an_error(self) -> None:
        """The baseline's instruments cannot be widened by redeclaring them."""
        text = MINIMAL.replace(
            "  instruments:\n",
            "  instruments:\n    CITES-Art-VIII:\n      title: Wider\n"
            "      kind: multilateral_treaty\n      purposes: [intelligence_analysis]\n",
        )
        found = problems_of(text)
        assert any(
            p.startswith(
                "agency.yaml:11:5: error: instrument 'CITES-Art-VIII' is part of the baseline"
            )
            for p in found
        ), found


class TestRulesAroundTheBaseline:
    """A participation or release rule written for what a baseline guard refuses is an error."""

    @pytest.mark.parametrize(
        ("condition", "guard"),
        [
            ("subject_category: [suspect, witness]", "protected-persons"),
            ("handling_restriction: [interpol_art3]", "interpol-art3"),
            ("review_date_passed: true", "past-review-date"),
            ("requester_competent: false", "non-competent-recipient"),
            ("capital_exposure_without_assurance: true", "capital-charge-without-assurance"),
        ],
    )
    def test_rule_admitting_what_a_guard_refuses_is_refused(
        self, condition: str, guard: str
    ) -> None:
        """The error names the rule, the guard and the offending value, at its line."""
        found = problems_of(with_rule(condition))
        assert any(
            p.startswith("agency.yaml:40:")
            and f"rule p2 is written for what the baseline guard '{guard}' always refuses" in p
            for p in found
        ), found

    def test_the_error_hint_says_what_to_remove(self) -> None:
        """Only the forbidden values are named; the rest of the rule may stay."""
        (found,) = problems_of(with_rule("subject_category: [suspect, witness, victim]"))
        assert "(subject_category: witness, victim)" in found
        assert "(hint: remove witness, victim from 'subject_category'" in found

    def test_rules_stricter_than_the_baseline_load(self) -> None:
        """Conditions that agree with the baseline are fine."""
        policy = load_sources(
            [("agency.yaml", with_rule("review_date_passed: false"))], today=date(2026, 1, 1)
        )
        assert [r.id for r in policy.participation] == ["p1", "p2"]
