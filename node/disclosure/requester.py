"""The requester's side: ask for details behind chosen hits, follow up, keep what is released.

Hits are chosen from what ``spoor match`` stored (``matches`` / ``match_hits``)
by match id, hit id or row number, so nobody retypes an identifier. Released
details are stored with the obligations that travel with them and the date
after which they must be purged. The counterpart's answer is checked before
anything is stored: an item that does not answer a key we sent, a field
outside the vocabulary, or a release without obligations is refused whole.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Protocol

import policy as policy_lang
from node import audit, bounds, store
from node.disclosure.model import (
    DENY,
    PENDING_APPROVAL,
    RELEASE,
    DisclosureAnswer,
    DisclosureCall,
    ItemDecision,
    OpenCall,
    iso,
    now_utc,
    transcript_hash,
)
from node.disclosure.selection import answer_request
from node.errors import DisclosureNotFound, InvalidRequest, SpoorError
from node.match.responder import PROTOCOL_VERSION, key_types_of
from node.psi import PSI_PROTOCOL_VERSION
from node.records.schemes import scheme_of
from node.store import Connection, disclosures, matches


class CounterpartReplyError(SpoorError):
    """The counterpart's answer cannot be trusted as given; nothing of it was stored."""

    FIELDS = ("peer", "reason")

    def __init__(self, peer: str, reason: str) -> None:
        self.peer = peer
        self.reason = reason
        super().__init__(f"{peer}: the answer was refused ({reason}); nothing was stored")


class DisclosureChannel(Protocol):
    """How the requester reaches one counterpart (gRPC in production, direct in tests)."""

    peer_id: str

    def open_disclosure(self, call: OpenCall) -> bytes:
        """Open a private selection; the counterpart's PSI request over its eligible keys."""
        ...

    def disclose(self, call: DisclosureCall) -> DisclosureAnswer: ...

    def get_disclosure(self, disclosure_id: str, include_fields: bool) -> DisclosureAnswer: ...


@dataclass(frozen=True)
class Hit:
    """One stored hit: which of our rows matched at which counterpart, on which key."""

    hit_id: int
    match_id: str
    peer: str
    row_number: int
    record_id: str
    key_type: str
    match_key: str


def select_hits(
    conn: Connection,
    match_id: str | None = None,
    hit_ids: Sequence[int] = (),
    rows: Sequence[int] = (),
) -> list[Hit]:
    """Hits of one match (all, or those named by hit id or input row), for one counterpart."""
    if not match_id and not hit_ids:
        raise InvalidRequest("match", "name a match id (from 'spoor match') or hit ids")
    if match_id and not matches.exists(conn, match_id):
        raise DisclosureNotFound("match", match_id)
    found = [Hit(*r) for r in matches.hits(conn, match_id, hit_ids, rows)]
    missing = sorted(set(hit_ids) - {h.hit_id for h in found})
    if missing:
        raise InvalidRequest("hit", f"no stored hit {', '.join(map(str, missing))} in that match")
    if not found:
        raise InvalidRequest("match", "has no hits to ask about (check the match id and rows)")
    peers = sorted({h.peer for h in found})
    if len(peers) > 1:
        raise InvalidRequest("hit", f"the hits belong to several counterparts ({', '.join(peers)})")
    return found


def _usable(value: str | None, limit: int) -> bool:
    """A counterpart's string is short and printable (it will be stored and shown)."""
    return value is None or (len(value) <= limit and not bounds.has_control(value))


def _check_strings(peer: str, answer: DisclosureAnswer) -> None:
    """Every string of the answer is bounded and printable before anything is stored."""
    if answer.policy_digest and not bounds.is_policy_digest(answer.policy_digest):
        raise CounterpartReplyError(peer, "the policy digest is not a SHA-256 digest")
    for item in answer.items:
        if item.reason_code and not bounds.is_reason_code(item.reason_code):
            raise CounterpartReplyError(peer, "an item's reason code is not a reason code")
        if not (
            _usable(item.ticket_id, bounds.MAX_IDENTIFIER)
            and _usable(item.deadline, bounds.MAX_TIMESTAMP)
            and _usable(item.decided_at, bounds.MAX_TIMESTAMP)
        ):
            raise CounterpartReplyError(peer, "an item's ticket, deadline or time is unusable")
        texts = [*item.transforms.values(), *item.transforms.keys()]
        if item.obligations is not None:
            texts += [v for v in item.obligations.as_dict().values() if isinstance(v, str)]
        if not all(_usable(t, bounds.MAX_TEXT) for t in texts):
            raise CounterpartReplyError(
                peer, "an item's obligations or transformations are unusable"
            )


def _check_answer(peer: str, answer: DisclosureAnswer, sent: set[str] | None) -> None:
    if not answer.disclosure_id or not _usable(answer.disclosure_id, bounds.MAX_IDENTIFIER):
        raise CounterpartReplyError(peer, "no usable disclosure id")
    for item in answer.items:
        if not item.item_id or not _usable(item.item_id, bounds.MAX_IDENTIFIER):
            raise CounterpartReplyError(peer, "an item has no usable id")
        if item.outcome not in (RELEASE, DENY, PENDING_APPROVAL):
            raise CounterpartReplyError(peer, f"unknown outcome {bounds.echo(item.outcome)}")
        if sent is not None and item.match_key not in sent:
            raise CounterpartReplyError(peer, "an item answers a key that was not sent")
        unknown = [f for f in item.fields if f not in policy_lang.FIELD_GROUPS]
        if unknown:
            named = ", ".join(bounds.echo(f) for f in sorted(unknown)[:5])
            raise CounterpartReplyError(peer, f"unknown field(s) {named}")
        if item.fields and item.outcome != RELEASE:
            raise CounterpartReplyError(peer, "fields were sent for an item not released")
        if item.outcome == RELEASE and item.fields:
            _check_obligations(peer, item.obligations)
    _check_strings(peer, answer)


def _check_obligations(peer: str, obligations: policy_lang.Obligations | None) -> None:
    if obligations is None:
        raise CounterpartReplyError(peer, "details were released without obligations")
    if obligations.handling_code not in policy_lang.HANDLING_CODES:
        raise CounterpartReplyError(peer, "details were released without a known handling code")
    days = obligations.retention_days
    if not isinstance(days, int) or days < 1:
        raise CounterpartReplyError(peer, "details were released without a retention period")


def send_request(
    conn: Connection,
    channel: DisclosureChannel,
    hits: Sequence[Hit],
    context: policy_lang.RequestContext,
    now: datetime | None = None,
    *,
    max_counterpart_keys: int = 2_000_000,
) -> str:
    """Ask the counterpart about ``hits``; store its answer and anything released.

    No pursued key is sent in plaintext; ``max_counterpart_keys`` bounds the
    counterpart's PSI request this node answers.

    ``context`` (who asks and why) was checked where the request entered the
    node (``node.match.context.request_context``) and is sent as it is.
    Returns the counterpart's disclosure id.
    """
    if not hits:
        raise InvalidRequest("hit", "choose at least one hit")
    by_key: dict[str, Hit] = {}
    for hit in hits:
        by_key.setdefault(hit.match_key, hit)
    match_ids = sorted({h.match_id for h in hits})
    # The keys carry the scheme their match used (a peer may still be on an older one).
    schemes = {scheme_of(k) for k in by_key}
    if len(schemes) > 1:
        raise InvalidRequest(
            "hit", "the hits come from matches in different key schemes; ask about each separately"
        )
    scheme = schemes.pop()
    request_id = str(uuid.uuid4())
    # The pursued keys never cross in plaintext: the counterpart blinds its own
    # eligible keys, we answer as PSI server over the pursued ones, and it learns
    # only those it genuinely holds (node.disclosure.selection).
    psi_request = channel.open_disclosure(
        OpenCall(
            context=context,
            protocol_version=PROTOCOL_VERSION,
            key_scheme_version=scheme,
            psi_protocol_version=PSI_PROTOCOL_VERSION,
            request_id=request_id,
        )
    )
    selection = answer_request(tuple(by_key), psi_request, max_elements=max_counterpart_keys)
    call = DisclosureCall(
        context=context,
        protocol_version=PROTOCOL_VERSION,
        key_scheme_version=scheme,
        request_id=request_id,
        match_keys=(),
        match_id=match_ids[0] if len(match_ids) == 1 else "",
        selection=selection,
    )
    ctx = call.context
    answer = channel.disclose(call)
    _check_answer(channel.peer_id, answer, set(by_key))
    call = replace(call, match_keys=tuple(by_key))
    moment = now or now_utc()
    counts = answer.counts()
    with store.transaction(conn):
        disclosures.add_sent(
            conn,
            {
                "disclosure_id": answer.disclosure_id,
                "request_id": call.request_id,
                "peer": channel.peer_id,
                "match_id": call.match_id or None,
                "sent_at": iso(moment),
                "purpose": ctx.purpose,
                "legal_basis": ctx.legal_basis,
                "case_reference": ctx.case_reference,
                "officer": ctx.officer,
                "justification": ctx.justification or "",
                "potential_charges": json.dumps(list(ctx.potential_charges)),
                "assurances": json.dumps(list(ctx.assurances)),
                "requested_fields": json.dumps(list(ctx.requested_fields)),
                "policy_digest": answer.policy_digest,
                "checked_at": iso(moment),
            },
        )
        for item in answer.items:
            hit = by_key[item.match_key]
            disclosures.add_item(
                conn,
                {
                    "disclosure_id": answer.disclosure_id,
                    "item_id": item.item_id,
                    "hit_id": hit.hit_id,
                    "record_id": hit.record_id,
                    "match_key": item.match_key,
                    "key_type": hit.key_type,
                    "outcome": item.outcome,
                    "reason_code": item.reason_code,
                    "ticket_id": item.ticket_id,
                    "deadline": item.deadline,
                    "overdue": int(item.overdue),
                    "updated_at": iso(moment),
                },
            )
        stored = _store_released(conn, channel.peer_id, answer.disclosure_id, answer.items, moment)
        audit.append(
            conn,
            "disclosure.requested",
            counterpart=channel.peer_id,
            purpose=ctx.purpose,
            legal_basis=ctx.legal_basis,
            case_reference=ctx.case_reference,
            officer=ctx.officer,
            justification=ctx.justification or "",
            request_id=call.request_id,
            policy_digest=answer.policy_digest,
            key_types=key_types_of(call.match_keys),
            elements=len(call.match_keys),
            transcript_hash=transcript_hash(
                call.request_id, answer.disclosure_id, call.match_keys, answer.items
            ),
            status="OK",
            details={
                "disclosure_id": answer.disclosure_id,
                "match_id": call.match_id or None,
                **counts,
            },
        )
        if stored:
            _audit_fetch(conn, channel.peer_id, call.request_id, answer, stored)
    return answer.disclosure_id


def _audit_fetch(
    conn: Connection, peer: str, request_id: str, answer: DisclosureAnswer, stored: int
) -> None:
    audit.append(
        conn,
        "disclosure.fetched",
        counterpart=peer,
        request_id=request_id,
        policy_digest=answer.policy_digest,
        status="OK",
        details={"disclosure_id": answer.disclosure_id, "stored": stored},
    )


def _store_released(
    conn: Connection,
    peer: str,
    disclosure_id: str,
    items: Sequence[ItemDecision],
    moment: datetime,
) -> int:
    """Store released details not stored yet, with obligations and retention; the count."""
    stored = 0
    for item in items:
        if item.outcome != RELEASE or not item.fields or item.obligations is None:
            continue
        row = disclosures.item(conn, disclosure_id, item.item_id)
        if row is None or row["fetched"]:
            continue
        ob = item.obligations
        retain_until = iso(moment + timedelta(days=ob.retention_days))
        disclosures.add_received(
            conn,
            {
                "disclosure_id": disclosure_id,
                "item_id": item.item_id,
                "peer": peer,
                "record_id": row["record_id"],
                "match_key": row["match_key"],
                "fields": json.dumps(item.fields, ensure_ascii=False),
                "transforms": json.dumps(item.transforms),
                "handling_code": ob.handling_code,
                "use_limited_to_purpose": int(ob.use_limited_to_purpose),
                "use_limited_to_case": int(ob.use_limited_to_case),
                "purpose": ob.purpose,
                "case_reference": ob.case_reference,
                "onward_transfer": ob.onward_transfer or "prohibited",
                "judicial_use": ob.judicial_use or "prohibited",
                "retention_days": ob.retention_days,
                "received_at": iso(moment),
                "retain_until": retain_until,
            },
        )
        disclosures.mark_fetched(conn, disclosure_id, item.item_id)
        stored += 1
    return stored


def refresh(
    conn: Connection,
    channel: DisclosureChannel,
    disclosure_id: str,
    *,
    fetch: bool,
    now: datetime | None = None,
) -> int:
    """Ask the counterpart how the request stands; with ``fetch``, store newly released details.

    Returns how many released items were stored by this call.
    """
    row = disclosures.sent(conn, disclosure_id)
    if row is None:
        raise DisclosureNotFound("disclosure request", disclosure_id)
    if str(row["peer"]) != channel.peer_id:
        raise InvalidRequest("peer", f"disclosure {disclosure_id} was sent to {row['peer']}")
    answer = channel.get_disclosure(disclosure_id, fetch)
    _check_answer(channel.peer_id, answer, None)
    if answer.disclosure_id != disclosure_id:
        raise CounterpartReplyError(channel.peer_id, "the answer is about another request")
    previous = disclosures.item_outcomes(conn, disclosure_id)
    if any(item.item_id not in previous for item in answer.items):
        raise CounterpartReplyError(channel.peer_id, "an item was not part of the request")
    moment = now or now_utc()
    # Items the counterpart's officers decided since we last asked: the audit trail
    # (and so 'spoor stats') records how pending answers turned out.
    decided = {
        outcome: sum(
            1
            for item in answer.items
            if previous.get(item.item_id) == PENDING_APPROVAL and item.outcome == outcome
        )
        for outcome in (RELEASE, DENY)
    }
    with store.transaction(conn):
        for item in answer.items:
            disclosures.update_item(
                conn,
                disclosure_id,
                item.item_id,
                outcome=item.outcome,
                reason_code=item.reason_code,
                ticket_id=item.ticket_id,
                deadline=item.deadline,
                overdue=item.overdue,
                updated_at=iso(moment),
            )
        disclosures.mark_checked(conn, disclosure_id, iso(moment))
        stored = (
            _store_released(conn, channel.peer_id, disclosure_id, answer.items, moment)
            if fetch
            else 0
        )
        if stored:
            _audit_fetch(conn, channel.peer_id, str(row["request_id"]), answer, stored)
        if decided[RELEASE] or decided[DENY]:
            audit.append(
                conn,
                "disclosure.decided",
                counterpart=channel.peer_id,
                request_id=str(row["request_id"]),
                policy_digest=answer.policy_digest,
                status="ANSWERED",
                details={
                    "disclosure_id": disclosure_id,
                    "side": "requester",
                    "released_after_approval": decided[RELEASE],
                    "denied_after_approval": decided[DENY],
                },
            )
    return stored


@dataclass(frozen=True)
class SentItem:
    """One item of a request this node sent, as last reported."""

    disclosure_id: str
    peer: str
    case_reference: str
    item_id: str
    hit_id: int | None
    record_id: str | None
    key_type: str
    outcome: str
    reason_code: str
    ticket_id: str | None
    deadline: str | None
    overdue: bool
    fetched: bool

    @property
    def state(self) -> str:
        """released / awaiting fetch / pending / overdue / denied."""
        if self.outcome == RELEASE:
            return "released" if self.fetched else "released (fetch it)"
        if self.outcome == PENDING_APPROVAL:
            return "overdue" if self.overdue else "pending"
        return "denied"


def sent_items(conn: Connection, disclosure_id: str | None = None) -> list[SentItem]:
    """Items of requests this node sent (all, or of one request), newest request first."""
    rows = disclosures.sent_items(conn, disclosure_id)
    return [
        SentItem(
            str(r[0]),
            str(r[1]),
            str(r[2]),
            str(r[3]),
            r[4],
            r[5],
            str(r[6]),
            str(r[7]),
            str(r[8]),
            r[9],
            r[10],
            bool(r[11]),
            bool(r[12]),
        )
        for r in rows
    ]


def open_requests(conn: Connection) -> list[tuple[str, str]]:
    """(disclosure id, peer) of requests with items still pending or released but not fetched."""
    return disclosures.open_requests(conn)


def peer_of(conn: Connection, disclosure_id: str) -> str | None:
    """The counterpart a request was sent to, or None when no such request was sent."""
    row = disclosures.sent(conn, disclosure_id)
    return str(row["peer"]) if row else None
