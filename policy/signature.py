"""What a participation decision depends on, as one hashable value.

A responder asks its policy about every stored record before each match. The
decision reads only the request and these facts of a record: kind, subject
category, whether the review date has passed (compared in UTC with the day of
the request), handling restrictions, offence classes and species (conditions
in ``policy.conditions``). Records with the same signature get the
same decision for the same request, so the node can decide once per distinct
signature instead of once per record. Field *names* are part of the signature
because a record with an unknown field cannot be evaluated (fail closed);
field values, record id, case reference and source are not read by any
participation condition.
"""

from __future__ import annotations

import json
from collections.abc import Hashable, Mapping
from datetime import date, datetime
from typing import Any


def participation_signature(facts: Mapping[str, Any], today: date) -> Hashable:
    """The facts a participation decision can depend on, for a request made on ``today``.

    ``today`` is the request's UTC date (``ctx.now.astimezone(UTC).date()``).
    """
    fields = facts.get("fields")
    field_names = tuple(sorted(fields)) if isinstance(fields, Mapping) else repr(fields)
    return (
        facts.get("kind"),
        facts.get("subject_category"),
        _review_state(facts.get("review_date"), today),
        json.dumps(facts.get("handling_restrictions"), sort_keys=True, default=str),
        json.dumps(facts.get("offence_classes"), sort_keys=True, default=str),
        json.dumps(facts.get("species"), sort_keys=True, default=str),
        field_names,
        tuple(sorted(k for k in facts if k not in _NOT_READ)),
    )


def _review_state(value: object, today: date) -> str:
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


# Facts no participation condition reads (they appear only in explanations).
_NOT_READ = frozenset({"record_id", "case_reference", "source", "fields"})
