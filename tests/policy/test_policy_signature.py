"""Participation decisions are the same for records with the same signature, and the
signature follows what each condition declares it reads."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings

import policy
from node.records.facts import facts as record_facts
from node.records.parse import parse_row
from policy.conditions import CONDITIONS, PASSED_OR_DUE, ConditionDef, Reads, State
from policy.context import Facts, parse_facts
from spoor_dev.generate import rows
from tests.policy.test_policy_properties import scenarios

ROOT = Path(__file__).resolve().parents[2]
NOW = datetime(2026, 11, 22, 12, tzinfo=UTC)
REQUESTS = [
    ("vn-customs", "criminal_investigation", "KE-VN-MoU-2024"),
    ("vn-customs", "customs_enforcement", "CITES-Art-VIII"),
    ("mz-pgr", "prosecution", "UNTOC-Art-18"),
    ("mz-pgr", "criminal_investigation", "KE-VN-MoU-2024"),
]


def _facts() -> list[dict[str, object]]:
    out = []
    for i, row in enumerate(rows(600, seed=11, agency="KWS", country="KE")):
        if i % 7 == 0 and row.get("kind") == "person":
            row["subject_category"] = "witness"
        if i % 11 == 0:
            row["review_date"] = "2020-01-01"
        if i % 13 == 0:
            row["handling_restrictions"] = "interpol_art3"
        out.append(dict(record_facts(parse_row({k: v for k, v in row.items() if v}))))
    return out


class TestParticipationSignature:
    @pytest.mark.parametrize(("requester", "purpose", "basis"), REQUESTS)
    def test_memoized_decisions_equal_direct_decisions(
        self, requester: str, purpose: str, basis: str
    ) -> None:
        """Deciding once per signature gives every record the decision it would get alone."""
        pol = policy.load_policy(ROOT / "deploy/policies/ke-kws")
        ctx = policy.RequestContext(
            requester=requester,
            purpose=purpose,
            legal_basis=basis,
            case_reference="C",
            officer="O",
            now=datetime(2026, 11, 22, 12, tzinfo=UTC),
        )
        today = ctx.now.date()
        by_signature: dict[object, str] = {}
        outcomes: set[str] = set()
        for facts in _facts():
            direct = policy.evaluate_participation(pol, ctx, facts).outcome
            signature = policy.participation_signature(facts, today)
            remembered = by_signature.setdefault(signature, direct)
            assert remembered == direct, facts["record_id"]
            outcomes.add(direct.value)
        # The check is meaningful: signatures are shared and both outcomes occur.
        assert len(by_signature) < 600
        if requester == "mz-pgr" and purpose == "prosecution":
            assert {"RELEASE", "DENY"} <= outcomes

    def test_review_date_counts_only_as_passed_or_due(self) -> None:
        """Two review dates on the same side of today share a signature; across it they do not."""
        today = datetime(2026, 11, 22, tzinfo=UTC).date()
        base = {"record_id": "a", "kind": "shipment", "fields": {}}
        sig = policy.participation_signature
        assert sig({**base, "review_date": "2030-01-01"}, today) == sig(
            {**base, "review_date": "2031-06-30", "record_id": "b"}, today
        )
        assert sig({**base, "review_date": "2020-01-01"}, today) != sig(
            {**base, "review_date": "2030-01-01"}, today
        )
        assert sig({**base, "review_date": "not-a-date"}, today) != sig(
            {**base, "review_date": "2030-01-01"}, today
        )


class UndeclaredFactRead(AssertionError):
    """A condition looked at a record fact its registry entry does not declare."""


class _DayCompared:
    """A date that may only be compared with the request's day (``PASSED_OR_DUE``)."""

    def __init__(self, value: date, today: date, condition: str) -> None:
        self._value, self._today, self._condition = value, today, condition

    def _against(self, other: object) -> date:
        if other != self._today:
            raise UndeclaredFactRead(
                f"{self._condition} compares review_date with {other!r}, but declares it reads "
                "only whether it lies before the request's day"
            )
        return self._value

    def __lt__(self, other: object) -> bool:
        return self._against(other) < self._today

    def __le__(self, other: object) -> bool:
        return self._against(other) <= self._today

    def __gt__(self, other: object) -> bool:
        return self._against(other) > self._today

    def __ge__(self, other: object) -> bool:
        return self._against(other) >= self._today

    def isoformat(self) -> str:  # for the explanation's wording only
        return self._value.isoformat()


class _GuardedFacts:
    """Parsed facts that raise on any attribute the condition has not declared."""

    def __init__(self, facts: Facts, condition: ConditionDef, today: date) -> None:
        self._facts, self._condition, self._today = facts, condition, today
        self._views = {r.fact: r.view for r in condition.reads}

    def __getattr__(self, name: str) -> object:
        view = self._views.get(name)
        if view is None:
            raise UndeclaredFactRead(
                f"condition {self._condition.name!r} reads the record fact {name!r} but its "
                "entry in policy.conditions.CONDITIONS does not declare it in reads="
            )
        value = getattr(self._facts, name)
        if view == PASSED_OR_DUE and isinstance(value, date):
            return _DayCompared(value, self._today, self._condition.name)
        return value


def check_guarded(condition: ConditionDef, pol: policy.Policy, ctx: Any, raw: Any) -> None:
    """Run one condition with facts that refuse undeclared reads."""
    parsed = parse_facts(raw)
    state = State(pol, ctx, parsed)
    state.facts = _GuardedFacts(parsed, condition, state.today)  # type: ignore[assignment]
    value: bool | tuple[str, ...] = True if condition.type == "bool" else ()
    condition.check(state, value)


def _reviewed_before_2031(state: State, value: bool | tuple[str, ...]) -> tuple[bool, str]:
    review = state.facts.review_date
    return review is not None and review < date(2031, 1, 1), "reviewed before 2031"


def _source_among(state: State, value: bool | tuple[str, ...]) -> tuple[bool, str]:
    return isinstance(value, tuple) and state.facts.source in value, "source"


class TestConditionsDeclareWhatTheyRead:
    @settings(max_examples=60, suppress_health_check=[HealthCheck.too_slow])
    @given(scenario=scenarios())
    def test_no_condition_reads_an_undeclared_fact(self, scenario: Any) -> None:
        """Every registered condition reads only the record facts its entry declares."""
        pol, ctx, raw = scenario
        for condition in CONDITIONS.values():
            check_guarded(condition, pol, ctx, raw)

    def test_an_undeclared_read_is_caught(self) -> None:
        """A condition reading a fact it does not declare fails the check above."""
        sneaky = ConditionDef(
            "from_source",
            "bool",
            None,
            "the record comes from a named source",
            lambda state, value: (state.facts.source is not None, "source"),
        )
        pol = policy.load_policy(ROOT / "deploy/policies/ke-kws")
        ctx = policy.RequestContext("vn-customs", "criminal_investigation", "B", "C", "O", NOW)
        raw = {"record_id": "a", "kind": "shipment", "source": "port", "fields": {}}
        with pytest.raises(UndeclaredFactRead, match="'source'"):
            check_guarded(sneaky, pol, ctx, raw)

    def test_a_date_read_beyond_its_view_is_caught(self) -> None:
        """Reading review_date as more than passed-or-due fails when so declared."""
        sneaky = ConditionDef(
            "reviewed_in_2030",
            "bool",
            None,
            "the review is in 2030",
            _reviewed_before_2031,
            reads=(Reads("review_date", PASSED_OR_DUE),),
        )
        pol = policy.load_policy(ROOT / "deploy/policies/ke-kws")
        ctx = policy.RequestContext("vn-customs", "criminal_investigation", "B", "C", "O", NOW)
        raw = {"record_id": "a", "kind": "shipment", "review_date": "2030-05-01", "fields": {}}
        with pytest.raises(UndeclaredFactRead, match="review_date"):
            check_guarded(sneaky, pol, ctx, raw)

    def test_signature_follows_the_declarations(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """A newly declared read makes records differing in that fact get their own signature."""
        today = NOW.date()
        a = {"record_id": "a", "kind": "shipment", "source": "port", "fields": {}}
        b = {**a, "source": "airport"}
        sig = policy.participation_signature
        assert sig(a, today) == sig(b, today)  # no condition reads the source today
        reader = ConditionDef(
            "from_source",
            "list",
            None,
            "the record comes from",
            _source_among,
            reads=(Reads("source"),),
        )
        monkeypatch.setitem(CONDITIONS, "from_source", reader)
        assert sig(a, today) != sig(b, today)
