"""Property tests for the invariants every policy must keep.

* a matching guard always denies;
* released fields are a subset of the requested fields;
* an evaluation error never releases.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import HealthCheck, find, given, settings
from hypothesis import strategies as st

from policy import (
    FIELD_GROUPS,
    GROUP_NAMES,
    HANDLING_RESTRICTIONS,
    OFFENCE_CLASSES,
    PURPOSES,
    RECORD_KINDS,
    SUBJECT_CATEGORIES,
    Outcome,
    Policy,
    RequestContext,
    evaluate_participation,
    evaluate_release,
    load_policy,
)
from policy import conditions as conditions_module
from policy.conditions import ConditionDef
from policy.vocab import groups_to_fields
from tests.policy.policy_support import AGENCIES, AGENCY_DIR, DEPLOY

POLICIES: dict[str, Policy] = {
    "test-agency": load_policy(AGENCY_DIR),
    **{a: load_policy(DEPLOY / a) for a in AGENCIES},
}
SPECIES = ["Loxodonta africana", "Smutsia temminckii", "Thryonomys swinderianus", "Panthera leo"]
FIELD_VALUES: dict[str, Any] = {
    "names": ["Jane Doe"],
    "aliases": ["JD"],
    "date_of_birth": "1980-05-06",
    "year_of_birth": "1980",
    "nationality": "KE",
    "documents": ["A1234567"],
    "phones": ["+254712345678"],
    "emails": ["jd@example.org"],
    "addresses": ["1 Main St, Mombasa, Kenya"],
    "org_name": "Acme Ltd",
    "org_country": "KE",
    "registration_numbers": ["CPR/1"],
    "containers": ["MSCU1234565"],
    "bills_of_lading": ["BL1"],
    "air_waybills": ["176-12345675"],
    "vessel_imo": "IMO9074729",
    "cites_permits": ["KE/2025/1"],
    "consignor": "Acme Ltd",
    "consignee": "Beta Co",
    "route": ["Mombasa", "Hai Phong"],
    "species": ["Loxodonta africana"],
    "quantity": 12,
    "seizure_date": "2025-10-04",
    "seizure_place": "Port of Mombasa, Kenya",
    "case_reference": "CASE-1",
    "source": "informant 7",
}
SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@st.composite
def friendly_requests(draw: st.DrawFn, policy: Policy) -> RequestContext:
    """A request a counterpart could plausibly make: competent, on a basis agreed with it."""
    requester = draw(st.sampled_from(sorted(policy.counterparts)))
    profile = policy.counterparts[requester]
    purpose = draw(st.sampled_from(profile.competences or PURPOSES))
    now = datetime(2026, 1, 1, tzinfo=UTC) + timedelta(days=draw(st.integers(0, 300)))
    usable = [
        i
        for i in profile.instruments
        if purpose in policy.instruments[i].purposes
        and (policy.instruments[i].expires or now.date()) >= now.date()
    ]
    return RequestContext(
        requester=requester,
        purpose=purpose,
        legal_basis=draw(st.sampled_from(usable or sorted(policy.instruments))),
        case_reference="KWS-IR-2025-311",
        officer="officer-1",
        now=now,
        justification="because",
        requested_fields=tuple(
            draw(st.lists(st.sampled_from(list(FIELD_GROUPS) + list(GROUP_NAMES)), max_size=8))
        ),
    )


@st.composite
def any_requests(draw: st.DrawFn, policy: Policy) -> RequestContext:
    """Any vocabulary-valid request, including unknown requesters and odd dates."""
    counterparts = [*sorted(policy.counterparts), "unknown-agency"]
    return RequestContext(
        requester=draw(st.sampled_from(counterparts)),
        purpose=draw(st.sampled_from(PURPOSES)),
        legal_basis=draw(st.sampled_from(sorted(policy.instruments))),
        case_reference=draw(st.sampled_from(["CASE-1", "KWS-IR-2025-311"])),
        officer="officer-1",
        now=datetime(2024, 1, 1, tzinfo=UTC) + timedelta(days=draw(st.integers(0, 1500))),
        justification=draw(st.one_of(st.none(), st.just("because"))),
        potential_charges=tuple(draw(st.lists(st.sampled_from(OFFENCE_CLASSES), max_size=2))),
        assurances=tuple(draw(st.lists(st.sampled_from(sorted(policy.assurances)), max_size=1)))
        if policy.assurances
        else (),
        requested_fields=tuple(
            draw(st.lists(st.sampled_from(list(FIELD_GROUPS) + list(GROUP_NAMES)), max_size=6))
        ),
    )


@st.composite
def scenarios(draw: st.DrawFn) -> tuple[Policy, RequestContext, dict[str, Any]]:
    """A policy, a vocabulary-valid request and a vocabulary-valid record.

    Half the scenarios are 'friendly' (plausible requests, clean records) so that
    releases are common enough for the field invariant to be exercised.
    """
    policy = POLICIES[draw(st.sampled_from(sorted(POLICIES)))]
    friendly = draw(st.booleans())
    ctx = draw(friendly_requests(policy) if friendly else any_requests(policy))
    held = draw(st.lists(st.sampled_from(sorted(FIELD_VALUES)), max_size=12, unique=True))
    if friendly:
        categories = st.sampled_from([None, "suspect", "accused", "convicted"])
        restrictions: st.SearchStrategy[list[str]] = st.just([])
        review = st.just("2029-12-31")
    else:
        categories = st.one_of(st.none(), st.sampled_from(SUBJECT_CATEGORIES))
        restrictions = st.lists(st.sampled_from(HANDLING_RESTRICTIONS), max_size=2, unique=True)
        review = st.one_of(st.none(), st.dates().map(lambda d: d.isoformat()))
    facts = {
        "record_id": "r-1",
        "kind": draw(st.sampled_from(RECORD_KINDS)),
        "subject_category": draw(categories),
        "case_reference": "CASE-1",
        "source": None,
        "review_date": draw(review),
        "handling_restrictions": draw(restrictions),
        "offence_classes": draw(
            st.lists(
                st.sampled_from(OFFENCE_CLASSES[:3] if friendly else OFFENCE_CLASSES),
                max_size=2,
                unique=True,
            )
        ),
        "species": [
            {"scientific_name": s, "population": draw(st.sampled_from([None, "KE", "BW", "ZA"]))}
            for s in draw(
                st.lists(
                    st.sampled_from(SPECIES[:2] if friendly else SPECIES), max_size=2, unique=True
                )
            )
        ],
        "fields": {f: FIELD_VALUES[f] for f in held},
    }
    return policy, ctx, facts


class TestGuardInvariant:
    """A matching guard always denies."""

    @SETTINGS
    @given(scenario=scenarios(), stage=st.sampled_from(["participation", "release"]))
    def test_firing_guard_always_denies(
        self, scenario: tuple[Policy, RequestContext, dict[str, Any]], stage: str
    ) -> None:
        """Whenever a guard fires the outcome is DENY and every firing guard is listed."""
        policy, ctx, facts = scenario
        evaluate = evaluate_release if stage == "release" else evaluate_participation
        d = evaluate(policy, ctx, facts)
        fired = [g.rule_id for g in d.explanation.guards if g.matched]
        assert fired == d.denied_by
        if fired:
            assert d.outcome is Outcome.DENY
            assert d.fields == {}

    @SETTINGS
    @given(scenario=scenarios(), category=st.sampled_from(["victim", "witness", "informant"]))
    def test_protected_persons_never_leave(
        self, scenario: tuple[Policy, RequestContext, dict[str, Any]], category: str
    ) -> None:
        """Victims, witnesses and informants are denied in both stages, with a generic code."""
        policy, ctx, facts = scenario
        facts = {**facts, "subject_category": category}
        for evaluate in (evaluate_participation, evaluate_release):
            d = evaluate(policy, ctx, facts)
            assert d.outcome is Outcome.DENY
            assert category not in d.reason_code.lower()
            assert d.reason_code in {"NOT_RELEASABLE", "INVALID_REQUEST", "EVALUATION_ERROR"}


class TestFieldInvariant:
    """Released fields are a subset of the requested fields."""

    @SETTINGS
    @given(scenario=scenarios())
    def test_released_fields_were_requested(
        self, scenario: tuple[Policy, RequestContext, dict[str, Any]]
    ) -> None:
        """No field leaves the node unless the request asked for it (by name or group)."""
        policy, ctx, facts = scenario
        d = evaluate_release(policy, ctx, facts)
        assert set(d.fields) <= set(groups_to_fields(ctx.requested_fields))
        assert set(d.fields) <= set(facts["fields"])
        if d.outcome is Outcome.DENY:
            assert d.fields == {}
        else:
            assert d.obligations is not None


JUNK = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=8,
)


class TestErrorInvariant:
    """An evaluation error never releases."""

    @SETTINGS
    @given(
        scenario=scenarios(),
        key=st.sampled_from(
            [
                "kind",
                "subject_category",
                "review_date",
                "handling_restrictions",
                "offence_classes",
                "species",
                "fields",
                "record_id",
            ]
        ),
        junk=JUNK,
    )
    def test_malformed_facts_never_release(
        self, scenario: tuple[Policy, RequestContext, dict[str, Any]], key: str, junk: object
    ) -> None:
        """Junk in any record fact either still validates or denies; it never crashes."""
        policy, ctx, facts = scenario
        facts = {**facts, key: junk}
        for evaluate in (evaluate_participation, evaluate_release):
            d = evaluate(policy, ctx, facts)
            if d.explanation.error is not None:
                assert d.outcome is Outcome.DENY
                assert d.fields == {}
                assert d.reason_code in {"EVALUATION_ERROR", "INVALID_REQUEST"}

    @SETTINGS
    @given(scenario=scenarios(), which=st.sampled_from(sorted(conditions_module.CONDITIONS)))
    def test_fault_in_any_condition_denies(
        self, scenario: tuple[Policy, RequestContext, dict[str, Any]], which: str
    ) -> None:
        """If any condition raises, the decision is DENY whatever the request and record."""
        policy, ctx, facts = scenario
        original = conditions_module.CONDITIONS[which]

        def boom(state: object, value: object) -> tuple[bool, str]:
            raise ValueError("fault")

        conditions_module.CONDITIONS[which] = ConditionDef(
            which, original.type, original.vocabulary, original.text, boom
        )
        try:
            d = evaluate_release(policy, ctx, facts)
        finally:
            conditions_module.CONDITIONS[which] = original
        guard_heads = {g.conditions[0].name for g in policy.guards if g.conditions}
        if which in guard_heads:  # guards are always checked, so the fault must surface
            assert d.explanation.error is not None
        if d.explanation.error is not None:
            assert d.outcome is Outcome.DENY
            assert d.fields == {}
            assert d.reason_code == "EVALUATION_ERROR"


class TestGeneratorReach:
    """The generated scenarios reach releases, so the properties are not vacuous."""

    def test_generator_finds_a_release(self) -> None:
        """Hypothesis can find a scenario that is released or held for approval."""
        found = find(
            scenarios(),
            lambda s: evaluate_release(*s).outcome is not Outcome.DENY,
            settings=settings(max_examples=2000, deadline=None, database=None),
        )
        assert evaluate_release(*found).fields
