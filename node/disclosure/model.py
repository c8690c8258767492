"""The disclosure request and its answer as the domain sees them, and input checks.

A :class:`DisclosureCall` is what a requester asks for: its accountability
context (``policy.RequestContext``, checked once where it was built — the CLI
on the requester's side, the wire decoder on the responder's) and the keys.
:func:`validate_call` refuses it with :class:`~node.errors.InvalidRequest`
(naming the field) before anything is charged, decided or stored. Decisions
carry the policy's own typed outcome and obligations.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import policy as policy_lang
from node import bounds
from node.errors import InvalidRequest, VersionMismatch
from node.match import request_ids
from node.match.context import check_against_policy
from node.match.responder import PROTOCOL_VERSION
from node.records.keys import KEY_SCHEME_VERSION, SUPPORTED_SCHEMES
from node.store.timecodec import format_ts, parse_ts

#: A disclosure is about chosen hits, not a trawl: at most this many keys per request.
MAX_KEYS_PER_REQUEST = 100
MAX_KEY_LENGTH = 512
MAX_TEXT = bounds.MAX_TEXT

_KEY_RE = re.compile(r"^v(\d+)\|([a-z][a-z0-9_]{0,31})\|(.+)$")

Outcome = policy_lang.Outcome
Obligations = policy_lang.Obligations
RELEASE = Outcome.RELEASE
DENY = Outcome.DENY
PENDING_APPROVAL = Outcome.PENDING_APPROVAL

#: The code given for every key that leads to no releasable record — the same as
#: for a record the policy will not release, so a request learns nothing new.
NOT_RELEASABLE = "NOT_RELEASABLE"


def iso(moment: datetime) -> str:
    """Fixed-width ISO 8601 UTC text with offset (the store's one timestamp form)."""
    return format_ts(moment)


def parse_iso(text: str) -> datetime:
    """Read a time written by :func:`iso` (or any ISO 8601 text; none means UTC)."""
    return parse_ts(text)


def now_utc() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class PrivateSelection:
    """The pursued hits as a PSI answer to the responder's request (no plaintext key)."""

    psi_setup: bytes
    psi_response: bytes


@dataclass(frozen=True)
class OpenCall:
    """OpenDisclosure: who asks and why, before the pursued hits are named."""

    context: policy_lang.RequestContext
    protocol_version: int
    key_scheme_version: int
    psi_protocol_version: int
    request_id: str

    @property
    def requester(self) -> str:
        """The agency asking."""
        return self.context.requester


@dataclass(frozen=True)
class DisclosureCall:
    """A disclosure request, on either side of the wire (``context.requester`` asks)."""

    context: policy_lang.RequestContext
    protocol_version: int
    key_scheme_version: int
    request_id: str
    match_keys: tuple[str, ...]
    match_id: str = ""
    #: The pursued hits named privately (then ``match_keys`` is empty on the wire).
    selection: PrivateSelection | None = None

    @property
    def requester(self) -> str:
        """The agency asking."""
        return self.context.requester


@dataclass(frozen=True)
class ItemDecision:
    """The decision on one item of a disclosure request."""

    item_id: str
    outcome: Outcome
    reason_code: str
    match_key: str = ""
    fields: dict[str, Any] = field(default_factory=dict)
    transforms: dict[str, str] = field(default_factory=dict)
    obligations: Obligations | None = None
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


def check_key(index: int, key: str, scheme: int = KEY_SCHEME_VERSION) -> None:
    """Refuse a string that is not a complete match key of the request's scheme version."""
    where = f"match_keys[{index}]"
    if len(key) > MAX_KEY_LENGTH:
        raise InvalidRequest(where, f"is longer than {MAX_KEY_LENGTH} characters")
    found = _KEY_RE.match(key)
    if found is None:
        raise InvalidRequest(
            where, "is not a complete match key (expected 'v<version>|<key type>|<value>')"
        )
    if int(found.group(1)) != scheme:
        raise InvalidRequest(
            where, f"uses key-scheme version {found.group(1)}; the request uses {scheme}"
        )


def _check_versions(call: DisclosureCall | OpenCall) -> None:
    if call.protocol_version != PROTOCOL_VERSION:
        raise VersionMismatch("protocol version", PROTOCOL_VERSION, call.protocol_version)
    # During a scheme transition a node answers every scheme whose keys it stores.
    if call.key_scheme_version not in SUPPORTED_SCHEMES:
        raise VersionMismatch("key-scheme version", KEY_SCHEME_VERSION, call.key_scheme_version)
    check_request_id(call.request_id)


check_request_id = request_ids.check_canonical


def _check_reason(call: DisclosureCall, pol: policy_lang.Policy) -> None:
    check_against_policy(pol, call.context)
    bounds.optional_text("match_id", call.match_id, MAX_TEXT)


def _check_asked(call: DisclosureCall) -> None:
    if not call.context.requested_fields:
        raise InvalidRequest("requested_fields", "name at least one field or field group")
    if not call.context.justification:
        raise InvalidRequest("justification", "say in plain words why the details are needed")
    if call.selection is not None:
        if call.match_keys:
            raise InvalidRequest("match_keys", "must be empty when the hits are named privately")
        if not call.selection.psi_setup or not call.selection.psi_response:
            raise InvalidRequest("private_selection", "needs both a PSI setup and a response")
        return
    if not call.match_keys:
        raise InvalidRequest("match_keys", "name at least one match key that was a hit")
    if len(call.match_keys) > MAX_KEYS_PER_REQUEST:
        raise InvalidRequest(
            "match_keys", f"holds {len(call.match_keys)} keys; at most {MAX_KEYS_PER_REQUEST}"
        )
    if len(set(call.match_keys)) != len(call.match_keys):
        raise InvalidRequest("match_keys", "names the same key twice")
    for index, key in enumerate(call.match_keys):
        check_key(index, key, call.key_scheme_version)


def validate_open(call: OpenCall, pol: policy_lang.Policy) -> None:
    """Check an OpenDisclosure call before any key is read or blinded."""
    from node.psi import PSI_PROTOCOL_VERSION

    _check_versions(call)
    if call.psi_protocol_version != PSI_PROTOCOL_VERSION:
        raise VersionMismatch(
            "PSI protocol version", PSI_PROTOCOL_VERSION, call.psi_protocol_version
        )
    check_against_policy(pol, call.context)


def validate_call(call: DisclosureCall, pol: policy_lang.Policy) -> None:
    """Check a request completely before anything is charged or stored."""
    _check_versions(call)
    _check_reason(call, pol)
    _check_asked(call)


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
