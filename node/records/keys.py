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
new ``KEY_SCHEME_VERSION``. A node derives and stores the keys of every scheme
in :data:`STORED_SCHEMES` (the key string carries its scheme), so during a
transition it can answer peers on either; the requester picks the highest
scheme both sides support (:mod:`node.records.schemes`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache
from itertools import chain
from typing import Final, Literal, NamedTuple

from node.records.model import DOCUMENT_TYPES, Record
from node.records.normalize import identifiers as ids
from node.records.normalize import names, names_v2, orgs
from node.records.normalize.errors import InvalidIdentifierError

#: The scheme this code derives by default and asks peers for.
KEY_SCHEME_VERSION: Final = 2
#: Every scheme this code can derive, oldest first.
SUPPORTED_SCHEMES: Final = (1, 2)
#: Schemes whose keys are stored at import, so peers on either can be answered.
STORED_SCHEMES: Final = (1, 2)
#: The normalization libraries of scheme 2 at their exact versions: another version
#: may transliterate, parse or strip differently, so it is part of the scheme.
SCHEME_LIBRARIES: Final = {
    "anyascii": "0.3.3",
    "phonenumbers": "9.0.43",
    "python-stdnum": "2.2",
    "pycountry": "26.2.16",
    "cleanco": "2.3",
}

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


@dataclass(frozen=True, slots=True)
class _Rules:
    """What differs between schemes: name, company and phone normalization."""

    scheme: int
    #: (canonical name, consonant skeleton) of a name and its variants; whole name first.
    name_forms: Callable[[str, str | None], tuple[tuple[str, str], ...]]
    company_name: Callable[[str], str]
    phone: Callable[[str, str | None], str]
    year_keys: bool


def _v1_name_forms(raw: str, _nationality: str | None) -> tuple[tuple[str, str], ...]:
    name = names.person_name(raw)
    return ((name, names.person_skeleton(raw)),) if name else ()


_V1 = _Rules(
    1,
    _v1_name_forms,
    orgs.company_name,
    ids.phone,
    year_keys=False,
)
_V2 = _Rules(
    2,
    names_v2.name_forms,
    orgs.company_name_v2,
    ids.phone_v2,
    year_keys=True,
)
_RULES: Final = {1: _V1, 2: _V2}


@lru_cache(maxsize=64)
def _layout(
    rules: tuple[_Rules, ...], default_region: str | None
) -> tuple[tuple[str | None, ...], tuple[str, ...]]:
    """Per scheme: the region local phone numbers are read in, and the key prefix."""
    # Scheme 1 read local numbers only in the record's own country.
    regions = tuple(default_region if r.scheme >= 2 else None for r in rules)
    return regions, tuple(f"v{r.scheme}|" for r in rules)


class _Builder:
    """Keys of one record in one or more schemes, in one pass over the record.

    Keys that no scheme rule touches (documents, e-mails, shipment identifiers,
    registrations) are normalized once and added under every scheme's prefix;
    names, companies and phones are normalized per scheme. Each scheme keeps
    its own list in its own derivation order. Problems are reported for the
    scheme at index ``report`` only (None: for none).
    """

    def __init__(
        self, rules: tuple[_Rules, ...], default_region: str | None, report: int | None
    ) -> None:
        self.rules = rules
        self.regions, self.prefixes = _layout(rules, default_region)
        self.report = report
        self.problems: list[str] = []
        self._start(len(rules))

    def _start(self, schemes: int) -> None:
        self.keys: tuple[list[MatchKey], ...] = tuple([] for _ in range(schemes))
        self._seen: tuple[set[str], ...] = tuple(set() for _ in range(schemes))

    def add(self, key_type: str, *parts: str) -> None:
        """Add a scheme-independent key under every scheme."""
        tail = "|".join((key_type, *parts))
        entropy = KEY_TYPES[key_type]
        for prefix, keys, seen in zip(self.prefixes, self.keys, self._seen, strict=True):
            value = prefix + tail
            if value not in seen:
                seen.add(value)
                keys.append(MatchKey(key_type, value, entropy))

    def add_to(self, i: int, key_type: str, *parts: str) -> None:
        """Add a key of scheme ``i`` only."""
        value = self.prefixes[i] + "|".join((key_type, *parts))
        seen = self._seen[i]
        if value not in seen:
            seen.add(value)
            self.keys[i].append(MatchKey(key_type, value, KEY_TYPES[key_type]))

    def problem(self, text: str, i: int | None = None) -> None:
        """Report a refusal of every scheme (``i`` None) or of scheme ``i``."""
        if self.report is not None and (i is None or i == self.report):
            self.problems.append(text)

    def refuse(self, column: str, exc: InvalidIdentifierError, i: int | None = None) -> None:
        self.problem(f"{column}: {exc.value!r} {exc.reason}; not keyed", i)

    def result(self) -> KeyDerivation:
        """Every scheme's keys, scheme by scheme, and the reported problems."""
        keys = self.keys[0] if len(self.keys) == 1 else [k for ks in self.keys for k in ks]
        return KeyDerivation(keys, self.problems)


_MATCHABLE_TYPES: Final = frozenset(t for t, e in KEY_TYPES.items() if e != "low")


class _StringBuilder(_Builder):
    """As :class:`_Builder`, keeping only the strings of matchable keys (for storing)."""

    def _start(self, schemes: int) -> None:
        # Dicts as ordered sets: the first occurrence keeps its place.
        self.strings: tuple[dict[str, None], ...] = tuple({} for _ in range(schemes))

    def add(self, key_type: str, *parts: str) -> None:
        if key_type in _MATCHABLE_TYPES:
            tail = "|".join((key_type, *parts))
            for prefix, strings in zip(self.prefixes, self.strings, strict=True):
                strings[prefix + tail] = None

    def add_to(self, i: int, key_type: str, *parts: str) -> None:
        if key_type in _MATCHABLE_TYPES:
            self.strings[i][self.prefixes[i] + "|".join((key_type, *parts))] = None

    def matchable(self) -> tuple[str, ...]:
        return tuple(chain.from_iterable(self.strings))


def _phone_region(record: Record, default_region: str | None) -> str | None:
    if record.country:
        return record.country
    if record.org_country:
        return record.org_country
    if record.nationality:
        try:
            return ids.country_alpha2(record.nationality[0])
        except InvalidIdentifierError:
            return default_region
    return default_region


def _contacts(b: _Builder, record: Record) -> None:
    if record.phones:
        for i, rules in enumerate(b.rules):
            region = _phone_region(record, b.regions[i])
            for raw in record.phones:
                try:
                    b.add_to(i, "phone", rules.phone(raw, region))
                except InvalidIdentifierError as exc:
                    b.refuse("phones", exc, i)
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
    raws = (*record.names, *record.aliases)
    if raws:
        nationality = record.nationality[0] if record.nationality else None
        year = _year(record)
        dob = record.date_of_birth
        for i, rules in enumerate(b.rules):
            for raw in raws:
                forms = rules.name_forms(raw, nationality)
                if not forms:
                    continue
                name = forms[0][0]
                if dob:
                    for form, _ in forms:
                        b.add_to(i, "name_dob", form, dob)
                    for _, skeleton in forms:
                        if skeleton:
                            b.add_to(i, "name_skeleton_dob", skeleton, dob)
                if year and (rules.year_keys or not dob):
                    b.add_to(i, "name_yob", name, year)
                b.add_to(i, "name", name)
    _contacts(b, record)


def _year(record: Record) -> str | None:
    if record.year_of_birth:
        return str(record.year_of_birth)
    if record.date_of_birth:
        return record.date_of_birth[:4]
    return None


def _company(b: _Builder, raw: str, country: str | None) -> None:
    for i, rules in enumerate(b.rules):
        name = rules.company_name(raw)
        if not name:
            continue
        if country:
            b.add_to(i, "org", name, country)
        b.add_to(i, "org_name", name)


def _organisation(b: _Builder, record: Record) -> None:
    for raw in (record.org_name, *record.aliases):
        if raw:
            _company(b, raw, record.org_country)
    for raw in record.registration_numbers:
        if not record.org_country:
            b.problem(f"registration_numbers: {raw!r} has no org_country to qualify it; not keyed")
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


def derive_keys(
    record: Record, scheme: int = KEY_SCHEME_VERSION, *, default_region: str | None = None
) -> KeyDerivation:
    """Every match key of ``record`` in ``scheme`` and the identifiers it refused.

    ``default_region`` (alpha-2, the agency's country) reads local phone numbers
    of a record without a country or nationality.
    """
    rules = _RULES.get(scheme)
    if rules is None:
        raise ValueError(f"key scheme {scheme} is not one of {SUPPORTED_SCHEMES}")
    b = _Builder((rules,), default_region, 0)
    _BY_KIND[record.kind](b, record)
    return b.result()


_STORED_RULES: Final = tuple(_RULES[s] for s in STORED_SCHEMES)
_STORED_REPORT: Final = (
    STORED_SCHEMES.index(KEY_SCHEME_VERSION) if KEY_SCHEME_VERSION in STORED_SCHEMES else None
)


def derive_stored_keys(record: Record, *, default_region: str | None = None) -> KeyDerivation:
    """The keys of every stored scheme (:data:`STORED_SCHEMES`); problems of the current one.

    The same keys, in the same order, as :func:`derive_keys` once per stored
    scheme, in one pass: identifiers no scheme changes are normalized once.
    """
    b = _Builder(_STORED_RULES, default_region, _STORED_REPORT)
    _BY_KIND[record.kind](b, record)
    return b.result()


def stored_match_keys(
    record: Record, *, default_region: str | None = None
) -> tuple[tuple[str, ...], list[str]]:
    """``derive_stored_keys(record).matchable()`` and its problems, without the rest.

    What an import stores; cheaper, because low-entropy keys are never built.
    """
    b = _StringBuilder(_STORED_RULES, default_region, _STORED_REPORT)
    _BY_KIND[record.kind](b, record)
    return b.matchable(), b.problems
