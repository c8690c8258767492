"""Combining matching release rules: fields, transformations, obligations, approval.

Fixed semantics: released fields are the union of what matching rules allow,
minus everything any matching rule marks ``never``, minus anything not
requested (and anything the record does not hold). Where rules differ, the
strictest transformation, handling code, consent level and shortest retention
win; approval is needed if any matching rule needs it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import date
from typing import Any

from policy import vocab
from policy.context import Facts, RequestContext
from policy.model import Rule

TRANSFORM_ORDER = tuple(vocab.TRANSFORMS)


@dataclass(frozen=True)
class Obligations:
    """What the recipient must respect for released information."""

    handling_code: str
    use_limited_to_purpose: bool
    use_limited_to_case: bool
    purpose: str
    case_reference: str
    onward_transfer: str
    judicial_use: str
    retention_days: int

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Approval:
    """Human approval needed before release."""

    roles: tuple[str, ...]
    two_person: bool
    deadline_hours: int | None

    def as_dict(self) -> dict[str, Any]:
        return {
            "roles": list(self.roles),
            "two_person": self.two_person,
            "deadline_hours": self.deadline_hours,
        }


@dataclass(frozen=True)
class FieldOutcome:
    """Fields released (after transformation) and why each other requested field was not."""

    released: dict[str, object]
    transforms: dict[str, str]
    withheld: dict[str, str]


def _transform_one(value: object, how: str) -> object:
    if how in ("year", "month"):
        text = value.isoformat() if isinstance(value, date) else str(value)
        date.fromisoformat(text[:10])  # refuses anything that is not a real date
        return text[:4] if how == "year" else text[:7]
    if how == "country_only":
        if isinstance(value, Mapping):
            return value.get("country")
        return str(value).rsplit(",", 1)[-1].strip()
    if how == "mask":
        text = str(value)
        return "*" * max(len(text) - 3, 0) + text[-3:]
    raise ValueError(f"unknown transformation {how}")


def apply_transform(value: object, how: str) -> object:
    """Apply a transformation to a field value (element by element for lists)."""
    if how == "count":
        return len(value) if isinstance(value, list | tuple) else 1
    if isinstance(value, list | tuple):
        return [_transform_one(v, how) for v in value]
    return _transform_one(value, how)


def combine_fields(rules: Sequence[Rule], ctx: RequestContext, facts: Facts) -> FieldOutcome:
    """The fields the matching ``rules`` release for this request and record."""
    requested = vocab.groups_to_fields(ctx.requested_fields)
    allowed: dict[str, str] = {}
    never: dict[str, str] = {}
    transforms: dict[str, str] = {}
    for rule in rules:
        assert rule.fields is not None
        for f in rule.fields.allow:
            allowed.setdefault(f, rule.id)
        for f in rule.fields.never:
            never.setdefault(f, rule.id)
        for f, how in rule.fields.transform:
            current = transforms.get(f)
            if current is None or TRANSFORM_ORDER.index(how) > TRANSFORM_ORDER.index(current):
                transforms[f] = how
    released: dict[str, object] = {}
    withheld: dict[str, str] = {}
    for f in requested:
        if f in never:
            withheld[f] = f"never released under rule {never[f]}"
        elif f not in allowed:
            withheld[f] = "no matching rule allows it"
        elif f not in facts.fields or facts.fields[f] in (None, "", [], ()):
            if f in ctx.requested_fields:  # named explicitly, so say why it is missing
                withheld[f] = "the record holds no value"
        elif f in transforms:
            released[f] = apply_transform(facts.fields[f], transforms[f])
        else:
            released[f] = facts.fields[f]
    used = {f: how for f, how in transforms.items() if f in released}
    return FieldOutcome(released, used, withheld)


def combine_obligations(rules: Sequence[Rule], ctx: RequestContext, facts: Facts) -> Obligations:
    """The strictest obligations of the matching rules and the record's own handling code."""
    specs = [r.obligations for r in rules if r.obligations is not None]
    codes = [s.handling_code for s in specs]
    codes += [c for c in facts.handling_restrictions if c in vocab.HANDLING_CODES]
    levels = vocab.CONSENT_LEVELS
    return Obligations(
        handling_code=max(codes, key=vocab.handling_rank),
        use_limited_to_purpose=any(s.use_limited_to_purpose for s in specs),
        use_limited_to_case=any(s.use_limited_to_case for s in specs),
        purpose=ctx.purpose,
        case_reference=ctx.case_reference,
        onward_transfer=max((s.onward_transfer for s in specs), key=levels.index),
        judicial_use=max((s.judicial_use for s in specs), key=levels.index),
        retention_days=min(s.retention_days for s in specs),
    )


def combine_approval(rules: Sequence[Rule]) -> Approval | None:
    """The approval needed, or ``None`` when no matching rule requires one."""
    specs = [r.approval for r in rules if r.approval is not None and r.approval.required]
    if not specs:
        return None
    roles = {role for s in specs for role in s.roles}
    deadlines = [s.deadline_hours for s in specs if s.deadline_hours is not None]
    return Approval(
        roles=tuple(r for r in vocab.APPROVAL_ROLES if r in roles),
        two_person=any(s.two_person for s in specs),
        deadline_hours=min(deadlines) if deadlines else None,
    )
