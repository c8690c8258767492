"""The record model: persons, organisations and shipments.

A record holds facts as the agency wrote them (names in their original script,
phone numbers as typed); canonical forms exist only inside match keys. Every
record carries its case reference, source, review/retention date and handling
restrictions, which the policy reads through :func:`node.records.facts.facts`.

Field names and their groups come from :data:`policy.vocab.FIELD_GROUPS`, the
single list the policy language releases fields by.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, fields
from typing import Any, Final

from policy.vocab import (
    FIELD_GROUPS,
    HANDLING_RESTRICTIONS,
    OFFENCE_CLASSES,
    RECORD_KINDS,
    SUBJECT_CATEGORIES,
)

__all__ = [
    "DOCUMENT_TYPES",
    "FIELD_GROUPS",
    "HANDLING_RESTRICTIONS",
    "KIND_FIELDS",
    "OFFENCE_CLASSES",
    "RECORD_KINDS",
    "SUBJECT_CATEGORIES",
    "IdentityDocument",
    "Record",
    "SpeciesItem",
]

#: Identity document types a person record may carry.
DOCUMENT_TYPES: Final = (
    "passport",
    "national_id",
    "residence_permit",
    "driving_licence",
    "seafarer_id",
    "voter_id",
    "tax_id",
)


@dataclass(frozen=True, slots=True)
class IdentityDocument:
    """An identity document: its type, number as written and issuing country (alpha-3)."""

    doc_type: str
    number: str
    issuing_country: str

    def to_json(self) -> dict[str, str]:
        return {
            "type": self.doc_type,
            "number": self.number,
            "issuing_country": self.issuing_country,
        }


@dataclass(frozen=True, slots=True)
class SpeciesItem:
    """A species in a shipment: scientific name and, for split-listed species, the population."""

    scientific_name: str
    population: str | None = None

    def to_json(self) -> dict[str, str | None]:
        return {"scientific_name": self.scientific_name, "population": self.population}


@dataclass(frozen=True, slots=True)
class Record:
    """One record held by an agency. Fields not used by the record's kind stay empty."""

    record_id: str
    kind: str
    review_date: str
    case_reference: str | None = None
    source: str | None = None
    handling_restrictions: tuple[str, ...] = ()
    offence_classes: tuple[str, ...] = ()
    #: ISO alpha-2 country the record was written in; local phone numbers are read in it.
    country: str | None = None
    # persons
    subject_category: str | None = None
    names: tuple[str, ...] = ()
    aliases: tuple[str, ...] = ()
    date_of_birth: str | None = None
    year_of_birth: int | None = None
    nationality: tuple[str, ...] = ()
    documents: tuple[IdentityDocument, ...] = ()
    # persons and organisations
    phones: tuple[str, ...] = ()
    emails: tuple[str, ...] = ()
    addresses: tuple[str, ...] = ()
    # organisations
    org_name: str | None = None
    org_country: str | None = None
    registration_numbers: tuple[str, ...] = ()
    # shipments
    containers: tuple[str, ...] = ()
    bills_of_lading: tuple[str, ...] = ()
    air_waybills: tuple[str, ...] = ()
    vessel_imo: str | None = None
    cites_permits: tuple[str, ...] = ()
    consignor: str | None = None
    consignee: str | None = None
    route: tuple[str, ...] = ()
    species: tuple[SpeciesItem, ...] = ()
    quantity: str | None = None
    seizure_date: str | None = None
    seizure_place: str | None = None

    def to_json(self) -> dict[str, Any]:
        """The record as a JSON-ready dict, without empty fields (the stored form)."""
        out: dict[str, Any] = {}
        for f in _KIND_JSON_FIELDS.get(self.kind, _FIELDS):
            value = getattr(self, f)
            if value is None or value == ():
                continue
            if f in ("documents", "species"):
                out[f] = [item.to_json() for item in value]
            elif isinstance(value, tuple):
                out[f] = list(value)
            else:
                out[f] = value
        return out

    def canonical_json(self) -> str:
        """Stable JSON text of the record (sorted keys, no spaces)."""
        return _CANONICAL.encode(self.to_json())

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Record:
        """Rebuild a record from its stored form (trusted: written by :meth:`to_json`)."""
        kwargs: dict[str, Any] = {}
        for key, value in data.items():
            if key == "documents":
                kwargs[key] = tuple(
                    IdentityDocument(d["type"], d["number"], d["issuing_country"]) for d in value
                )
            elif key == "species":
                kwargs[key] = tuple(
                    SpeciesItem(s["scientific_name"], s.get("population")) for s in value
                )
            elif isinstance(value, list):
                kwargs[key] = tuple(value)
            else:
                kwargs[key] = value
        return cls(**kwargs)


_FIELDS: Final = tuple(f.name for f in fields(Record))
#: One encoder for every record: ``json.dumps`` with options builds a new one per call.
_CANONICAL: Final = json.JSONEncoder(ensure_ascii=False, sort_keys=True, separators=(",", ":"))

#: Fields every record may carry whatever its kind.
COMMON_FIELDS: Final = (
    "record_id",
    "kind",
    "review_date",
    "case_reference",
    "source",
    "handling_restrictions",
    "offence_classes",
    "country",
)

#: Fields each kind may carry besides the common ones.
KIND_FIELDS: Final = {
    "person": (
        "subject_category",
        "names",
        "aliases",
        "date_of_birth",
        "year_of_birth",
        "nationality",
        "documents",
        "phones",
        "emails",
        "addresses",
    ),
    "organisation": (
        "org_name",
        "org_country",
        "aliases",
        "registration_numbers",
        "phones",
        "emails",
        "addresses",
    ),
    "shipment": (
        "containers",
        "bills_of_lading",
        "air_waybills",
        "vessel_imo",
        "cites_permits",
        "consignor",
        "consignee",
        "route",
        "species",
        "quantity",
        "seizure_date",
        "seizure_place",
    ),
}

# Fields a record of each kind can hold, in declaration order (for to_json).
_KIND_JSON_FIELDS: Final = {
    kind: tuple(f for f in _FIELDS if f in COMMON_FIELDS or f in KIND_FIELDS[kind])
    for kind in RECORD_KINDS
}

#: Every column an import file may use.
ALL_COLUMNS: Final = COMMON_FIELDS + tuple(
    dict.fromkeys(f for kind in RECORD_KINDS for f in KIND_FIELDS[kind])
)
