"""The conditions a rule may test, and how each one is decided.

A rule's ``when`` block is a list of conditions that must all hold. Each
condition returns whether it holds and a plain-language detail saying why, so
the explanation of a decision comes from the very computation that made it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date
from functools import cached_property, lru_cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from policy.context import Facts, RequestContext
    from policy.model import Assurance, Counterpart, Policy

BOTH_USES = frozenset({"direct_use", "indirect_use"})


class State:
    """One request and one record, with the facts derived from them computed once."""

    def __init__(self, policy: Policy, ctx: RequestContext, facts: Facts) -> None:
        self.policy = policy
        self.ctx = ctx
        self.facts = facts
        self.today: date = ctx.now.astimezone(UTC).date()  # dates are compared in UTC

    @cached_property
    def profile(self) -> Counterpart | None:
        return self.policy.counterparts.get(self.ctx.requester)

    @cached_property
    def competent(self) -> tuple[bool, str]:
        who, purpose = self.ctx.requester, self.ctx.purpose
        if self.profile is None:
            return False, f"there is no counterpart profile for '{who}'"
        if not self.profile.competent_authority:
            return False, f"{who} is not recorded as a competent authority"
        if purpose not in self.profile.competences:
            return False, f"{who} is not competent for {purpose}"
        return True, f"{who} is a competent authority for {purpose}"

    @cached_property
    def legal_basis(self) -> tuple[bool, str]:  # noqa: PLR0911 - one return per ground of refusal
        basis, who = self.ctx.legal_basis, self.ctx.requester
        inst = self.policy.instruments.get(basis)
        if inst is None:
            return False, f"'{basis}' is not a legal instrument in the reference data"
        if self.profile is None or basis not in self.profile.instruments:
            return False, f"{basis} is not an instrument in force with {who}"
        if inst.valid_from and self.today < inst.valid_from:
            return False, f"{basis} takes effect on {inst.valid_from.isoformat()}"
        if inst.expires and self.today > inst.expires:
            return False, f"{basis} expired on {inst.expires.isoformat()}"
        if self.ctx.purpose not in inst.purposes:
            return False, f"{basis} does not cover the purpose {self.ctx.purpose}"
        countries = {self.policy.agency.country, self.profile.country}
        if inst.parties and not countries <= set(inst.parties):
            missing = ", ".join(sorted(countries - set(inst.parties)))
            return False, f"{missing} is not a party to {basis}"
        until = f" until {inst.expires.isoformat()}" if inst.expires else ""
        return True, f"{basis} is in force with {who}{until} and covers {self.ctx.purpose}"

    def _assurance_covers(self, a: Assurance, offence: str) -> bool:
        return (
            a.counterpart == self.ctx.requester
            and a.kind == "no_death_penalty"
            and set(a.scope) >= BOTH_USES
            and offence in a.offence_classes
            and a.issued <= self.today
            and (a.expires is None or self.today <= a.expires)
            and (a.case_reference is None or a.case_reference == self.ctx.case_reference)
        )

    @cached_property
    def capital_exposure(self) -> tuple[bool, str]:
        """(exposed without assurance, detail)."""
        if self.profile is None:
            return True, "death-penalty exposure is unknown: no counterpart profile"
        charges = set(self.ctx.potential_charges) | set(self.facts.offence_classes)
        exposed = sorted(charges & set(self.profile.death_penalty))
        if not exposed:
            return (
                False,
                f"no offence concerned carries the death penalty in {self.profile.country}",
            )
        given = [self.policy.assurances[a] for a in self.ctx.assurances]
        uncovered = [o for o in exposed if not any(self._assurance_covers(a, o) for a in given)]
        if uncovered:
            return True, (
                f"{', '.join(uncovered)} may carry the death penalty in {self.profile.country} "
                "and no valid assurance covering direct and indirect use was given"
            )
        return False, (
            f"{', '.join(exposed)} may carry the death penalty in {self.profile.country}; "
            "covered by a valid assurance for direct and indirect use"
        )

    @cached_property
    def dual_criminality(self) -> tuple[bool, str]:
        agency = self.policy.agency
        for charge in self.ctx.potential_charges:
            if charge not in agency.criminal_offences:
                return False, f"{charge} is not an offence in {agency.country}"
        profile = self.profile
        if profile is None:
            return False, "no counterpart profile, dual criminality cannot be established"
        if self.ctx.potential_charges and profile.criminal_offences is None:
            # Fail closed: what the reference data does not say is not assumed.
            return False, (
                f"the counterpart profile of {profile.id} does not list its criminal offences, "
                "so dual criminality cannot be established"
            )
        for charge in self.ctx.potential_charges:
            if charge not in (profile.criminal_offences or ()):
                return False, f"{charge} is not an offence in {profile.country}"
        for sp in self.facts.species:
            name, population = sp
            known = self.policy.species.get(name)
            listed = known is not None and known.appendix_for(population) != "none"
            if listed and agency.cites_party and profile.cites_party is True:
                continue
            if name in agency.protected_species and name in profile.protected_species:
                continue
            why = "is not in the species reference data" if known is None else "is not protected"
            return False, f"{name} {why} in both {agency.country} and {profile.country}"
        return True, "the conduct concerned is an offence in both jurisdictions"

    def appendices(self) -> list[str]:
        out = []
        for name, population in self.facts.species:
            known = self.policy.species.get(name)
            out.append(known.appendix_for(population) if known else "none")
        return out


# How much of a record fact a condition reads (see ``policy.signature``).
VALUE = "value"  # the whole value
PASSED_OR_DUE = "passed_or_due"  # a date, only whether it lies before the request's day


@dataclass(frozen=True)
class Reads:
    """One record fact a condition reads, and how much of it."""

    fact: str  # a key of RecordFacts (``policy.context.FACT_KEYS``)
    view: str = VALUE


@dataclass(frozen=True)
class ConditionDef:
    """What a condition means: its value type, vocabulary and how it is decided.

    ``reads`` declares every record fact ``check`` looks at (request-only
    conditions read none). The participation signature is derived from these
    declarations, so a fact read but not declared would make memoised decisions
    wrong; tests/policy/test_policy_signature.py fails when that happens.
    """

    name: str
    type: str  # "bool" | "list"
    vocabulary: str | None  # which vocabulary a list value must come from
    text: str  # plain-language meaning, used in explanations and docs
    check: Callable[[State, bool | tuple[str, ...]], tuple[bool, str]]
    reads: tuple[Reads, ...] = ()


def _member(get: Callable[[State], str | None], label: str) -> Callable[..., tuple[bool, str]]:
    def check(state: State, value: bool | tuple[str, ...]) -> tuple[bool, str]:
        actual = get(state)
        assert isinstance(value, tuple)
        shown = actual if actual is not None else "not set"
        return actual in value, f"{label} is {shown}"

    return check


def _any(
    get: Callable[[State], list[str] | tuple[str, ...]], label: str
) -> Callable[..., tuple[bool, str]]:
    def check(state: State, value: bool | tuple[str, ...]) -> tuple[bool, str]:
        actual = list(get(state))
        assert isinstance(value, tuple)
        shown = ", ".join(actual) if actual else "none"
        return any(a in value for a in actual), f"{label}: {shown}"

    return check


def _flag(get: Callable[[State], tuple[bool, str]]) -> Callable[..., tuple[bool, str]]:
    def check(state: State, value: bool | tuple[str, ...]) -> tuple[bool, str]:
        actual, detail = get(state)
        return actual == value, detail

    return check


def _review_passed(state: State) -> tuple[bool, str]:
    review = state.facts.review_date
    if review is None:
        return False, "the record has no review date"
    if review < state.today:
        return True, f"the record's review date {review.isoformat()} has passed"
    return False, f"the record is due for review on {review.isoformat()}"


def _assurance_kinds(state: State) -> list[str]:
    """Kinds of the assurances given that hold for this request.

    An assurance counts only when it was given by the requester, is in date,
    covers both direct and indirect use, and is either general or given for this
    very case.
    """
    kinds = []
    for aid in state.ctx.assurances:
        a = state.policy.assurances[aid]
        valid = a.issued <= state.today and (a.expires is None or state.today <= a.expires)
        full_scope = set(a.scope) >= BOTH_USES
        this_case = a.case_reference is None or a.case_reference == state.ctx.case_reference
        if a.counterpart == state.ctx.requester and valid and full_scope and this_case:
            kinds.append(a.kind)
    return kinds


def _justified(state: State) -> tuple[bool, str]:
    if state.ctx.justification and state.ctx.justification.strip():
        return True, "a justification was given"
    return False, "no justification was given"


def _country(state: State) -> str | None:
    return state.profile.country if state.profile else None


CONDITIONS: dict[str, ConditionDef] = {
    d.name: d
    for d in (
        ConditionDef(
            "requester",
            "list",
            "counterparts",
            "the requester is one of",
            _member(lambda s: s.ctx.requester, "the requester"),
        ),
        ConditionDef(
            "requester_country",
            "list",
            "countries",
            "the requester's country is one of",
            _member(_country, "the requester's country"),
        ),
        ConditionDef(
            "purpose",
            "list",
            "purposes",
            "the stated purpose is one of",
            _member(lambda s: s.ctx.purpose, "the purpose"),
        ),
        ConditionDef(
            "legal_basis",
            "list",
            "instruments",
            "the stated legal basis is one of",
            _member(lambda s: s.ctx.legal_basis, "the legal basis"),
        ),
        ConditionDef(
            "potential_charge",
            "list",
            "offence_classes",
            "a potential charge is one of",
            _any(lambda s: s.ctx.potential_charges, "potential charges"),
        ),
        ConditionDef(
            "assurance",
            "list",
            "assurance_kinds",
            "the request carries a valid assurance of kind",
            _any(_assurance_kinds, "valid assurances given"),
        ),
        ConditionDef(
            "justification_given", "bool", None, "a justification was given", _flag(_justified)
        ),
        ConditionDef(
            "requester_competent",
            "bool",
            None,
            "the requester is a competent authority for the purpose",
            _flag(lambda s: s.competent),
        ),
        ConditionDef(
            "legal_basis_valid",
            "bool",
            None,
            "the legal basis is in force with the requester and covers the purpose",
            _flag(lambda s: s.legal_basis),
        ),
        ConditionDef(
            "capital_exposure_without_assurance",
            "bool",
            None,
            "an offence concerned may carry the death penalty for the requester "
            "and no assurance covers direct and indirect use",
            _flag(lambda s: s.capital_exposure),
            reads=(Reads("offence_classes"),),
        ),
        ConditionDef(
            "dual_criminality",
            "bool",
            None,
            "the conduct is an offence in both jurisdictions",
            _flag(lambda s: s.dual_criminality),
            reads=(Reads("species"),),
        ),
        ConditionDef(
            "kind",
            "list",
            "record_kinds",
            "the record is of kind",
            _member(lambda s: s.facts.kind, "the record kind"),
            reads=(Reads("kind"),),
        ),
        ConditionDef(
            "subject_category",
            "list",
            "subject_categories",
            "the subject category is one of",
            _member(lambda s: s.facts.subject_category, "the subject category"),
            reads=(Reads("subject_category"),),
        ),
        ConditionDef(
            "offence_class",
            "list",
            "offence_classes",
            "the record concerns an offence class among",
            _any(lambda s: s.facts.offence_classes, "record offence classes"),
            reads=(Reads("offence_classes"),),
        ),
        ConditionDef(
            "handling_restriction",
            "list",
            "handling_restrictions",
            "the record carries a handling restriction among",
            _any(lambda s: s.facts.handling_restrictions, "record restrictions"),
            reads=(Reads("handling_restrictions"),),
        ),
        ConditionDef(
            "cites_appendix",
            "list",
            "cites_appendices",
            "a species in the record is listed in CITES appendix",
            _any(State.appendices, "CITES appendices of the record's species"),
            reads=(Reads("species"),),
        ),
        ConditionDef(
            "review_date_passed",
            "bool",
            None,
            "the record's review date has passed",
            _flag(_review_passed),
            reads=(Reads("review_date", PASSED_OR_DUE),),
        ),
    )
}


NEGATIONS = {
    "justification_given": "no justification was given",
    "requester_competent": "the requester is not a competent authority for the purpose",
    "legal_basis_valid": "the legal basis is not in force with the requester or does not cover "
    "the purpose",
    "capital_exposure_without_assurance": "no offence concerned carries the death penalty for "
    "the requester, or an assurance covers it",
    "dual_criminality": "the conduct is not an offence in both jurisdictions",
    "review_date_passed": "the record's review date has not passed",
}


@lru_cache(maxsize=4096)
def describe(name: str, value: bool | tuple[str, ...]) -> str:
    """Plain-language statement of a condition as written in a rule."""
    d = CONDITIONS[name]
    if isinstance(value, bool):
        return d.text if value else NEGATIONS[name]
    return f"{d.text} {', '.join(value)}"
