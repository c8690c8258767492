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
from collections.abc import Hashable, Mapping
from datetime import date, datetime
from functools import lru_cache
from typing import Any

from policy.conditions import CONDITIONS, PASSED_OR_DUE, VALUE, ConditionDef
from policy.context import FACT_KEYS


def participation_signature(facts: Mapping[str, Any], today: date) -> Hashable:
    """The facts a participation decision can depend on, for a request made on ``today``.

    ``today`` is the request's UTC date (``ctx.now.astimezone(UTC).date()``).
    """
    views = read_views(tuple(CONDITIONS.values()))
    return (
        tuple(_part(key, facts.get(key), views.get(key), today) for key in FACT_KEYS),
        tuple(sorted(map(str, facts))),
    )


@lru_cache(maxsize=8)
def read_views(conditions: tuple[ConditionDef, ...]) -> Mapping[str, str]:
    """For each record fact some condition reads, the most any condition reads of it."""
    views: dict[str, str] = {}
    for condition in conditions:
        for read in condition.reads:
            if views.get(read.fact) != VALUE:
                views[read.fact] = read.view
    return views


def _part(key: str, value: object, view: str | None, today: date) -> Hashable:
    if view == VALUE:
        return json.dumps(value, sort_keys=True, default=str)
    if view == PASSED_OR_DUE:
        return _passed_or_due(value, today)
    if view is not None:
        raise ValueError(f"condition reads {key!r} with an unknown view {view!r}")
    if key == "fields":
        return tuple(sorted(map(str, value))) if isinstance(value, Mapping) else repr(value)
    return type(value).__name__, bool(value)


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
