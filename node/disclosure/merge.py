"""One answer per requested key: the decisions on every record holding it, merged.

Answering one item per (key, record) would tell a requester how many
eligible records hold each key and how each one was decided. So the
responder decides each record as before (the decisions and explanations are
kept) and answers each key with one merged item, the most restrictive
sensible combination:

- **DENY** if any record holding the key is refused: a guard that protects
  one record (a protected person, death-penalty exposure, a restriction) must
  not be side-stepped through another record about the same identifier. The
  reason code is that of the first refused record.
- otherwise **PENDING_APPROVAL** if any record needs an officer: one ticket
  for the key, with every required role, two-person if any record needs it,
  and the shortest deadline; on approval the merged fields are released.
- otherwise **RELEASE**.

Fields are the union of what each record's decision released (a field held
with different values lists each distinct value once); transformations and
obligations take the strictest of the records: highest handling code, use
limits if any record has them, the strictest consent levels and the shortest
retention.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Any

import policy as policy_lang
from policy import vocab


def _merge_values(values: list[Any]) -> Any:
    distinct: list[Any] = []
    for value in values:
        for one in value if isinstance(value, list) else [value]:
            if one not in distinct:
                distinct.append(one)
    if len(distinct) == 1 and not any(isinstance(v, list) for v in values):
        return distinct[0]
    return distinct


def _strictest_transform(hows: list[str]) -> str:
    order = list(vocab.TRANSFORMS)
    return max(hows, key=lambda how: order.index(how) if how in order else len(order))


def _obligations(specs: list[policy_lang.Obligations]) -> policy_lang.Obligations | None:
    if not specs:
        return None
    levels = vocab.CONSENT_LEVELS
    first = specs[0]
    return policy_lang.Obligations(
        handling_code=max((s.handling_code for s in specs), key=vocab.handling_rank),
        use_limited_to_purpose=any(s.use_limited_to_purpose for s in specs),
        use_limited_to_case=any(s.use_limited_to_case for s in specs),
        purpose=first.purpose,
        case_reference=first.case_reference,
        onward_transfer=max((s.onward_transfer for s in specs), key=levels.index),
        judicial_use=max((s.judicial_use for s in specs), key=levels.index),
        retention_days=min(s.retention_days for s in specs),
    )


def _approval(specs: list[policy_lang.Approval]) -> policy_lang.Approval | None:
    if not specs:
        return None
    roles = {role for s in specs for role in s.roles}
    deadlines = [s.deadline_hours for s in specs if s.deadline_hours is not None]
    return policy_lang.Approval(
        roles=tuple(r for r in vocab.APPROVAL_ROLES if r in roles),
        two_person=any(s.two_person for s in specs),
        deadline_hours=min(deadlines) if deadlines else None,
    )


def merge_decisions(
    decided: Sequence[tuple[str, policy_lang.Decision]],
) -> tuple[str, policy_lang.Decision]:
    """The record an item is filed under and the one merged decision for the key."""
    if len(decided) == 1:
        return decided[0]
    outcome_of = policy_lang.Outcome
    denied = [(r, d) for r, d in decided if d.outcome is outcome_of.DENY]
    texts = "\n\n".join(f"record {r}:\n{d.explanation.text}" for r, d in decided)
    guards: list[str] = []
    for _record, decision in decided:
        guards += [g for g in decision.denied_by if g not in guards]
    if denied:
        record_id, first = denied[0]
        merged = replace(
            first,
            fields={},
            obligations=None,
            approval=None,
            denied_by=guards,
            explanation=replace(first.explanation, text=texts),
        )
        return record_id, merged
    pending = [(r, d) for r, d in decided if d.outcome is outcome_of.PENDING_APPROVAL]
    record_id, first = pending[0] if pending else decided[0]
    fields: dict[str, list[Any]] = {}
    transforms: dict[str, list[str]] = {}
    for _record, decision in decided:
        for name, value in decision.fields.items():
            fields.setdefault(name, []).append(value)
        for name, how in (getattr(decision.explanation, "transforms", {}) or {}).items():
            transforms.setdefault(name, []).append(how)
    merged_transforms = {name: _strictest_transform(hows) for name, hows in transforms.items()}
    merged = replace(
        first,
        fields={name: _merge_values(values) for name, values in fields.items()},
        obligations=_obligations([d.obligations for _r, d in decided if d.obligations]),
        approval=_approval([d.approval for _r, d in pending if d.approval]),
        denied_by=guards,
        explanation=replace(first.explanation, text=texts, transforms=merged_transforms),
    )
    return record_id, merged
