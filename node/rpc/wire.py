"""The one wire boundary: proto messages ↔ domain objects, for every RPC, both sides.

Each RPC has its pair of functions here and nowhere else:

* Describe — :func:`describe_response_pb` / :func:`description_of`;
* Match — :func:`match_request_pb` / :func:`match_call_of`,
  :func:`match_response_pb` / :func:`match_reply_of`;
* Disclose — :func:`disclose_request_pb` / :func:`disclosure_call_of`,
  :func:`disclosure_answer_pb` / :func:`disclosure_answer_of`;
* GetDisclosure — :func:`get_disclosure_request_pb` and the answer functions above.

Decoding a request is where the responder checks the accountability context
(once; ``node.match.context``): the requester is always the authenticated
peer, never a field the caller sent. Decoding an answer refuses what cannot
be read (:class:`~node.disclosure.requester.CounterpartReplyError`).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from spoor.federation.v1 import federation_pb2 as pb

import policy as policy_lang
from node import bounds
from node.disclosure import DisclosureAnswer, DisclosureCall, ItemDecision
from node.disclosure.model import OpenCall, PrivateSelection
from node.disclosure.requester import CounterpartReplyError
from node.errors import InvalidRequest
from node.match.context import request_context
from node.match.responder import MatchCall, MatchReply
from node.peers.channel import PeerDescription, Vocabulary
from node.psi import PSI_PROTOCOL_VERSION

Outcome = policy_lang.Outcome

_OUTCOME_TO_PB = {
    Outcome.RELEASE: pb.DISCLOSURE_OUTCOME_RELEASE,
    Outcome.DENY: pb.DISCLOSURE_OUTCOME_DENY,
    Outcome.PENDING_APPROVAL: pb.DISCLOSURE_OUTCOME_PENDING_APPROVAL,
}
_OUTCOME_FROM_PB = {v: k for k, v in _OUTCOME_TO_PB.items()}


def _reveal_pb(reveal_intersection: bool) -> pb.RevealMode.ValueType:
    return pb.REVEAL_MODE_INTERSECTION if reveal_intersection else pb.REVEAL_MODE_CARDINALITY


def _now(now: datetime | None) -> datetime:
    return now or datetime.now(UTC)


# -- Describe -------------------------------------------------------------------


def describe_response_pb(description: PeerDescription) -> pb.DescribeResponse:
    """What this node says about itself."""
    return pb.DescribeResponse(
        agency_id=description.agency_id,
        country=description.country,
        protocol_version=description.protocol_version,
        key_scheme_version=description.key_scheme_version,
        capabilities=list(description.capabilities),
        policy_digest=description.policy_digest,
        max_elements_per_request=description.max_elements_per_request,
        software_version=description.software_version,
        key_scheme_versions=list(description.key_scheme_versions),
        vocabulary=(
            pb.AcceptedVocabulary(
                purposes=list(description.vocabulary.purposes),
                legal_bases=list(description.vocabulary.legal_bases),
                budget_remaining=description.vocabulary.budget_remaining,
                budget_period=description.vocabulary.budget_period,
            )
            if description.vocabulary is not None
            else None
        ),
    )


def description_of(response: pb.DescribeResponse) -> PeerDescription:
    """What a counterpart said about itself."""
    return PeerDescription(
        agency_id=response.agency_id,
        country=response.country,
        protocol_version=response.protocol_version,
        key_scheme_version=response.key_scheme_version,
        capabilities=tuple(response.capabilities),
        policy_digest=response.policy_digest,
        max_elements_per_request=response.max_elements_per_request,
        software_version=response.software_version,
        key_scheme_versions=tuple(response.key_scheme_versions),
        vocabulary=_vocabulary_of(response) if response.HasField("vocabulary") else None,
    )


#: Bounds on an advertised vocabulary: entries kept, characters per entry.
_MAX_VOCABULARY, _MAX_TERM = 64, 128


def _vocabulary_of(response: pb.DescribeResponse) -> Vocabulary:
    """The counterpart's advertised vocabulary, bounded (it is counterpart data)."""
    advertised = response.vocabulary

    def terms(values: Any) -> tuple[str, ...]:
        return tuple(v for v in list(values)[:_MAX_VOCABULARY] if 0 < len(v) <= _MAX_TERM)

    return Vocabulary(
        purposes=terms(advertised.purposes),
        legal_bases=terms(advertised.legal_bases),
        budget_remaining=min(int(advertised.budget_remaining), 2**53),
        budget_period=advertised.budget_period[:_MAX_TERM],
    )


# -- Match ----------------------------------------------------------------------


def match_request_pb(call: MatchCall) -> pb.MatchRequest:
    """The wire request for a match (the requester's identity travels in its certificate)."""
    ctx = call.context
    return pb.MatchRequest(
        protocol_version=call.protocol_version,
        key_scheme_version=call.key_scheme_version,
        psi_protocol_version=call.psi_protocol_version,
        purpose=ctx.purpose,
        legal_basis=ctx.legal_basis,
        case_reference=ctx.case_reference,
        requesting_officer=ctx.officer,
        reveal_mode=_reveal_pb(call.reveal_intersection),
        psi_request=call.psi_request,
        key_types=list(call.key_types),
        request_id=call.request_id,
        held_setup_digest=call.held_setup_digest,
    )


def match_call_of(peer: str, request: pb.MatchRequest, now: datetime | None = None) -> MatchCall:
    """The domain call for a received match; raises ``InvalidRequest`` naming the bad field."""
    if request.reveal_mode == pb.REVEAL_MODE_UNSPECIFIED:
        raise InvalidRequest("reveal_mode", "must be INTERSECTION or CARDINALITY")
    if request.reveal_mode not in (pb.REVEAL_MODE_INTERSECTION, pb.REVEAL_MODE_CARDINALITY):
        raise InvalidRequest("reveal_mode", "is not a known reveal mode")
    context = request_context(
        requester=peer,
        now=_now(now),
        purpose=request.purpose,
        legal_basis=request.legal_basis,
        case_reference=request.case_reference,
        officer=request.requesting_officer,
    )
    return MatchCall(
        context=context,
        protocol_version=request.protocol_version,
        key_scheme_version=request.key_scheme_version,
        psi_protocol_version=request.psi_protocol_version,
        reveal_intersection=request.reveal_mode == pb.REVEAL_MODE_INTERSECTION,
        psi_request=request.psi_request,
        request_id=request.request_id,
        key_types=tuple(request.key_types),
        held_setup_digest=request.held_setup_digest,
    )


def match_response_pb(reply: MatchReply) -> pb.MatchResponse:
    """The wire answer to a match."""
    return pb.MatchResponse(
        server_setup=reply.server_setup,
        psi_response=reply.psi_response,
        setup_digest=reply.setup_digest,
        reveal_mode=_reveal_pb(reply.reveal_intersection),
        psi_protocol_version=PSI_PROTOCOL_VERSION,
        policy_digest=reply.policy_digest,
        elements_charged=reply.elements_charged,
        budget_remaining=reply.budget_remaining,
    )


def match_reply_of(response: pb.MatchResponse) -> MatchReply:
    """A counterpart's match answer (its PSI bytes are validated later, by ``node.psi``)."""
    return MatchReply(
        server_setup=response.server_setup,
        psi_response=response.psi_response,
        setup_digest=response.setup_digest,
        reveal_intersection=response.reveal_mode == pb.REVEAL_MODE_INTERSECTION,
        policy_digest=response.policy_digest,
        elements_charged=response.elements_charged,
        budget_remaining=response.budget_remaining,
    )


# -- Disclose / GetDisclosure -----------------------------------------------------


def _obligations_pb(obligations: policy_lang.Obligations) -> pb.Obligations:
    return pb.Obligations(
        handling_code=obligations.handling_code,
        use_limited_to_purpose=obligations.use_limited_to_purpose,
        use_limited_to_case=obligations.use_limited_to_case,
        purpose=obligations.purpose,
        case_reference=obligations.case_reference,
        onward_transfer=obligations.onward_transfer,
        judicial_use=obligations.judicial_use,
        retention_days=obligations.retention_days,
    )


def _obligations_of(message: pb.Obligations) -> policy_lang.Obligations:
    return policy_lang.Obligations(
        handling_code=message.handling_code,
        use_limited_to_purpose=message.use_limited_to_purpose,
        use_limited_to_case=message.use_limited_to_case,
        purpose=message.purpose,
        case_reference=message.case_reference,
        onward_transfer=message.onward_transfer,
        judicial_use=message.judicial_use,
        retention_days=message.retention_days,
    )


def disclose_request_pb(call: DisclosureCall) -> pb.DiscloseRequest:
    """The wire request for a disclosure (the requester travels in its certificate)."""
    ctx = call.context
    return pb.DiscloseRequest(
        protocol_version=call.protocol_version,
        key_scheme_version=call.key_scheme_version,
        request_id=call.request_id,
        match_keys=list(call.match_keys),
        purpose=ctx.purpose,
        legal_basis=ctx.legal_basis,
        case_reference=ctx.case_reference,
        requesting_officer=ctx.officer,
        justification=ctx.justification or "",
        potential_charges=list(ctx.potential_charges),
        assurances=list(ctx.assurances),
        requested_fields=list(ctx.requested_fields),
        match_id=call.match_id,
        private_selection=(
            pb.PrivateSelection(
                psi_setup=call.selection.psi_setup, psi_response=call.selection.psi_response
            )
            if call.selection is not None
            else None
        ),
    )


def open_disclosure_request_pb(call: OpenCall) -> pb.OpenDisclosureRequest:
    """The wire request opening a private selection."""
    ctx = call.context
    return pb.OpenDisclosureRequest(
        protocol_version=call.protocol_version,
        key_scheme_version=call.key_scheme_version,
        psi_protocol_version=call.psi_protocol_version,
        request_id=call.request_id,
        purpose=ctx.purpose,
        legal_basis=ctx.legal_basis,
        case_reference=ctx.case_reference,
        requesting_officer=ctx.officer,
    )


def open_call_of(
    peer: str, request: pb.OpenDisclosureRequest, now: datetime | None = None
) -> OpenCall:
    """The domain call for a received OpenDisclosure; the requester is the peer."""
    context = request_context(
        requester=peer,
        now=_now(now),
        purpose=request.purpose,
        legal_basis=request.legal_basis,
        case_reference=request.case_reference,
        officer=request.requesting_officer,
    )
    return OpenCall(
        context=context,
        protocol_version=request.protocol_version,
        key_scheme_version=request.key_scheme_version,
        psi_protocol_version=request.psi_protocol_version,
        request_id=request.request_id,
    )


def open_disclosure_response_pb(psi_request: bytes, ttl_s: float) -> pb.OpenDisclosureResponse:
    """The responder's PSI request over its eligible keys."""
    return pb.OpenDisclosureResponse(psi_request=psi_request, expires_in_seconds=int(ttl_s))


def disclosure_call_of(
    peer: str, request: pb.DiscloseRequest, now: datetime | None = None
) -> DisclosureCall:
    """The domain call for a received disclosure request; the requester is the peer."""
    context = request_context(
        requester=peer,
        now=_now(now),
        purpose=request.purpose,
        legal_basis=request.legal_basis,
        case_reference=request.case_reference,
        officer=request.requesting_officer,
        justification=request.justification,
        potential_charges=request.potential_charges,
        assurances=request.assurances,
        requested_fields=request.requested_fields,
        fields_required=True,
    )
    return DisclosureCall(
        context=context,
        protocol_version=request.protocol_version,
        key_scheme_version=request.key_scheme_version,
        request_id=request.request_id,
        match_keys=tuple(request.match_keys),
        match_id=request.match_id,
        selection=(
            PrivateSelection(
                bytes(request.private_selection.psi_setup),
                bytes(request.private_selection.psi_response),
            )
            if request.HasField("private_selection")
            else None
        ),
    )


def get_disclosure_request_pb(disclosure_id: str, include_fields: bool) -> pb.GetDisclosureRequest:
    """The wire request asking how a disclosure stands."""
    return pb.GetDisclosureRequest(
        disclosure_id=disclosure_id, include_released_fields=include_fields
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
    return ItemDecision(
        item_id=message.item_id,
        outcome=outcome,
        reason_code=message.reason_code,
        match_key=message.match_key,
        fields=fields,
        transforms=transforms,
        obligations=(
            _obligations_of(message.obligations) if message.HasField("obligations") else None
        ),
        ticket_id=message.ticket_id or None,
        deadline=message.deadline or None,
        overdue=message.overdue,
        decided_at=message.decided_at,
    )


def disclose_response_pb(answer: DisclosureAnswer) -> pb.DiscloseResponse:
    """The wire answer to Disclose."""
    return pb.DiscloseResponse(
        disclosure_id=answer.disclosure_id,
        items=[item_pb(i) for i in answer.items],
        policy_digest=answer.policy_digest,
        elements_charged=answer.elements_charged,
    )


def get_disclosure_response_pb(answer: DisclosureAnswer) -> pb.GetDisclosureResponse:
    """The wire answer to GetDisclosure."""
    return pb.GetDisclosureResponse(
        disclosure_id=answer.disclosure_id,
        items=[item_pb(i) for i in answer.items],
        policy_digest=answer.policy_digest,
    )


def disclosure_answer_of(
    peer: str, response: pb.DiscloseResponse | pb.GetDisclosureResponse
) -> DisclosureAnswer:
    """A counterpart's Disclose or GetDisclosure answer."""
    charged = response.elements_charged if isinstance(response, pb.DiscloseResponse) else 0
    return DisclosureAnswer(
        disclosure_id=response.disclosure_id,
        items=[item_of(peer, i) for i in response.items],
        policy_digest=response.policy_digest,
        elements_charged=charged,
    )
