"""Validate one input row and build a :class:`Record` from it.

Rows come from CSV (all text), JSON Lines (lists and objects allowed) or XLSX
(cells may be numbers or dates). Every problem of a row is collected, each
with the column, what is wrong, the offending value and what to do, so an
analyst can fix a spreadsheet in one pass.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from node.errors import SpoorError
from node.records.model import (
    COMMON_FIELDS,
    DOCUMENT_TYPES,
    HANDLING_RESTRICTIONS,
    KIND_FIELDS,
    OFFENCE_CLASSES,
    RECORD_KINDS,
    SUBJECT_CATEGORIES,
    IdentityDocument,
    Record,
    SpeciesItem,
)
from node.records.normalize.errors import InvalidIdentifierError
from node.records.normalize.identifiers import country_alpha2, country_alpha3

_LIST_SPLIT = re.compile(r"\s*[;\n]\s*")
_RECORD_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:/\-]{0,127}$")
_LOCODE = re.compile(r"^([A-Z]{2}) ?([A-Z2-9]{3})$")
_SPECIES = re.compile(r"^[A-Z][a-z]+( [a-z]+\.?| spp\.?)?( [a-z]+)?$")
_MAX_TEXT = 1000


@dataclass(frozen=True, slots=True)
class FieldProblem:
    """One thing wrong with one cell: column, message, the value and what to do."""

    column: str
    message: str
    value: str
    hint: str


class InvalidRowError(SpoorError, ValueError):
    """A row that cannot become a record; ``problems`` lists every bad cell."""

    FIELDS = ("problems",)

    def __init__(self, problems: list[FieldProblem]) -> None:
        super().__init__("; ".join(f"{p.column}: {p.message}" for p in problems))
        self.problems = problems


def _show(value: object) -> str:
    text = value if isinstance(value, str) else repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _text(value: object) -> str | None:
    if type(value) is str:
        return value.strip() or None
    if value is None:
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text = str(value).strip()
    return text or None


def _items(value: object) -> tuple[Any, ...]:
    if value is None:
        return ()
    if isinstance(value, list | tuple):
        return tuple(v for v in value if v not in (None, ""))
    text = _text(value)
    if text is None:
        return ()
    if ";" not in text and "\n" not in text:
        return (text,)
    return tuple(t for t in _LIST_SPLIT.split(text) if t)


def _date(value: object) -> str:
    if isinstance(value, dt.datetime):
        return value.date().isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    text = _text(value) or ""
    if len(text) != 10:
        raise ValueError(text)
    return dt.date.fromisoformat(text).isoformat()


class _Row:
    """Collects the problems of one row while its cells are converted."""

    def __init__(self, row: Mapping[str, Any]) -> None:
        self.row = row
        self.problems: list[FieldProblem] = []

    def bad(self, column: str, message: str, value: object, hint: str) -> None:
        self.problems.append(FieldProblem(column, message, _show(value), hint))

    def text(self, column: str, required: bool = False) -> str | None:
        raw = self.row.get(column)
        text = _text(raw) if raw else None
        if text is None and required:
            self.bad(column, "missing", "", f"every record needs a {column}")
        elif text is not None and len(text) > _MAX_TEXT:
            self.bad(column, f"longer than {_MAX_TEXT} characters", text, "shorten the text")
            return None
        return text

    def texts(self, column: str) -> tuple[str, ...]:
        raw = self.row.get(column)
        if not raw:
            return ()
        if type(raw) is str and ";" not in raw and "\n" not in raw:
            one = raw.strip()
            items: tuple[str, ...] = (one,) if one else ()
        else:
            items = tuple(t for t in (_text(item) for item in _items(raw)) if t)
        for text in items:
            if len(text) > _MAX_TEXT:
                # A pasted paragraph or binary blob is no name, phone or address; refusing it
                # here also keeps normalization bounded.
                self.bad(column, f"an entry is longer than {_MAX_TEXT} characters", text,
                         "split or shorten the entry")  # fmt: skip
                return ()
        return items

    def vocab(self, column: str, allowed: tuple[str, ...]) -> tuple[str, ...]:
        if not self.row.get(column):
            return ()
        out = []
        for item in self.texts(column):
            if item in allowed:
                out.append(item)
            else:
                self.bad(column, "not a known value", item, "use one of " + ", ".join(allowed))
        return tuple(out)

    def date(self, column: str, required: bool = False) -> str | None:
        raw = self.row.get(column)
        if not raw or _text(raw) is None:
            if required:
                self.bad(column, "missing", "", "give the date as YYYY-MM-DD")
            return None
        try:
            return _date(raw)
        except ValueError:
            self.bad(column, "not a date", raw, "write dates as YYYY-MM-DD (e.g. 2027-06-30)")
            return None

    def alpha2(self, column: str) -> str | None:
        if not self.row.get(column):
            return None
        text = self.text(column)
        if text is None:
            return None
        try:
            return country_alpha2(text)
        except InvalidIdentifierError:
            self.bad(column, "not a country", text, "use an ISO 3166 code such as KE or KEN")
            return None

    def alpha3s(self, column: str) -> tuple[str, ...]:
        if not self.row.get(column):
            return ()
        out = []
        for item in self.texts(column):
            try:
                out.append(country_alpha3(item))
            except InvalidIdentifierError:
                self.bad(column, "not a country", item, "use an ISO 3166 code such as VN or VNM")
        return tuple(out)


def _birth(r: _Row) -> tuple[str | None, int | None]:
    raw = r.row.get("date_of_birth")
    text = _text(raw)
    year_text = _text(r.row.get("year_of_birth"))
    year: int | None = None
    dob: str | None = None
    this_year = dt.date.today().year
    if text is not None:
        if isinstance(raw, int | float) or (len(text) == 4 and text.isdigit()):
            year_text = year_text or text
        else:
            dob = r.date("date_of_birth")
    if year_text is not None:
        if year_text.isdigit() and 1900 <= int(year_text) <= this_year:
            year = int(year_text)
        else:
            r.bad("year_of_birth", "not a year of birth", year_text, "write four digits, e.g. 1979")
    if dob is not None:
        if not "1900-01-01" <= dob <= dt.date.today().isoformat():
            r.bad("date_of_birth", "outside 1900 to today", dob, "check the date of birth")
            dob = None
        elif year is not None and year != int(dob[:4]):
            r.bad("year_of_birth", "disagrees with date_of_birth", year, "keep only one of them")
        else:
            year = int(dob[:4])
    return dob, year


def _documents(r: _Row) -> tuple[IdentityDocument, ...]:
    out = []
    for item in _items(r.row.get("documents")):
        if isinstance(item, dict):
            parts = [
                _text(item.get("type")) or "",
                _text(item.get("issuing_country")) or "",
                _text(item.get("number")) or "",
            ]
        else:
            parts = [p.strip() for p in str(item).split(":", 2)]
        if len(parts) != 3 or not all(parts):
            r.bad("documents", "not type:country:number", item, "write e.g. passport:VNM:C1234567")
            continue
        doc_type, country, number = parts
        doc_type = doc_type.lower().replace(" ", "_")
        if doc_type not in DOCUMENT_TYPES:
            r.bad(
                "documents", "unknown document type", doc_type, "use " + ", ".join(DOCUMENT_TYPES)
            )
            continue
        try:
            out.append(IdentityDocument(doc_type, number, country_alpha3(country)))
        except InvalidIdentifierError:
            r.bad("documents", "unknown issuing country", country, "use an ISO code such as VNM")
    return tuple(out)


def _is_country(alpha2: str) -> bool:
    try:
        country_alpha2(alpha2)
    except InvalidIdentifierError:
        return False
    return True


def _route(r: _Row) -> tuple[str, ...]:
    out = []
    for item in r.texts("route"):
        m = _LOCODE.match(item.upper())
        code = f"{m.group(1)}{m.group(2)}" if m else ""
        if not code or not _is_country(code[:2]):
            r.bad("route", "not a UN/LOCODE", item, "write port codes such as KEMBA; VNHPH")
            continue
        out.append(code)
    return tuple(out)


def _species(r: _Row) -> tuple[SpeciesItem, ...]:
    out = []
    for item in _items(r.row.get("species")):
        if isinstance(item, dict):
            name, population = _text(item.get("scientific_name")), _text(item.get("population"))
        else:
            name, _, pop = str(item).partition(":")
            name, population = name.strip(), (pop.strip() or None)
        if not name or not _SPECIES.match(name):
            r.bad("species", "not a scientific name", item, "write e.g. Loxodonta africana")
            continue
        out.append(SpeciesItem(name, population))
    return tuple(out)


def parse_row(row: Mapping[str, Any]) -> Record:
    """Validate one row (column → cell) into a record, or raise :class:`InvalidRowError`."""
    r = _Row(row)
    record_id = r.text("record_id", required=True)
    if record_id is not None and not _RECORD_ID.match(record_id):
        r.bad("record_id", "not a valid id", record_id, "use letters, digits and . _ : / -")
    kind = r.text("kind", required=True)
    if kind is not None and kind not in RECORD_KINDS:
        r.bad("kind", "not a record kind", kind, "use " + ", ".join(RECORD_KINDS))
        kind = None
    common: dict[str, Any] = {
        "record_id": record_id,
        "kind": kind,
        "review_date": r.date("review_date", required=True),
        "case_reference": r.text("case_reference"),
        "source": r.text("source"),
        "handling_restrictions": r.vocab("handling_restrictions", HANDLING_RESTRICTIONS),
        "offence_classes": r.vocab("offence_classes", OFFENCE_CLASSES),
        "country": r.alpha2("country"),
    }
    kw: dict[str, Any] = {}
    if kind is not None:
        for column in _NOT_FOR[kind].intersection(row):
            value = row[column]
            if value and _text(value) is not None and value != []:
                r.bad(column, f"does not apply to a {kind} record", value, "leave it empty")
        kw = _KIND_PARSERS[kind](r)
    if r.problems or record_id is None or kind is None:
        raise InvalidRowError(r.problems)
    return Record(**common, **kw)


def _person(r: _Row) -> dict[str, Any]:
    category = r.text("subject_category", required=True)
    if category is not None and category not in SUBJECT_CATEGORIES:
        r.bad(
            "subject_category",
            "not a subject category",
            category,
            "use " + ", ".join(SUBJECT_CATEGORIES),
        )
    names = r.texts("names")
    if not names and not any(p.column == "names" for p in r.problems):
        r.bad("names", "missing", "", "give at least one name, in its original script")
    dob, year = _birth(r)
    return {
        "subject_category": category,
        "names": names,
        "aliases": r.texts("aliases"),
        "date_of_birth": dob,
        "year_of_birth": year,
        "nationality": r.alpha3s("nationality"),
        "documents": _documents(r),
        "phones": r.texts("phones"),
        "emails": r.texts("emails"),
        "addresses": r.texts("addresses"),
    }


def _organisation(r: _Row) -> dict[str, Any]:
    return {
        "org_name": r.text("org_name", required=True),
        "org_country": r.alpha2("org_country"),
        "aliases": r.texts("aliases"),
        "registration_numbers": r.texts("registration_numbers"),
        "phones": r.texts("phones"),
        "emails": r.texts("emails"),
        "addresses": r.texts("addresses"),
    }


def _shipment(r: _Row) -> dict[str, Any]:
    return {
        "containers": r.texts("containers"),
        "bills_of_lading": r.texts("bills_of_lading"),
        "air_waybills": r.texts("air_waybills"),
        "vessel_imo": r.text("vessel_imo"),
        "cites_permits": r.texts("cites_permits"),
        "consignor": r.text("consignor"),
        "consignee": r.text("consignee"),
        "route": _route(r),
        "species": _species(r),
        "quantity": r.text("quantity"),
        "seizure_date": r.date("seizure_date"),
        "seizure_place": r.text("seizure_place"),
    }


_NOT_FOR = {
    kind: frozenset(
        c
        for k in RECORD_KINDS
        for c in KIND_FIELDS[k]
        if c not in KIND_FIELDS[kind] and c not in COMMON_FIELDS
    )
    for kind in RECORD_KINDS
}

_KIND_PARSERS = {"person": _person, "organisation": _organisation, "shipment": _shipment}
