"""The disclosure request and its answer as the domain sees them, and input checks.

A :class:`DisclosureCall` is what a counterpart asked for, after transport
decoding; :func:`validate_call` refuses it with :class:`~node.errors.InvalidRequest`
(naming the field) before anything is charged, decided or stored.
"""

from __future__ import annotations

import hashlib
import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import policy as policy_lang
from node import bounds
from node.errors import InvalidRequest, VersionMismatch
from node.match.responder import PROTOCOL_VERSION
from node.records.keys import KEY_SCHEME_VERSION

#: A disclosure is about chosen hits, not a trawl: at most this many keys per request.
MAX_KEYS_PER_REQUEST = 100
MAX_KEY_LENGTH = 512
MAX_TEXT = bounds.MAX_TEXT
MAX_JUSTIFICATION = bounds.MAX_JUSTIFICATION

_KEY_RE = re.compile(r"^v(\d+)\|([a-z][a-z0-9_]{0,31})\|(.+)$")

RELEASE = "RELEASE"
DENY = "DENY"
PENDING_APPROVAL = "PENDING_APPROVAL"

#: The code given for every key that leads to no releasable record — the same as
#: for a record the policy will not release, so a request learns nothing new.
NOT_RELEASABLE = "NOT_RELEASABLE"


def iso(moment: datetime) -> str:
    """Fixed-width ISO 8601 UTC text (string order equals time order)."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_iso(text: str) -> datetime:
    """Read a time written by :func:`iso` (or any ISO 8601 text with a zone)."""
    moment = datetime.fromisoformat(text)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def now_utc() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class DisclosureCall:
    """A disclosure request as the responder sees it."""

    requester: str
    protocol_version: int
    key_scheme_version: int
    request_id: str
    match_keys: tuple[str, ...]
    purpose: str
    legal_basis: str
    case_reference: str
    officer: str
    justification: str = ""
    potential_charges: tuple[str, ...] = ()
    assurances: tuple[str, ...] = ()
    requested_fields: tuple[str, ...] = ()
    match_id: str = ""


@dataclass(frozen=True)
class ItemDecision:
    """The decision on one item of a disclosure request."""

    item_id: str
    outcome: str
    reason_code: str
    match_key: str = ""
    fields: dict[str, Any] = field(default_factory=dict)
    transforms: dict[str, str] = field(default_factory=dict)
    obligations: dict[str, Any] | None = None
    ticket_id: str | None = None
    deadline: str | None = None
    overdue: bool = False
    decided_at: str = ""


@dataclass(frozen=True)
class DisclosureAnswer:
    """What the responder answers to Disclose or GetDisclosure."""

    disclosure_id: str
    items: list[ItemDecision]
    policy_digest: str
    elements_charged: int = 0

    def counts(self) -> dict[str, int]:
        """How many items were released, denied and pending (for audit and summaries)."""
        out = {"released": 0, "denied": 0, "pending": 0}
        names = {RELEASE: "released", DENY: "denied", PENDING_APPROVAL: "pending"}
        for item in self.items:
            out[names[item.outcome]] += 1
        return out


def _text(name: str, value: str, limit: int = MAX_TEXT) -> str:
    return bounds.require_text(name, value, limit)


def _entries(name: str, values: Sequence[str]) -> None:
    if len(values) > bounds.MAX_LIST_ENTRIES:
        raise InvalidRequest(name, f"holds more than {bounds.MAX_LIST_ENTRIES} entries")


def check_key(index: int, key: str) -> None:
    """Refuse a string that is not a complete match key of this node's scheme version."""
    where = f"match_keys[{index}]"
    if len(key) > MAX_KEY_LENGTH:
        raise InvalidRequest(where, f"is longer than {MAX_KEY_LENGTH} characters")
    found = _KEY_RE.match(key)
    if found is None:
        raise InvalidRequest(
            where, "is not a complete match key (expected 'v<version>|<key type>|<value>')"
        )
    if int(found.group(1)) != KEY_SCHEME_VERSION:
        raise InvalidRequest(
            where, f"uses key-scheme version {found.group(1)}; this node uses {KEY_SCHEME_VERSION}"
        )


def _check_versions(call: DisclosureCall) -> None:
    if call.protocol_version != PROTOCOL_VERSION:
        raise VersionMismatch("protocol version", PROTOCOL_VERSION, call.protocol_version)
    if call.key_scheme_version != KEY_SCHEME_VERSION:
        raise VersionMismatch("key-scheme version", KEY_SCHEME_VERSION, call.key_scheme_version)
    try:
        uuid.UUID(call.request_id)
    except ValueError as exc:
        raise InvalidRequest("request_id", "must be a UUID") from exc


def _check_reason(call: DisclosureCall, pol: policy_lang.Policy) -> None:
    for name in ("purpose", "legal_basis", "case_reference", "officer"):
        _text(name, getattr(call, name))
    bounds.optional_text("justification", call.justification, MAX_JUSTIFICATION, multiline=True)
    if call.purpose.strip() not in policy_lang.PURPOSES:
        raise InvalidRequest("purpose", f"is not one of: {', '.join(policy_lang.PURPOSES)}")
    if call.legal_basis.strip() not in pol.instruments:
        raise InvalidRequest("legal_basis", "is not a legal instrument this agency recognises")
    _entries("potential_charges", call.potential_charges)
    _entries("assurances", call.assurances)
    for charge in call.potential_charges:
        if charge not in policy_lang.OFFENCE_CLASSES:
            raise InvalidRequest(
                "potential_charges", f"{bounds.echo(charge)} is not a known offence class"
            )
    for aid in call.assurances:
        if aid not in pol.assurances:
            raise InvalidRequest(
                "assurances", f"{bounds.echo(aid)} is not an assurance this agency holds"
            )
    bounds.optional_text("match_id", call.match_id, MAX_TEXT)


def _check_asked(call: DisclosureCall) -> None:
    if not call.requested_fields:
        raise InvalidRequest("requested_fields", "name at least one field or field group")
    _entries("requested_fields", call.requested_fields)
    for name in call.requested_fields:
        if name not in policy_lang.FIELD_GROUPS and name not in policy_lang.GROUP_NAMES:
            raise InvalidRequest(
                "requested_fields", f"{bounds.echo(name)} is not a field or field group"
            )
    if not call.match_keys:
        raise InvalidRequest("match_keys", "name at least one match key that was a hit")
    if len(call.match_keys) > MAX_KEYS_PER_REQUEST:
        raise InvalidRequest(
            "match_keys", f"holds {len(call.match_keys)} keys; at most {MAX_KEYS_PER_REQUEST}"
        )
    if len(set(call.match_keys)) != len(call.match_keys):
        raise InvalidRequest("match_keys", "names the same key twice")
    for index, key in enumerate(call.match_keys):
        check_key(index, key)


def validate_call(call: DisclosureCall, pol: policy_lang.Policy) -> None:
    """Check a request completely before anything is charged or stored."""
    _check_versions(call)
    _check_reason(call, pol)
    _check_asked(call)


def context_of(call: DisclosureCall, now: datetime) -> policy_lang.RequestContext:
    """The policy's view of the request."""
    return policy_lang.RequestContext(
        requester=call.requester,
        purpose=call.purpose.strip(),
        legal_basis=call.legal_basis.strip(),
        case_reference=call.case_reference.strip(),
        officer=call.officer.strip(),
        now=now,
        justification=call.justification.strip() or None,
        potential_charges=tuple(call.potential_charges),
        assurances=tuple(call.assurances),
        requested_fields=tuple(call.requested_fields),
    )


def transcript_hash(
    request_id: str, disclosure_id: str, match_keys: Sequence[str], items: Sequence[ItemDecision]
) -> str:
    """A digest both agencies compute from what crossed the wire in one Disclose call.

    Requester and responder record it in their audit entries so the two trails
    can be reconciled one to one; it covers the keys asked about (by digest) and
    each item's id, outcome, reason code and ticket, never field values.
    """
    h = hashlib.sha256()
    for part in (request_id, disclosure_id):
        h.update(hashlib.sha256(part.encode()).digest())
    for key in match_keys:
        h.update(hashlib.sha256(key.encode()).digest())
    for item in items:
        line = "|".join((item.item_id, item.outcome, item.reason_code, item.ticket_id or ""))
        h.update(hashlib.sha256(line.encode()).digest())
    return h.hexdigest()
