"""Disclose and GetDisclosure: proto ↔ domain, on both sides of the wire.

Server side, :func:`disclose` and :func:`get_disclosure` turn a request into a
domain call on :class:`~node.disclosure.DisclosureResponder` and its answer
back into a response; domain errors propagate to the servicer's error
catalogue. Client side, :class:`PeerDisclosureChannel` gives the requester's
domain code a gRPC-free way to reach one counterpart.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from spoor.federation.v1 import federation_pb2 as pb

from node import bounds
from node.disclosure import DisclosureAnswer, DisclosureCall, DisclosureResponder, ItemDecision
from node.disclosure.model import DENY, PENDING_APPROVAL, RELEASE
from node.disclosure.requester import CounterpartReplyError
from node.match.responder import key_types_of

if TYPE_CHECKING:  # the client module imports the server module, which imports this one
    from node.rpc.client import PeerClient

_OUTCOME_TO_PB = {
    RELEASE: pb.DISCLOSURE_OUTCOME_RELEASE,
    DENY: pb.DISCLOSURE_OUTCOME_DENY,
    PENDING_APPROVAL: pb.DISCLOSURE_OUTCOME_PENDING_APPROVAL,
}
_OUTCOME_FROM_PB = {v: k for k, v in _OUTCOME_TO_PB.items()}


# -- domain → proto -------------------------------------------------------------


def _obligations_pb(obligations: dict[str, Any]) -> pb.Obligations:
    return pb.Obligations(
        handling_code=str(obligations.get("handling_code", "")),
        use_limited_to_purpose=bool(obligations.get("use_limited_to_purpose")),
        use_limited_to_case=bool(obligations.get("use_limited_to_case")),
        purpose=str(obligations.get("purpose", "")),
        case_reference=str(obligations.get("case_reference", "")),
        onward_transfer=str(obligations.get("onward_transfer", "")),
        judicial_use=str(obligations.get("judicial_use", "")),
        retention_days=int(obligations.get("retention_days", 0)),
    )


def item_pb(item: ItemDecision) -> pb.DisclosureItem:
    """One domain decision as a wire item."""
    message = pb.DisclosureItem(
        item_id=item.item_id,
        match_key=item.match_key,
        outcome=_OUTCOME_TO_PB[item.outcome],
        reason_code=item.reason_code,
        fields=[
            pb.ReleasedField(
                name=name,
                value_json=json.dumps(value, ensure_ascii=False, sort_keys=True),
                transformation=item.transforms.get(name, ""),
            )
            for name, value in item.fields.items()
        ],
        ticket_id=item.ticket_id or "",
        deadline=item.deadline or "",
        overdue=item.overdue,
        decided_at=item.decided_at,
    )
    if item.obligations is not None:
        message.obligations.CopyFrom(_obligations_pb(item.obligations))
    return message


def call_of(peer: str, request: pb.DiscloseRequest) -> DisclosureCall:
    """The domain call for a decoded request; the requester is the authenticated peer."""
    return DisclosureCall(
        requester=peer,
        protocol_version=request.protocol_version,
        key_scheme_version=request.key_scheme_version,
        request_id=request.request_id,
        match_keys=tuple(request.match_keys),
        purpose=request.purpose,
        legal_basis=request.legal_basis,
        case_reference=request.case_reference,
        officer=request.requesting_officer,
        justification=request.justification,
        potential_charges=tuple(request.potential_charges),
        assurances=tuple(request.assurances),
        requested_fields=tuple(request.requested_fields),
        match_id=request.match_id,
    )


def disclose(
    service: DisclosureResponder,
    peer: str,
    request: pb.DiscloseRequest,
    summary: dict[str, object],
) -> pb.DiscloseResponse:
    """Serve one Disclose call (the summary gets counts only, never keys or contents)."""
    summary["keys"] = len(request.match_keys)
    summary["key_types"] = key_types_of(request.match_keys)
    answer = service.disclose(call_of(peer, request))
    summary.update(answer.counts())
    return pb.DiscloseResponse(
        disclosure_id=answer.disclosure_id,
        items=[item_pb(i) for i in answer.items],
        policy_digest=answer.policy_digest,
        elements_charged=answer.elements_charged,
    )


def get_disclosure(
    service: DisclosureResponder,
    peer: str,
    request: pb.GetDisclosureRequest,
    summary: dict[str, object],
) -> pb.GetDisclosureResponse:
    """Serve one GetDisclosure call."""
    answer = service.get_disclosure(
        peer, request.disclosure_id, include_fields=request.include_released_fields
    )
    summary.update(answer.counts())
    summary["delivered"] = bool(request.include_released_fields)
    return pb.GetDisclosureResponse(
        disclosure_id=answer.disclosure_id,
        items=[item_pb(i) for i in answer.items],
        policy_digest=answer.policy_digest,
    )


# -- proto → domain (requester side) ------------------------------------------------


def request_pb(call: DisclosureCall) -> pb.DiscloseRequest:
    """The wire request for a domain call."""
    return pb.DiscloseRequest(
        protocol_version=call.protocol_version,
        key_scheme_version=call.key_scheme_version,
        request_id=call.request_id,
        match_keys=list(call.match_keys),
        purpose=call.purpose,
        legal_basis=call.legal_basis,
        case_reference=call.case_reference,
        requesting_officer=call.officer,
        justification=call.justification,
        potential_charges=list(call.potential_charges),
        assurances=list(call.assurances),
        requested_fields=list(call.requested_fields),
        match_id=call.match_id,
    )


def item_of(peer: str, message: pb.DisclosureItem) -> ItemDecision:
    """A wire item as a domain decision; refuses what cannot be read."""
    outcome = _OUTCOME_FROM_PB.get(message.outcome)
    if outcome is None:
        raise CounterpartReplyError(peer, "an item has no known outcome")
    fields: dict[str, Any] = {}
    transforms: dict[str, str] = {}
    for f in message.fields:
        try:
            fields[f.name] = json.loads(f.value_json)
        except ValueError as exc:
            raise CounterpartReplyError(
                peer, f"field {bounds.echo(f.name)} is not valid JSON"
            ) from exc
        if f.transformation:
            transforms[f.name] = f.transformation
    obligations: dict[str, Any] | None = None
    if message.HasField("obligations"):
        o = message.obligations
        obligations = {
            "handling_code": o.handling_code,
            "use_limited_to_purpose": o.use_limited_to_purpose,
            "use_limited_to_case": o.use_limited_to_case,
            "purpose": o.purpose,
            "case_reference": o.case_reference,
            "onward_transfer": o.onward_transfer,
            "judicial_use": o.judicial_use,
            "retention_days": o.retention_days,
        }
    return ItemDecision(
        item_id=message.item_id,
        outcome=outcome,
        reason_code=message.reason_code,
        match_key=message.match_key,
        fields=fields,
        transforms=transforms,
        obligations=obligations,
        ticket_id=message.ticket_id or None,
        deadline=message.deadline or None,
        overdue=message.overdue,
        decided_at=message.decided_at,
    )


class PeerDisclosureChannel:
    """The requester's gRPC channel for disclosures with one counterpart."""

    def __init__(self, client: PeerClient) -> None:
        self.client = client
        self.peer_id = client.peer.agency_id

    def disclose(self, call: DisclosureCall) -> DisclosureAnswer:
        response = self.client.disclose(request_pb(call))
        return DisclosureAnswer(
            disclosure_id=response.disclosure_id,
            items=[item_of(self.peer_id, i) for i in response.items],
            policy_digest=response.policy_digest,
            elements_charged=response.elements_charged,
        )

    def get_disclosure(self, disclosure_id: str, include_fields: bool) -> DisclosureAnswer:
        response = self.client.get_disclosure(
            pb.GetDisclosureRequest(
                disclosure_id=disclosure_id, include_released_fields=include_fields
            )
        )
        return DisclosureAnswer(
            disclosure_id=response.disclosure_id,
            items=[item_of(self.peer_id, i) for i in response.items],
            policy_digest=response.policy_digest,
        )
