"""The loaded, validated policy: reference data and rules.

Everything here is immutable once loaded. ``origin`` fields say where a thing
was written; they are left out of the digest, and rules are digested in id
order, so moving a rule (within a file or to another file) changes neither what
the policy means nor its digest.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from policy.errors import Problem


@dataclass(frozen=True)
class Origin:
    """Where something was written."""

    file: str
    line: int
    column: int

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.column}"


NOWHERE = Origin("<built-in>", 0, 0)


@dataclass(frozen=True)
class Instrument:
    """A legal instrument a request may rely on (treaty, convention article, MoU)."""

    id: str
    title: str
    kind: str
    purposes: tuple[str, ...]
    parties: tuple[str, ...] = ()  # ISO country codes; empty means any party
    valid_from: date | None = None
    expires: date | None = None
    reference: str | None = None
    origin: Origin = field(default=NOWHERE, compare=False)


@dataclass(frozen=True)
class Assurance:
    """An assurance a counterpart has given (for example: no death penalty)."""

    id: str
    counterpart: str
    kind: str
    scope: tuple[str, ...]
    offence_classes: tuple[str, ...]
    issued: date
    expires: date | None = None
    case_reference: str | None = None
    reference: str | None = None
    origin: Origin = field(default=NOWHERE, compare=False)


@dataclass(frozen=True)
class Counterpart:
    """What this agency knows about another agency it may answer."""

    id: str
    name: str
    country: str
    competent_authority: bool
    competences: tuple[str, ...]
    instruments: tuple[str, ...]
    death_penalty: tuple[str, ...]
    # ``None``: the reference data does not say. Dual criminality then fails
    # closed (it is never assumed), and ``policy check`` warns.
    cites_party: bool | None = None
    criminal_offences: tuple[str, ...] | None = None
    protected_species: tuple[str, ...] = ()
    origin: Origin = field(default=NOWHERE, compare=False)


@dataclass(frozen=True)
class Species:
    """A species with its CITES appendix, by population where listings differ."""

    name: str
    common_name: str
    appendix: str
    populations: tuple[tuple[str, str], ...] = ()
    origin: Origin = field(default=NOWHERE, compare=False)

    def appendix_for(self, population: str | None) -> str:
        """The appendix that applies to ``population`` (the default listing otherwise)."""
        for pop, appendix in self.populations:
            if pop == population:
                return appendix
        return self.appendix


@dataclass(frozen=True)
class Agency:
    """The agency whose policy this is."""

    id: str
    name: str
    country: str
    cites_party: bool
    criminal_offences: tuple[str, ...]
    protected_species: tuple[str, ...] = ()
    origin: Origin = field(default=NOWHERE, compare=False)


@dataclass(frozen=True)
class Condition:
    """One condition of a rule: ``name: value`` as written under ``when``."""

    name: str
    value: bool | tuple[str, ...]
    origin: Origin = field(default=NOWHERE, compare=False)


@dataclass(frozen=True)
class FieldSpec:
    """Which fields a release rule allows, never allows, and transforms."""

    allow: tuple[str, ...]
    never: tuple[str, ...] = ()
    transform: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class ObligationSpec:
    """Obligations a release rule attaches to what it releases."""

    handling_code: str
    retention_days: int
    use_limited_to_purpose: bool = True
    use_limited_to_case: bool = True
    onward_transfer: str = "with_consent"
    judicial_use: str = "with_consent"


@dataclass(frozen=True)
class ApprovalSpec:
    """Human approval a release rule requires before anything leaves the node."""

    required: bool
    roles: tuple[str, ...] = ()
    two_person: bool = False
    deadline_hours: int | None = None


@dataclass(frozen=True)
class Rule:
    """A guard, participation rule or release rule."""

    id: str
    kind: str  # "guard" | "participation" | "release"
    title: str
    legal_references: tuple[str, ...]
    explanation: str
    conditions: tuple[Condition, ...]
    effective_from: date | None = None
    effective_until: date | None = None
    stages: tuple[str, ...] = ()  # guards only
    reason_code: str | None = None  # guards only
    fields: FieldSpec | None = None  # release only
    obligations: ObligationSpec | None = None  # release only
    approval: ApprovalSpec | None = None  # release only
    library: str | None = None  # "baseline" when shipped with Spoor
    origin: Origin = field(default=NOWHERE, compare=False)

    def in_effect(self, day: date) -> bool:
        """Whether the rule applies on ``day`` (effective dates are inclusive)."""
        if self.effective_from and day < self.effective_from:
            return False
        return not (self.effective_until and day > self.effective_until)


@dataclass(frozen=True, eq=False)
class Policy:
    """A complete, validated policy: the agency file(s) plus included libraries."""

    agency: Agency
    instruments: dict[str, Instrument]
    counterparts: dict[str, Counterpart]
    assurances: dict[str, Assurance]
    species: dict[str, Species]
    guards: tuple[Rule, ...]
    participation: tuple[Rule, ...]
    release: tuple[Rule, ...]
    includes: tuple[str, ...] = ()
    files: tuple[str, ...] = ()
    warnings: tuple[Problem, ...] = ()
    digest: str = ""

    @property
    def rules(self) -> tuple[Rule, ...]:
        """Every rule: guards, then participation, then release rules."""
        return self.guards + self.participation + self.release

    def rule(self, rule_id: str) -> Rule:
        """The rule with this id (``KeyError`` if there is none)."""
        for rule in self.rules:
            if rule.id == rule_id:
                return rule
        raise KeyError(rule_id)

    def canonical(self) -> dict[str, Any]:
        """The meaning of the policy as plain data (positions and file names left out)."""
        return {
            "agency": plain_data(self.agency),
            "includes": sorted(self.includes),
            "instruments": {k: plain_data(v) for k, v in sorted(self.instruments.items())},
            "counterparts": {k: plain_data(v) for k, v in sorted(self.counterparts.items())},
            "assurances": {k: plain_data(v) for k, v in sorted(self.assurances.items())},
            "species": {k: plain_data(v) for k, v in sorted(self.species.items())},
            # Rules are sorted by id: the order they are written in has no effect
            # on any decision, so it must not change the digest either.
            "guards": [plain_data(r) for r in sorted(self.guards, key=lambda r: r.id)],
            "participation": [
                plain_data(r) for r in sorted(self.participation, key=lambda r: r.id)
            ],
            "release": [plain_data(r) for r in sorted(self.release, key=lambda r: r.id)],
        }


def plain_data(obj: Any) -> Any:
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {
            f.name: plain_data(getattr(obj, f.name))
            for f in dataclasses.fields(obj)
            if f.name != "origin"
        }
    if isinstance(obj, tuple | list):
        return [plain_data(x) for x in obj]
    if isinstance(obj, date):
        return obj.isoformat()
    return obj


def compute_digest(policy: Policy) -> str:
    """SHA-256 (hex) of the canonical JSON form of the whole effective policy."""
    text = json.dumps(
        {"spoor_policy": 1, **policy.canonical()},
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
    )
    return hashlib.sha256(text.encode("utf-8")).hexdigest()
