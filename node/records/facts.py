"""What the policy sees of a record (RecordFacts, see docs/architecture.md)."""

from __future__ import annotations

from typing import Any

from node.records.model import FIELD_GROUPS, Record

#: The plain mapping :mod:`policy` evaluates.
RecordFacts = dict[str, Any]


def _field_value(record: Record, name: str) -> Any:
    value = getattr(record, name, None)
    if name in ("documents", "species"):
        return [item.to_json() for item in value or ()]
    if isinstance(value, tuple):
        return list(value)
    return value


def facts(record: Record) -> RecordFacts:
    """The record as policy facts: metadata plus every non-empty releasable field."""
    fields: dict[str, Any] = {}
    for name in FIELD_GROUPS:
        value = _field_value(record, name)
        if value not in (None, [], ""):
            fields[name] = value
    return {
        "record_id": record.record_id,
        "kind": record.kind,
        "subject_category": record.subject_category if record.kind == "person" else None,
        "case_reference": record.case_reference,
        "source": record.source,
        "review_date": record.review_date,
        "handling_restrictions": list(record.handling_restrictions),
        "offence_classes": list(record.offence_classes),
        "species": [
            {"scientific_name": s.scientific_name, "population": s.population}
            for s in record.species
        ],
        "fields": fields,
    }
