"""Evaluation semantics: default deny, guards, fields, obligations, approval, fail closed."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime

import pytest

from policy import Outcome, Policy, evaluate_participation, evaluate_release, render
from policy import conditions as conditions_module
from policy.conditions import CONDITIONS, ConditionDef
from policy.model import ApprovalSpec, Condition, FieldSpec, ObligationSpec, Rule
from tests.policy.policy_support import make_ctx, make_facts


def release_rule(rule_id: str, **kw: object) -> Rule:
    """A release rule for za-police with the given fields, obligations and approval."""
    base = Rule(
        id=rule_id,
        kind="release",
        title=rule_id,
        legal_references=(f"ref {rule_id}",),
        explanation=f"{rule_id} applies to {{record_id}}",
        conditions=(Condition("requester", ("za-police",)),),
        fields=FieldSpec(allow=("names",)),
        obligations=ObligationSpec("TLP:GREEN", 365),
        approval=ApprovalSpec(required=False),
    )
    return replace(base, **kw)  # type: ignore[arg-type]


def with_release(policy: Policy, *rules: Rule) -> Policy:
    """The policy with its release rules replaced."""
    return replace(policy, release=tuple(rules))


class TestDefaultDeny:
    """Nothing is released unless a rule allows it."""

    def test_no_rule_means_deny(self, agency_policy: Policy) -> None:
        """With no release rules at all, every request is denied."""
        d = evaluate_release(with_release(agency_policy), make_ctx(), make_facts())
        assert d.outcome is Outcome.DENY
        assert d.reason_code == "NO_MATCHING_RULE"
        assert d.fields == {}

    def test_participation_default_deny(self, agency_policy: Policy) -> None:
        """A purpose no participation rule covers keeps the record out of the match."""
        ctx = make_ctx(purpose="intelligence_analysis")
        d = evaluate_participation(agency_policy, ctx, make_facts())
        assert d.outcome is Outcome.DENY
        assert d.reason_code == "NO_MATCHING_RULE"

    def test_matching_participation_rule_admits_record(self, agency_policy: Policy) -> None:
        """A matching participation rule lets the record take part."""
        d = evaluate_participation(agency_policy, make_ctx(), make_facts())
        assert d.outcome is Outcome.RELEASE
        assert d.matched_rules == ["investigations"]


class TestGuards:
    """Guards override every rule and are all listed."""

    def test_all_matching_guards_are_listed(self, agency_policy: Policy) -> None:
        """Every guard that fires appears in denied_by."""
        facts = make_facts(subject_category="informant", handling_restrictions=["interpol_art3"])
        d = evaluate_release(agency_policy, make_ctx(), facts)
        assert d.outcome is Outcome.DENY
        assert set(d.denied_by) == {"protected-persons", "interpol-art3"}

    def test_reason_code_hides_protected_person(self, agency_policy: Policy) -> None:
        """A witness gets the same reason code as an Art. 3 record, never 'witness'."""
        witness = evaluate_release(
            agency_policy, make_ctx(), make_facts(subject_category="witness")
        )
        art3 = evaluate_release(
            agency_policy, make_ctx(), make_facts(handling_restrictions=["interpol_art3"])
        )
        assert witness.reason_code == art3.reason_code == "NOT_RELEASABLE"

    def test_most_generic_reason_wins(self, agency_policy: Policy) -> None:
        """With a protected person and a non-competent recipient, the generic code is shown."""
        d = evaluate_release(
            agency_policy, make_ctx(requester="ngo-watch"), make_facts(subject_category="victim")
        )
        assert d.reason_code == "NOT_RELEASABLE"
        assert {"protected-persons", "non-competent-recipient"} <= set(d.denied_by)

    def test_guard_stage_restriction(self, agency_policy: Policy) -> None:
        """dual-criminality applies to release only, not to the match."""
        ctx = make_ctx(potential_charges=("corruption",))
        assert evaluate_release(agency_policy, ctx, make_facts()).denied_by == ["dual-criminality"]
        assert evaluate_participation(agency_policy, ctx, make_facts()).denied_by == []

    def test_expired_instrument_denies(self, agency_policy: Policy) -> None:
        """A request relying on an expired instrument is denied."""
        ctx = make_ctx(legal_basis="TEST-MoU", now=datetime.fromisoformat("2026-07-01T00:00+00:00"))
        d = evaluate_release(agency_policy, ctx, make_facts())
        assert d.reason_code == "LEGAL_BASIS_INVALID"
        assert "expired on 2026-06-30" in render(d)


class TestFields:
    """Released fields: union of matches, minus never, minus not requested."""

    def test_union_minus_never_minus_unrequested(self, agency_policy: Policy) -> None:
        """Two rules allow fields; a never in one removes it; unrequested fields stay."""
        a = release_rule("a", fields=FieldSpec(allow=("names", "nationality", "phones")))
        b = release_rule("b", fields=FieldSpec(allow=("aliases",), never=("phones",)))
        facts = make_facts(
            fields={"names": ["N"], "aliases": ["A"], "nationality": "KE", "phones": ["+254"]}
        )
        ctx = make_ctx(requested_fields=("identity", "contact"))
        d = evaluate_release(with_release(agency_policy, a, b), ctx, facts)
        assert d.fields == {"names": ["N"], "aliases": ["A"]}
        assert d.explanation.withheld["phones"] == "never released under rule b"
        assert "nationality" not in d.explanation.withheld  # not requested, not mentioned

    def test_nothing_releasable_denies(self, agency_policy: Policy) -> None:
        """When no requested field may be released the answer is a denial."""
        d = evaluate_release(agency_policy, make_ctx(requested_fields=("contact",)), make_facts())
        assert d.outcome is Outcome.DENY
        assert d.reason_code == "NO_RELEASABLE_FIELDS"

    @pytest.mark.parametrize(
        ("field", "value", "how", "expected"),
        [
            ("date_of_birth", "1980-05-06", "year", "1980"),
            ("date_of_birth", "1980-05-06", "month", "1980-05"),
            ("phones", ["+254712345678"], "mask", ["**********678"]),
            ("addresses", ["1 Main St, Mombasa, Kenya"], "country_only", ["Kenya"]),
            ("aliases", ["A", "B", "C"], "count", 3),
        ],
    )
    def test_transformations(
        self, agency_policy: Policy, field: str, value: object, how: str, expected: object
    ) -> None:
        """Each transformation reduces the value as documented."""
        rule = release_rule("t", fields=FieldSpec(allow=(field,), transform=((field, how),)))
        d = evaluate_release(
            with_release(agency_policy, rule),
            make_ctx(requested_fields=(field,)),
            make_facts(fields={field: value}),
        )
        assert d.fields == {field: expected}
        assert d.explanation.transforms == {field: how}

    def test_strictest_transformation_wins(self, agency_policy: Policy) -> None:
        """If one rule gives the month and another the year, only the year is released."""
        a = release_rule(
            "a", fields=FieldSpec(("date_of_birth",), (), (("date_of_birth", "month"),))
        )
        b = release_rule(
            "b", fields=FieldSpec(("date_of_birth",), (), (("date_of_birth", "year"),))
        )
        d = evaluate_release(
            with_release(agency_policy, a, b),
            make_ctx(requested_fields=("date_of_birth",)),
            make_facts(),
        )
        assert d.fields == {"date_of_birth": "1980"}

    def test_bad_date_under_transformation_fails_closed(self, agency_policy: Policy) -> None:
        """A value that cannot be transformed denies instead of leaking the raw value."""
        d = evaluate_release(
            agency_policy,
            make_ctx(requested_fields=("date_of_birth",)),
            make_facts(fields={"date_of_birth": "sometime in 1980"}),
        )
        assert d.outcome is Outcome.DENY
        assert d.reason_code == "EVALUATION_ERROR"


class TestObligationsAndApproval:
    """The strictest obligations win; approval if any matching rule requires it."""

    def test_strictest_obligations(self, agency_policy: Policy) -> None:
        """Handling code, consent levels and retention take the strictest value."""
        a = release_rule(
            "a", obligations=ObligationSpec("TLP:AMBER", 365, judicial_use="permitted")
        )
        b = release_rule(
            "b",
            obligations=ObligationSpec(
                "H1", 30, use_limited_to_case=False, onward_transfer="prohibited"
            ),
        )
        d = evaluate_release(with_release(agency_policy, a, b), make_ctx(), make_facts())
        assert d.obligations is not None
        o = d.obligations.as_dict()
        assert o["handling_code"] == "H1"
        assert o["retention_days"] == 30
        assert o["onward_transfer"] == "prohibited"
        assert o["judicial_use"] == "with_consent"
        assert o["use_limited_to_case"] is True
        assert o["case_reference"] == "SAPS-2026-1"

    def test_record_handling_code_raises_the_floor(self, agency_policy: Policy) -> None:
        """A record marked TLP:RED is released at TLP:RED even if the rule says AMBER."""
        d = evaluate_release(
            agency_policy, make_ctx(), make_facts(handling_restrictions=["TLP:RED"])
        )
        assert d.obligations is not None
        assert d.obligations.handling_code == "TLP:RED"

    def test_approval_merges(self, agency_policy: Policy) -> None:
        """Any rule requiring approval makes it pending; roles unite, the shortest deadline wins."""
        a = release_rule("a", approval=ApprovalSpec(True, ("legal_officer",), False, 48))
        b = release_rule("b", approval=ApprovalSpec(True, ("head_of_unit",), True, 24))
        c = release_rule("c")
        d = evaluate_release(with_release(agency_policy, a, b, c), make_ctx(), make_facts())
        assert d.outcome is Outcome.PENDING_APPROVAL
        assert d.reason_code == "APPROVAL_REQUIRED"
        assert d.approval is not None
        assert d.approval.as_dict() == {
            "roles": ["legal_officer", "head_of_unit"],
            "two_person": True,
            "deadline_hours": 24,
        }

    def test_no_approval_releases(self, agency_policy: Policy) -> None:
        """Without an approval requirement the decision is RELEASE with no ticket."""
        d = evaluate_release(agency_policy, make_ctx(), make_facts())
        assert d.outcome is Outcome.RELEASE
        assert d.approval is None


class TestEffectiveDates:
    """Rules apply only between their effective dates (inclusive)."""

    @pytest.mark.parametrize(
        ("day", "applies"),
        [("2026-02-28", False), ("2026-03-01", True), ("2026-03-31", True), ("2026-04-01", False)],
    )
    def test_effective_window(self, agency_policy: Policy, day: str, applies: bool) -> None:
        """A rule effective during March 2026 applies on its first and last day only within it."""
        rule = release_rule(
            "march", effective_from=date(2026, 3, 1), effective_until=date(2026, 3, 31)
        )
        ctx = make_ctx(now=datetime.fromisoformat(f"{day}T12:00:00+00:00"))
        d = evaluate_release(
            with_release(agency_policy, rule), ctx, make_facts(review_date="2030-01-01")
        )
        assert (d.matched_rules == ["march"]) is applies
        if not applies:
            assert "not in effect" in (d.explanation.rules[0].first_unmet or "")


class TestFailClosed:
    """Invalid requests, malformed records and internal faults all deny."""

    @pytest.mark.parametrize(
        ("overrides", "code"),
        [
            ({"purpose": "curiosity"}, "INVALID_REQUEST"),
            ({"legal_basis": "NO-SUCH-TREATY"}, "INVALID_REQUEST"),
            ({"requested_fields": ("bank_accounts",)}, "INVALID_REQUEST"),
            ({"potential_charges": ("jaywalking",)}, "INVALID_REQUEST"),
            ({"assurances": ("NO-SUCH",)}, "INVALID_REQUEST"),
            ({"now": datetime(2026, 3, 1, 12, 0)}, "EVALUATION_ERROR"),  # naive time
        ],
    )
    def test_invalid_request_denies(
        self, agency_policy: Policy, overrides: dict[str, object], code: str
    ) -> None:
        """A request outside the vocabulary is denied with a safe code."""
        d = evaluate_release(agency_policy, make_ctx(**overrides), make_facts())
        assert d.outcome is Outcome.DENY
        assert d.reason_code == code
        assert d.fields == {}

    @pytest.mark.parametrize(
        "overrides",
        [
            {"kind": "vessel"},
            {"subject_category": "bystander"},
            {"offence_classes": ["unknown_crime"]},
            {"handling_restrictions": ["H9"]},
            {"review_date": "31/12/2027"},
            {"fields": {"bank_account": "123"}},
            {"species": [{"name": "Loxodonta africana"}]},
            {"colour": "red"},
        ],
    )
    def test_malformed_record_denies(
        self, agency_policy: Policy, overrides: dict[str, object]
    ) -> None:
        """Unknown keys or values in a record deny with EVALUATION_ERROR."""
        d = evaluate_release(agency_policy, make_ctx(), make_facts(**overrides))
        assert d.outcome is Outcome.DENY
        assert d.reason_code == "EVALUATION_ERROR"

    def test_exception_inside_a_condition_denies(
        self, agency_policy: Policy, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """A fault while deciding denies with EVALUATION_ERROR and records the error."""

        def boom(state: object, value: object) -> tuple[bool, str]:
            raise RuntimeError("disk on fire")

        broken = ConditionDef("purpose", "list", "purposes", "purpose", boom)
        monkeypatch.setitem(conditions_module.CONDITIONS, "purpose", broken)
        d = evaluate_release(agency_policy, make_ctx(), make_facts())
        assert d.outcome is Outcome.DENY
        assert d.reason_code == "EVALUATION_ERROR"
        assert "disk on fire" in (d.explanation.error or "")
        assert CONDITIONS["purpose"] is broken


class TestExplanation:
    """The explanation comes from the same pass and says what a legal officer needs."""

    def test_first_unmet_condition_is_named(self, agency_policy: Policy) -> None:
        """A rule not matched names its first unmet condition and what was found."""
        d = evaluate_participation(
            agency_policy, make_ctx(purpose="intelligence_analysis"), make_facts()
        )
        rule = d.explanation.rules[0]
        assert not rule.matched
        assert rule.first_unmet == (
            "the stated purpose is one of criminal_investigation — "
            "but the purpose is intelligence_analysis"
        )

    def test_rendered_text_has_all_parts(self, agency_policy: Policy) -> None:
        """The text shows guards, rules, fields, obligations and legal references."""
        text = render(evaluate_release(agency_policy, make_ctx(), make_facts()))
        for part in (
            "Decision (release): record rec-1 is RELEASED.",
            "Guards checked:",
            "[clear] protected-persons — the subject category is suspect",
            "[MATCH] investigation-release",
            "za-police receives fields of rec-1.",
            "Fields released: names, date_of_birth (year)",
            "handling code TLP:AMBER",
            "delete after 30 days",
            "Legal references: Test Act s. 2",
        ):
            assert part in text, part

    def test_explanation_matches_decision(self, agency_policy: Policy) -> None:
        """The guards marked as firing in the explanation are exactly denied_by."""
        d = evaluate_release(agency_policy, make_ctx(), make_facts(subject_category="victim"))
        fired = [g.rule_id for g in d.explanation.guards if g.matched]
        assert fired == d.denied_by
        assert d.explanation.outcome == d.outcome.value
        assert d.explanation.policy_digest == agency_policy.digest

    def test_as_dict_is_plain_data(self, agency_policy: Policy) -> None:
        """The explanation serialises to plain data for JSON and audit."""
        data = evaluate_release(agency_policy, make_ctx(), make_facts()).explanation.as_dict()
        assert data["outcome"] == "RELEASE"
        assert data["obligations"]["handling_code"] == "TLP:AMBER"
        assert isinstance(data["guards"], list)


class TestTime:
    """Dates are compared in UTC whatever zone the request time is given in."""

    def test_review_date_compared_in_utc(self, agency_policy: Policy) -> None:
        """01:00 on 2 March in UTC+3 is still 1 March in UTC, so a 1 March review date holds."""
        eat = datetime.fromisoformat("2026-03-02T01:00:00+03:00")
        d = evaluate_release(agency_policy, make_ctx(now=eat), make_facts(review_date="2026-03-01"))
        assert d.denied_by == []
        later = datetime.fromisoformat("2026-03-02T04:00:00+03:00")
        d = evaluate_release(
            agency_policy, make_ctx(now=later), make_facts(review_date="2026-03-01")
        )
        assert d.denied_by == ["past-review-date"]


CONDITION_TABLE = [
    ("requester", ("za-police",), {}, {}, True),
    ("requester", ("tt-police",), {}, {}, False),
    ("requester_country", ("ZA",), {}, {}, True),
    ("requester_country", ("KE",), {}, {}, False),
    ("purpose", ("criminal_investigation",), {}, {}, True),
    ("legal_basis", ("TEST-MoU",), {}, {}, False),
    (
        "potential_charge",
        ("money_laundering",),
        {"potential_charges": ("money_laundering",)},
        {},
        True,
    ),
    ("potential_charge", ("money_laundering",), {}, {}, False),
    (
        "assurance",
        ("no_death_penalty",),
        {"requester": "tt-police", "assurances": ("TT-NDP-1",)},
        {},
        True,
    ),
    ("assurance", ("no_death_penalty",), {"assurances": ("TT-NDP-1",)}, {}, False),
    ("justification_given", True, {"justification": "needed for case"}, {}, True),
    ("justification_given", True, {"justification": "   "}, {}, False),
    ("requester_competent", True, {}, {}, True),
    ("requester_competent", True, {"requester": "ngo-watch"}, {}, False),
    ("legal_basis_valid", True, {}, {}, True),
    (
        "capital_exposure_without_assurance",
        True,
        {"requester": "tt-police"},
        {"offence_classes": ["murder"]},
        True,
    ),
    ("dual_criminality", True, {}, {}, True),
    ("kind", ("person",), {}, {}, True),
    ("kind", ("shipment",), {}, {}, False),
    ("subject_category", ("suspect",), {}, {}, True),
    ("subject_category", ("suspect",), {}, {"kind": "shipment", "subject_category": None}, False),
    ("offence_class", ("poaching",), {}, {"offence_classes": ["poaching", "smuggling"]}, True),
    ("handling_restriction", ("H1",), {}, {"handling_restrictions": ["H1"]}, True),
    (
        "cites_appendix",
        ("II",),
        {},
        {"species": [{"scientific_name": "Loxodonta africana", "population": "BW"}]},
        True,
    ),
    (
        "cites_appendix",
        ("II",),
        {},
        {"species": [{"scientific_name": "Loxodonta africana", "population": "KE"}]},
        False,
    ),
    (
        "cites_appendix",
        ("none",),
        {},
        {"species": [{"scientific_name": "Unknownia ignota", "population": None}]},
        True,
    ),
    ("review_date_passed", False, {}, {"review_date": None}, True),
]


class TestConditions:
    """Every condition a rule may use decides as documented."""

    def test_table_covers_every_condition(self) -> None:
        """Each condition of the language appears in the table below."""
        assert {row[0] for row in CONDITION_TABLE} == set(CONDITIONS)

    @pytest.mark.parametrize(("name", "value", "ctx_kw", "facts_kw", "holds"), CONDITION_TABLE)
    def test_condition(
        self,
        agency_policy: Policy,
        name: str,
        value: bool | tuple[str, ...],
        ctx_kw: dict[str, object],
        facts_kw: dict[str, object],
        holds: bool,
    ) -> None:
        """A one-condition participation rule matches exactly when the condition holds."""
        rule = Rule(
            id="only",
            kind="participation",
            title="t",
            legal_references=("r",),
            explanation="e",
            conditions=(Condition(name, value),),
        )
        policy = replace(agency_policy, participation=(rule,))
        d = evaluate_participation(policy, make_ctx(**ctx_kw), make_facts(**facts_kw))
        assert d.explanation.error is None
        assert d.explanation.rules[0].matched is holds
