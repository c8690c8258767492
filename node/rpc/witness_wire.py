"""Mapping between the witness messages (witness.proto) and node.audit.witness."""

from __future__ import annotations

import re

from spoor.federation.v1 import witness_pb2 as wpb

from node import bounds
from node.audit.checkpoint import Checkpoint
from node.audit.witness import (
    ACCEPTED,
    INCONSISTENT,
    NEED_PROOF,
    REFUSED,
    ROLLED_BACK,
    SPLIT_VIEW,
    UNKNOWN,
    Cosignature,
    WitnessAnswer,
    WitnessCall,
)

DIGEST_BYTES = 32
_HEX = re.compile(r"[0-9a-f]+")

_VERDICTS = {
    ACCEPTED: wpb.WITNESS_VERDICT_ACCEPTED,
    NEED_PROOF: wpb.WITNESS_VERDICT_NEED_PROOF,
    SPLIT_VIEW: wpb.WITNESS_VERDICT_SPLIT_VIEW,
    INCONSISTENT: wpb.WITNESS_VERDICT_INCONSISTENT,
    ROLLED_BACK: wpb.WITNESS_VERDICT_ROLLED_BACK,
    REFUSED: wpb.WITNESS_VERDICT_REFUSED,
    UNKNOWN: wpb.WITNESS_VERDICT_UNKNOWN,
}
_STATUSES = {v: k for k, v in _VERDICTS.items()}


def checkpoint_pb(cp: Checkpoint) -> wpb.AuditCheckpoint:
    return wpb.AuditCheckpoint(
        agency_id=cp.agency_id or "",
        entry_count=cp.entry_count,
        head_hash=cp.head_hash,
        created_at=cp.created_at,
        public_key=cp.public_key,
        signature=cp.signature,
    )


def witness_request_pb(call: WitnessCall) -> wpb.WitnessCheckpointRequest:
    return wpb.WitnessCheckpointRequest(
        checkpoint=checkpoint_pb(call.checkpoint),
        prior_entry_count=call.prior_count,
        body_digests=[bytes.fromhex(d) for d in call.digests],
    )


def _hex(name: str, value: str, chars: int) -> str:
    if not _HEX.fullmatch(value) or len(value) != chars:
        raise ValueError(f"{name} is not {chars} hex digits")
    return value


def witness_call_of(request: wpb.WitnessCheckpointRequest) -> WitnessCall:
    """Decode a counterpart's request, bounding every field; ValueError is answered as refused."""
    cp = request.checkpoint
    _hex("head_hash", cp.head_hash, 64)
    _hex("public_key", cp.public_key, 64)
    _hex("signature", cp.signature, 128)
    bounds.require_text("created_at", cp.created_at, bounds.MAX_TIMESTAMP)
    bounds.require_text("agency_id", cp.agency_id, bounds.MAX_IDENTIFIER)
    digests = []
    for digest in request.body_digests:
        if len(digest) != DIGEST_BYTES:
            raise ValueError(f"a body digest is {len(digest)} bytes, not {DIGEST_BYTES}")
        digests.append(digest.hex())
    return WitnessCall(
        Checkpoint(
            entry_count=int(cp.entry_count),
            head_hash=cp.head_hash,
            created_at=cp.created_at,
            public_key=cp.public_key,
            signature=cp.signature,
            agency_id=cp.agency_id or None,
        ),
        int(request.prior_entry_count),
        tuple(digests),
    )


def cosignature_pb(c: Cosignature) -> wpb.AuditCosignature:
    return wpb.AuditCosignature(
        origin=c.origin,
        witness=c.witness,
        entry_count=c.entry_count,
        head_hash=c.head_hash,
        witnessed_at=c.witnessed_at,
        witness_key=c.witness_key,
        signature=c.signature,
    )


def cosignature_of(msg: wpb.AuditCosignature) -> Cosignature:
    return Cosignature(
        origin=msg.origin,
        witness=msg.witness,
        entry_count=int(msg.entry_count),
        head_hash=msg.head_hash,
        witnessed_at=msg.witnessed_at,
        witness_key=msg.witness_key,
        signature=msg.signature,
    )


def witness_response_pb(answer: WitnessAnswer) -> wpb.WitnessCheckpointResponse:
    response = wpb.WitnessCheckpointResponse(
        verdict=_VERDICTS.get(answer.status, wpb.WITNESS_VERDICT_REFUSED),
        known_entry_count=answer.known_count,
        known_head_hash=answer.known_hash,
        message=answer.message,
    )
    if answer.cosignature is not None:
        response.cosignature.CopyFrom(cosignature_pb(answer.cosignature))
    return response


def witness_answer_of(response: wpb.WitnessCheckpointResponse) -> WitnessAnswer:
    return WitnessAnswer(
        status=_STATUSES.get(response.verdict, REFUSED),
        known_count=int(response.known_entry_count),
        known_hash=response.known_head_hash,
        cosignature=cosignature_of(response.cosignature)
        if response.HasField("cosignature")
        else None,
        message=bounds.printable(response.message, bounds.MAX_PEER_MESSAGE),
    )


def head_response_pb(answer: WitnessAnswer) -> wpb.GetWitnessedHeadResponse:
    response = wpb.GetWitnessedHeadResponse(
        verdict=_VERDICTS.get(answer.status, wpb.WITNESS_VERDICT_REFUSED)
    )
    if answer.cosignature is not None:
        response.cosignature.CopyFrom(cosignature_pb(answer.cosignature))
    return response


def head_answer_of(response: wpb.GetWitnessedHeadResponse) -> WitnessAnswer:
    cosig = cosignature_of(response.cosignature) if response.HasField("cosignature") else None
    return WitnessAnswer(
        status=_STATUSES.get(response.verdict, REFUSED),
        known_count=cosig.entry_count if cosig else 0,
        known_hash=cosig.head_hash if cosig else "",
        cosignature=cosig,
    )
