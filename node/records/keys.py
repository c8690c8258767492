"""Match keys: the typed, normalized, versioned strings that PSI compares.

A key is ``v<scheme>|<type>|<parts…>``; two agencies hit only when they derive
the same string. Each key type has an entropy class (docs/match-keys.md):

- ``high``: an identifier issued to one person, company or consignment
  (passport, phone, container). Matchable.
- ``medium``: facts that single someone out only in combination (a name with a
  full date of birth, a company name with its country, a vessel). Matchable;
  per-peer element budgets bound how fast a counterpart can trawl them.
- ``low``: facts shared by many (a bare name, a name with a year of birth, a
  company name without a country). Derived so they can be shown and counted,
  never matchable alone: a requester could enumerate them.

Identifiers that fail validation or their check digit are reported in
``problems`` and never keyed. Changing any normalization or key layout means a
new ``KEY_SCHEME_VERSION``: nodes refuse to match across versions.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Final, Literal, NamedTuple

from node.records.model import DOCUMENT_TYPES, Record
from node.records.normalize import identifiers as ids
from node.records.normalize.errors import InvalidIdentifierError
from node.records.normalize.names import person_name, person_skeleton
from node.records.normalize.orgs import company_name

KEY_SCHEME_VERSION: Final = 1
_PREFIX: Final = f"v{KEY_SCHEME_VERSION}"

Entropy = Literal["high", "medium", "low"]

#: Every key type of this scheme version and its entropy class.
KEY_TYPES: Final[dict[str, Entropy]] = {
    **dict.fromkeys(DOCUMENT_TYPES, "high"),
    "phone": "high",
    "email": "high",
    "name_dob": "medium",
    "name_skeleton_dob": "medium",
    "name_yob": "low",
    "name": "low",
    "org": "medium",
    "org_name": "low",
    "org_registration": "high",
    "container": "high",
    "bill_of_lading": "high",
    "air_waybill": "high",
    "vessel_imo": "medium",
    "cites_permit": "high",
}


class MatchKey(NamedTuple):
    """One match key: its type, the complete key string and its entropy class."""

    key_type: str
    value: str
    entropy: Entropy

    @property
    def matchable(self) -> bool:
        """Whether the key may enter a match on its own (low-entropy keys may not)."""
        return self.entropy != "low"


@dataclass(slots=True)
class KeyDerivation:
    """The keys of one record and the identifiers refused while deriving them."""

    keys: list[MatchKey] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    def matchable(self) -> list[str]:
        """Key strings that may enter a match, without duplicates, in derivation order."""
        return list(dict.fromkeys(k.value for k in self.keys if k.matchable))


class _Builder:
    def __init__(self) -> None:
        self.out = KeyDerivation()
        self._seen: set[str] = set()

    def add(self, key_type: str, *parts: str) -> None:
        value = "|".join((_PREFIX, key_type, *parts))
        if value not in self._seen:
            self._seen.add(value)
            self.out.keys.append(MatchKey(key_type, value, KEY_TYPES[key_type]))

    def refuse(self, column: str, exc: InvalidIdentifierError) -> None:
        self.out.problems.append(f"{column}: {exc.value!r} {exc.reason}; not keyed")


def _phone_region(record: Record) -> str | None:
    if record.country:
        return record.country
    if record.org_country:
        return record.org_country
    if record.nationality:
        try:
            return ids.country_alpha2(record.nationality[0])
        except InvalidIdentifierError:
            return None
    return None


def _contacts(b: _Builder, record: Record) -> None:
    region = _phone_region(record)
    for raw in record.phones:
        try:
            b.add("phone", ids.phone(raw, region))
        except InvalidIdentifierError as exc:
            b.refuse("phones", exc)
    for raw in record.emails:
        try:
            b.add("email", ids.email(raw))
        except InvalidIdentifierError as exc:
            b.refuse("emails", exc)


def _person(b: _Builder, record: Record) -> None:
    for doc in record.documents:
        try:
            b.add(doc.doc_type, doc.issuing_country, ids.document_number(doc.number))
        except InvalidIdentifierError as exc:
            b.refuse("documents", exc)
    for raw in (*record.names, *record.aliases):
        name = person_name(raw)
        if not name:
            continue
        if record.date_of_birth:
            b.add("name_dob", name, record.date_of_birth)
            skeleton = person_skeleton(raw)
            if skeleton:
                b.add("name_skeleton_dob", skeleton, record.date_of_birth)
        elif record.year_of_birth:
            b.add("name_yob", name, str(record.year_of_birth))
        b.add("name", name)
    _contacts(b, record)


def _company(b: _Builder, raw: str, country: str | None) -> None:
    name = company_name(raw)
    if not name:
        return
    if country:
        b.add("org", name, country)
    b.add("org_name", name)


def _organisation(b: _Builder, record: Record) -> None:
    for raw in (record.org_name, *record.aliases):
        if raw:
            _company(b, raw, record.org_country)
    for raw in record.registration_numbers:
        if not record.org_country:
            b.out.problems.append(
                f"registration_numbers: {raw!r} has no org_country to qualify it; not keyed"
            )
            continue
        try:
            b.add("org_registration", record.org_country, ids.registration_number(raw))
        except InvalidIdentifierError as exc:
            b.refuse("registration_numbers", exc)
    _contacts(b, record)


_SHIPMENT_IDS = (
    ("containers", "container", ids.container),
    ("bills_of_lading", "bill_of_lading", ids.bill_of_lading),
    ("air_waybills", "air_waybill", ids.air_waybill),
    ("cites_permits", "cites_permit", ids.cites_permit),
)


def _shipment(b: _Builder, record: Record) -> None:
    for column, key_type, normalize in _SHIPMENT_IDS:
        for raw in getattr(record, column):
            try:
                b.add(key_type, normalize(raw))
            except InvalidIdentifierError as exc:
                b.refuse(column, exc)
    if record.vessel_imo:
        try:
            b.add("vessel_imo", ids.imo_number(record.vessel_imo))
        except InvalidIdentifierError as exc:
            b.refuse("vessel_imo", exc)
    # A consignor sits at the port of loading, a consignee at the port of discharge.
    origin = record.route[0][:2] if record.route else record.country
    destination = record.route[-1][:2] if record.route else record.country
    if record.consignor:
        _company(b, record.consignor, origin)
    if record.consignee:
        _company(b, record.consignee, destination)


_BY_KIND = {"person": _person, "organisation": _organisation, "shipment": _shipment}


def derive_keys(record: Record) -> KeyDerivation:
    """Every match key of ``record`` and the identifiers it refused (failed checks)."""
    b = _Builder()
    _BY_KIND[record.kind](b, record)
    return b.out
