"""What a decision is about: the request (``RequestContext``) and the record (facts).

``RequestContext`` is the one declaration of who asks and why (requester,
purpose, legal basis, case reference, officer; for a disclosure also the
justification, potential charges, assurances and fields asked for). A node
builds it once where a request enters — :func:`request_context` trims the
text and refuses it whole, naming the field, when its shape or vocabulary is
wrong — and passes the same object to every evaluation. :func:`check_request`
is the evaluator's own fail-closed check of the values only this policy can
judge (its instruments and assurances).

A request outside the vocabulary is refused as invalid; a record whose facts
are malformed cannot be evaluated. Either way nothing is released.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from policy import vocab
from policy.errors import PolicyLanguageError
from policy.model import Policy

FACT_KEYS = (
    "record_id",
    "kind",
    "subject_category",
    "case_reference",
    "source",
    "review_date",
    "handling_restrictions",
    "offence_classes",
    "species",
    "fields",
)


@dataclass(frozen=True)
class RequestContext:
    """Who asks, for what, on which legal basis, and what they ask for."""

    requester: str
    purpose: str
    legal_basis: str
    case_reference: str
    officer: str
    now: datetime
    justification: str | None = None
    potential_charges: tuple[str, ...] = ()
    assurances: tuple[str, ...] = ()
    requested_fields: tuple[str, ...] = ()


#: Longest text accepted for purpose, legal basis, case reference and officer.
MAX_TEXT = 256
#: Longest justification accepted.
MAX_JUSTIFICATION = 4000


class InvalidRequestError(PolicyLanguageError, ValueError):
    """The request uses a value outside the agreed vocabulary (``field`` names which one)."""

    FIELDS = ("message", "field", "reason")

    def __init__(self, message: str, field: str = "", reason: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        self.reason = reason or message


class InvalidFactsError(PolicyLanguageError, ValueError):
    """The record's facts are malformed or use unknown values."""

    FIELDS = ("reason",)

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(reason)


@dataclass(frozen=True)
class Facts:
    """A record's facts after validation."""

    record_id: str
    kind: str
    subject_category: str | None
    case_reference: str | None
    source: str | None
    review_date: date | None
    handling_restrictions: tuple[str, ...]
    offence_classes: tuple[str, ...]
    species: tuple[tuple[str, str | None], ...]
    fields: Mapping[str, object]


def _refuse(field: str, reason: str) -> InvalidRequestError:
    return InvalidRequestError(f"{field} {reason}", field=field, reason=reason)


def _required_text(field: str, value: object, limit: int = MAX_TEXT) -> str:
    text = value.strip() if isinstance(value, str) else ""
    if not text:
        raise _refuse(field, "is required")
    if len(text) > limit:
        raise _refuse(field, f"is longer than {limit} characters")
    return text


def request_context(
    *,
    requester: str,
    now: datetime,
    purpose: str,
    legal_basis: str,
    case_reference: str,
    officer: str,
    justification: str = "",
    potential_charges: Iterable[str] = (),
    assurances: Iterable[str] = (),
    requested_fields: Iterable[str] = (),
    justification_required: bool = False,
    fields_required: bool = False,
) -> RequestContext:
    """The context of a request as a person or a counterpart gave it, checked once.

    Text is trimmed; a missing or over-long field, a purpose, offence class or
    field name outside the vocabulary raises :class:`InvalidRequestError`
    naming the field (``officer``, ``potential_charges``, …). Whether the
    legal basis and assurances are ones this agency knows is for its policy
    (:func:`check_request`).
    """
    if not isinstance(now, datetime) or now.utcoffset() is None:
        raise TypeError("RequestContext.now must be a timezone-aware datetime")
    texts = {
        "purpose": _required_text("purpose", purpose),
        "legal_basis": _required_text("legal_basis", legal_basis),
        "case_reference": _required_text("case_reference", case_reference),
        "officer": _required_text("officer", officer),
    }
    if texts["purpose"] not in vocab.PURPOSES:
        raise _refuse("purpose", f"is not one of: {', '.join(vocab.PURPOSES)}")
    why = justification.strip() if isinstance(justification, str) else ""
    if justification_required and not why:
        raise _refuse("justification", "is required")
    if len(why) > MAX_JUSTIFICATION:
        raise _refuse("justification", f"is longer than {MAX_JUSTIFICATION} characters")
    charges = tuple(dict.fromkeys(potential_charges))
    for charge in charges:
        if charge not in vocab.OFFENCE_CLASSES:
            raise _refuse("potential_charges", f"holds {charge!r}, not a known offence class")
    fields = tuple(dict.fromkeys(requested_fields))
    if fields_required and not fields:
        raise _refuse("requested_fields", "name at least one field or field group")
    for name in fields:
        if not vocab.is_field_or_group(name):
            raise _refuse("requested_fields", f"holds {name!r}, not a field or field group")
    return RequestContext(
        requester=requester,
        now=now,
        justification=why or None,
        potential_charges=charges,
        assurances=tuple(dict.fromkeys(assurances)),
        requested_fields=fields,
        **texts,
    )


def check_request(policy: Policy, ctx: RequestContext) -> None:
    """Raise :class:`InvalidRequestError` if the request uses an unknown value."""
    if not isinstance(ctx.now, datetime) or ctx.now.utcoffset() is None:
        raise TypeError("RequestContext.now must be a timezone-aware datetime")
    if ctx.purpose not in vocab.PURPOSES:
        raise InvalidRequestError(
            f"unknown purpose '{ctx.purpose}'",
            "purpose",
            f"is not one of: {', '.join(vocab.PURPOSES)}",
        )
    if ctx.legal_basis not in policy.instruments:
        raise InvalidRequestError(
            f"unknown legal basis '{ctx.legal_basis}'",
            "legal_basis",
            "is not a legal instrument this agency recognises",
        )
    for charge in ctx.potential_charges:
        if charge not in vocab.OFFENCE_CLASSES:
            raise InvalidRequestError(
                f"unknown offence class '{charge}' in potential charges",
                "potential_charges",
                f"{charge!r} is not a known offence class",
            )
    for aid in ctx.assurances:
        if aid not in policy.assurances:
            raise InvalidRequestError(
                f"unknown assurance '{aid}'",
                "assurances",
                f"{aid!r} is not an assurance this agency holds",
            )
    for name in ctx.requested_fields:
        if not vocab.is_field_or_group(name):
            raise InvalidRequestError(
                f"unknown field or field group '{name}'",
                "requested_fields",
                f"{name!r} is not a field or field group",
            )
    for attr in ("requester", "case_reference", "officer"):
        if not isinstance(getattr(ctx, attr), str) or not getattr(ctx, attr).strip():
            raise InvalidRequestError(
                f"the request has no {attr.replace('_', ' ')}", attr, "is required"
            )


def _str_list(raw: Mapping[str, Any], key: str, allowed: tuple[str, ...]) -> tuple[str, ...]:
    value = raw.get(key) or []
    if not isinstance(value, list | tuple):
        raise InvalidFactsError(f"{key} must be a list")
    for item in value:
        if item not in allowed:
            raise InvalidFactsError(f"unknown value '{item}' in {key}")
    return tuple(value)


def _opt_str(raw: Mapping[str, Any], key: str) -> str | None:
    value = raw.get(key)
    if value is not None and not isinstance(value, str):
        raise InvalidFactsError(f"{key} must be text")
    return value


def _review_date(raw: Mapping[str, Any]) -> date | None:
    review = raw.get("review_date")
    if isinstance(review, str):
        try:
            review = date.fromisoformat(review)
        except ValueError:
            raise InvalidFactsError(f"review_date '{review}' is not YYYY-MM-DD") from None
    if review is not None and (not isinstance(review, date) or isinstance(review, datetime)):
        raise InvalidFactsError("review_date must be a YYYY-MM-DD date")
    return review


def _species(raw: Mapping[str, Any]) -> tuple[tuple[str, str | None], ...]:
    species = []
    for item in raw.get("species") or []:
        if not isinstance(item, Mapping) or not isinstance(item.get("scientific_name"), str):
            raise InvalidFactsError("each species needs a scientific_name")
        extra = set(item) - {"scientific_name", "population"}
        if extra:
            raise InvalidFactsError(f"unknown species key(s): {', '.join(sorted(map(str, extra)))}")
        population = item.get("population")
        if population is not None and not isinstance(population, str):
            raise InvalidFactsError("a species population must be text")
        species.append((item["scientific_name"], population))
    return tuple(species)


def _fields(raw: Mapping[str, Any]) -> dict[str, object]:
    fields = raw.get("fields") or {}
    if not isinstance(fields, Mapping):
        raise InvalidFactsError("fields must be a mapping of field name to value")
    for name in fields:
        if name not in vocab.FIELD_GROUPS:
            raise InvalidFactsError(f"unknown field '{name}'")
    return dict(fields)


def parse_facts(raw: Mapping[str, Any]) -> Facts:
    """Validate a RecordFacts mapping (see docs/architecture.md)."""
    if not isinstance(raw, Mapping):
        raise InvalidFactsError("record facts must be a mapping")
    unknown = sorted(set(raw) - set(FACT_KEYS))
    if unknown:
        raise InvalidFactsError(f"unknown record fact(s): {', '.join(map(str, unknown))}")
    record_id = raw.get("record_id")
    if not isinstance(record_id, str) or not record_id:
        raise InvalidFactsError("record_id is missing")
    kind = raw.get("kind")
    if kind not in vocab.RECORD_KINDS:
        raise InvalidFactsError(f"unknown record kind '{kind}'")
    category = _opt_str(raw, "subject_category")
    if category is not None and category not in vocab.SUBJECT_CATEGORIES:
        raise InvalidFactsError(f"unknown subject category '{category}'")
    return Facts(
        record_id=record_id,
        kind=kind,
        subject_category=category,
        case_reference=_opt_str(raw, "case_reference"),
        source=_opt_str(raw, "source"),
        review_date=_review_date(raw),
        handling_restrictions=_str_list(raw, "handling_restrictions", vocab.HANDLING_RESTRICTIONS),
        offence_classes=_str_list(raw, "offence_classes", vocab.OFFENCE_CLASSES),
        species=_species(raw),
        fields=_fields(raw),
    )
