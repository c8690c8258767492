"""Warnings about a loaded policy: gaps in reference data and rules that can never fire.

None of these stops a policy from loading (the decisions stay safe: default
deny, guards first), but each is almost certainly not what the legal officer
meant, so ``spoor policy check`` points at it with a hint:

* a counterpart profile that does not say whether the counterpart is a CITES
  party or which conduct is an offence there (dual criminality then fails
  closed for it);
* a rule whose effective period is over;
* a rule whose conditions contradict each other or the reference data: a
  requester from a country none of the named counterparts is in, a country no
  counterpart is in, a legal basis no named requester has in force, a purpose
  the legal basis does not cover or the requester is not competent for (the
  baseline guards refuse every such request);
* a participation rule shadowed by an earlier one that matches whenever it does
  (it can never change a decision).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date

from policy.errors import Problem
from policy.model import Condition, Counterpart, Policy, Rule


def _warn(rule_or_origin: Rule | Counterpart | Condition, message: str, hint: str) -> Problem:
    o = rule_or_origin.origin
    return Problem(o.file, o.line, o.column, message, hint, "warning")


def reference_warnings(policy: Policy) -> Iterator[Problem]:
    """Counterpart profiles missing facts that decisions need (they fail closed)."""
    for cp in policy.counterparts.values():
        missing = [
            name
            for name, value in (
                ("cites_party", cp.cites_party),
                ("criminal_offences", cp.criminal_offences),
            )
            if value is None
        ]
        if missing:
            yield _warn(
                cp,
                f"counterpart {cp.id} does not give {' or '.join(missing)}; dual criminality "
                "cannot be established for it and releases needing it are denied",
                "add " + " and ".join(f"'{m}'" for m in missing) + " to its profile",
            )


def _values(rule: Rule, name: str) -> tuple[str, ...] | None:
    for cond in rule.conditions:
        if cond.name == name and isinstance(cond.value, tuple):
            return cond.value
    return None


def _condition(rule: Rule, name: str) -> Condition | None:
    return next((c for c in rule.conditions if c.name == name), None)


def _contradictions(policy: Policy, rule: Rule) -> Iterator[str]:
    requesters = _values(rule, "requester")
    countries = _values(rule, "requester_country")
    bases = _values(rule, "legal_basis")
    purposes = _values(rule, "purpose")
    profiles = [policy.counterparts[r] for r in requesters or () if r in policy.counterparts]
    if requesters is None:
        profiles = list(policy.counterparts.values())
    if countries is not None:
        profiles = [p for p in profiles if p.country in countries]
        if not profiles:
            who = "the named requesters" if requesters is not None else "any counterpart"
            yield f"requester_country {', '.join(countries)} is not the country of {who}"
            return
    if requesters is not None and profiles and all(not p.competent_authority for p in profiles):
        yield "no named requester is a competent authority"
        return
    named = profiles if requesters is not None else []
    if (
        purposes is not None
        and named
        and not any(set(p.competences) & set(purposes) for p in named)
    ):
        yield f"no named requester is competent for {', '.join(purposes)}"
        return
    if bases is not None:
        if named and not any(set(p.instruments) & set(bases) for p in named):
            yield f"no named requester has {', '.join(bases)} in force"
            return
        if purposes is not None:
            covered = [
                b
                for b in bases
                if b in policy.instruments and set(policy.instruments[b].purposes) & set(purposes)
            ]
            if not covered:
                yield f"{', '.join(bases)} does not cover the purpose {', '.join(purposes)}"


def _implies(later: Rule, earlier: Rule) -> bool:
    """Whether ``earlier`` matches every request and record that ``later`` matches."""
    if earlier.effective_from or earlier.effective_until:
        return False
    for cond in earlier.conditions:
        mine = _condition(later, cond.name)
        if mine is None:
            return False
        if isinstance(cond.value, bool) or isinstance(mine.value, bool):
            if cond.value != mine.value:
                return False
        elif not set(mine.value) <= set(cond.value):
            return False
    return True


def never_fire_warnings(policy: Policy, today: date) -> Iterator[Problem]:
    """Rules that can never fire, or never change a decision."""
    for rule in policy.rules:
        if rule.library is not None:
            continue
        if rule.effective_until and rule.effective_until < today:
            yield _warn(
                rule,
                f"rule {rule.id} ended on {rule.effective_until.isoformat()} and never fires again",
                "remove it, or extend 'effective_until' if it should still apply",
            )
            continue
        if rule.kind != "guard":
            for why in _contradictions(policy, rule):
                yield _warn(
                    rule,
                    f"rule {rule.id} can never fire: {why}",
                    "check the rule's conditions against the counterpart profiles and "
                    "instruments in the reference data",
                )
    seen: list[Rule] = []
    for rule in policy.participation:
        earlier = next((e for e in seen if _implies(rule, e)), None)
        if earlier is not None and rule.library is None:
            yield _warn(
                rule,
                f"rule {rule.id} is shadowed by rule {earlier.id}: whenever it matches, "
                f"{earlier.id} matches too, so it never changes a decision",
                f"remove it, or narrow {earlier.id}",
            )
        seen.append(rule)
