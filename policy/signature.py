"""What a participation decision depends on, as one hashable value.

A responder asks its policy about every stored record before each match. The
decision reads the request (the same for every record) and, of a record, only
the facts the conditions declare they read (``ConditionDef.reads`` in
``policy.conditions``). Records with the same signature get the same decision
for the same request, so the node can decide once per distinct signature
instead of once per record.

The signature is derived from those declarations:

* a fact some condition reads as a whole (``VALUE``) enters with its value;
* a fact read only as a date before the request's day or not (``PASSED_OR_DUE``)
  enters as ``passed``, ``due`` or ``none`` (an invalid date keeps its value);
* a fact no condition reads enters only with what validation looks at: its
  type and whether it is empty, and for ``fields`` the field names, because a
  record that fails validation cannot be evaluated (fail closed);
* the set of keys, because an unknown fact also fails validation.

A condition that reads a fact it does not declare would make records that
differ in that fact share a decision; tests/policy/test_policy_signature.py
runs every condition against facts that refuse undeclared reads.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Hashable, Mapping
from datetime import date, datetime
from functools import lru_cache
from typing import Any

from policy.conditions import CONDITIONS, PASSED_OR_DUE, VALUE, ConditionDef
from policy.context import FACT_KEYS


def participation_signature(facts: Mapping[str, Any], today: date) -> Hashable:
    """The facts a participation decision can depend on, for a request made on ``today``.

    ``today`` is the request's UTC date (``ctx.now.astimezone(UTC).date()``).
    """
    return participation_signer(today)(facts)


def participation_signer(today: date) -> Callable[[Mapping[str, Any]], Hashable]:
    """:func:`participation_signature` for many records of one request (reads the
    declarations once)."""
    views = read_views(tuple(CONDITIONS.values()))
    for key, view in views.items():
        if view not in (VALUE, PASSED_OR_DUE):
            raise ValueError(f"a condition reads {key!r} with an unknown view {view!r}")
    plan = tuple((key, views.get(key)) for key in FACT_KEYS)

    def sign(facts: Mapping[str, Any]) -> Hashable:
        parts: list[Hashable] = []
        for key, view in plan:
            value = facts.get(key)
            if view == VALUE:
                parts.append(_exact(value))
            elif view == PASSED_OR_DUE:
                parts.append(_passed_or_due(value, today))
            elif key == "fields":
                parts.append(_field_names(value))
            else:
                parts.append((type(value).__name__, bool(value)))
        parts.append(tuple(sorted(map(str, facts))))
        return tuple(parts)

    return sign


@lru_cache(maxsize=8)
def read_views(conditions: tuple[ConditionDef, ...]) -> Mapping[str, str]:
    """For each record fact some condition reads, the most any condition reads of it."""
    views: dict[str, str] = {}
    for condition in conditions:
        for read in condition.reads:
            if views.get(read.fact) != VALUE:
                views[read.fact] = read.view
    return views


def _exact(value: object) -> Hashable:
    """A value as a hashable whole: text as it is, lists of text as tuples, the rest as JSON."""
    if value is None or type(value) is str:
        return value
    if isinstance(value, list | tuple) and all(type(v) is str for v in value):
        return ("seq", *value)
    return ("json", json.dumps(value, sort_keys=True, default=str))


def _field_names(value: object) -> Hashable:
    return tuple(sorted(map(str, value))) if isinstance(value, Mapping) else repr(value)


def _passed_or_due(value: object, today: date) -> str:
    """``none``, ``passed`` or ``due`` for a valid date; anything else stays as it is."""
    if value is None:
        return "none"
    if isinstance(value, str):
        try:
            value = date.fromisoformat(value)
        except ValueError:
            return f"invalid:{value}"
    if isinstance(value, date) and not isinstance(value, datetime):
        return "passed" if value < today else "due"
    return f"invalid:{value!r}"
