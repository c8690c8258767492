"""HeldSetupService: a thin adapter from proto to ``node.setups`` and back.

Like FederationService, every method authenticates the caller, maps errors
through the catalogue and writes one summary line (method, peer, status,
duration, counts) — never identifiers, keys or PSI bytes.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from contextlib import nullcontext
from datetime import UTC, datetime

import grpc
from spoor.federation.v1 import held_setups_pb2 as hs
from spoor.federation.v1 import held_setups_pb2_grpc as hs_grpc

from node.app.logs import get_logger
from node.errors import DeadlineTooShort, InvalidRequest, VersionMismatch
from node.match.context import request_context
from node.match.responder import PROTOCOL_VERSION, MatchCall
from node.psi import PSI_PROTOCOL_VERSION
from node.psi.messages import POINT_LENGTH
from node.records.keys import KEY_SCHEME_VERSION
from node.rpc.auth import Authenticator
from node.rpc.errors import classify, set_error
from node.rpc.quotas import PeerQuotas
from node.setups.responder import HeldCall, HeldResponder
from node.setups.views import ViewKey

log = get_logger("spoor.rpc")

MIN_SECONDS_FOR_LOOKUP = 0.05
# ErrorInfo reason a requester recognises as "sync, then retry" (see the catalogue).
STALE_REASON = "SETUPS_STALE"
_MAX_FIELD = 256


def _text(name: str, value: str) -> str:
    value = value.strip()
    if not value or len(value) > _MAX_FIELD:
        raise InvalidRequest(name, f"is required and at most {_MAX_FIELD} characters")
    return value


def _check_versions(request: hs.GetSetupManifestRequest) -> None:
    for what, ours, theirs in (
        ("protocol version", PROTOCOL_VERSION, request.protocol_version),
        ("key-scheme version", KEY_SCHEME_VERSION, request.key_scheme_version),
        ("PSI protocol version", PSI_PROTOCOL_VERSION, request.psi_protocol_version),
    ):
        if ours != theirs:
            raise VersionMismatch(what, ours, theirs)


def _wanted_shards(request: hs.SyncSetupsRequest, total: int) -> list[int]:
    wanted = list(dict.fromkeys(request.shard_ids))
    if len(wanted) > total:
        raise InvalidRequest("shard_ids", "asks for more shards than exist")
    return wanted


def _time_left(context: grpc.ServicerContext) -> float | None:
    remaining: float | None = context.time_remaining()
    if remaining is not None and remaining < MIN_SECONDS_FOR_LOOKUP:
        raise DeadlineTooShort(remaining)
    return remaining


def _held_call_of(peer: str, request: hs.MatchHeldRequest) -> HeldCall:
    """The domain call for a received held lookup; raises ``InvalidRequest`` naming the field."""
    return HeldCall(
        match=MatchCall(
            context=request_context(
                requester=peer,
                now=datetime.now(UTC),
                purpose=request.purpose,
                legal_basis=request.legal_basis,
                case_reference=request.case_reference,
                officer=request.requesting_officer,
            ),
            protocol_version=request.protocol_version,
            key_scheme_version=request.key_scheme_version,
            psi_protocol_version=request.psi_protocol_version,
            reveal_intersection=True,
            psi_request=request.psi_request,
            request_id=request.request_id,
            key_types=tuple(request.key_types),
        ),
        epoch_id=request.epoch_id,
        generation=request.generation,
    )


class HeldSetupServicer(hs_grpc.HeldSetupServiceServicer):
    """Serves manifests, shard syncs and held lookups for one node."""

    def __init__(
        self,
        held: HeldResponder,
        authenticator: Authenticator,
        quotas: PeerQuotas | None = None,
    ) -> None:
        self.held = held
        self.authenticator = authenticator
        # The same fair shares as FederationService (node.rpc.quotas), shared with it.
        self.quotas = quotas

    def _fail(self, method: str, context: grpc.ServicerContext, exc: BaseException) -> str:
        request_id = str(uuid.uuid4())
        error = classify(exc, request_id)
        if error.log_traceback:
            # Full detail stays in the local log; the caller gets the reference only.
            what = "error in rpc" if error.catalogued else "unhandled error in rpc"
            log.exception(what, rpc=method, error_type=error.error_type)
        set_error(context, error)
        return str(error.code.name)

    def _summary(self, method: str, peer: str, status: str, started: float, **kw: object) -> None:
        log.info(
            "rpc",
            method=method,
            peer_agency=peer,
            status=status,
            duration_ms=round((time.monotonic() - started) * 1000, 1),
            **kw,
        )

    def GetSetupManifest(  # noqa: N802 - gRPC method name
        self, request: hs.GetSetupManifestRequest, context: grpc.ServicerContext
    ) -> hs.GetSetupManifestResponse:
        started, peer, status = time.monotonic(), "-", "OK"
        try:
            peer = self.authenticator.identify(context)
            _check_versions(request)
            key = ViewKey(
                peer, _text("purpose", request.purpose), _text("legal_basis", request.legal_basis)
            )
            generation = self.held.service.manifest(key)
            return hs.GetSetupManifestResponse(
                epoch_id=generation.epoch.epoch_id,
                generation=generation.number,
                shard_salt=generation.epoch.shard_salt,
                base_shards=generation.layout.base,
                delta_shards=generation.layout.delta,
                shards=[
                    hs.ShardDigest(shard_id=s, digest=shard.digest, size_bytes=len(shard.setup))
                    for s, shard in generation.shards.items()
                ],
                policy_digest=generation.policy_digest,
                expires_at_unix=int(generation.epoch.expires_at),
            )
        except Exception as exc:
            status = self._fail("GetSetupManifest", context, exc)
            return hs.GetSetupManifestResponse()
        finally:
            self._summary("GetSetupManifest", peer, status, started)

    def SyncSetups(  # noqa: N802 - gRPC method name
        self, request: hs.SyncSetupsRequest, context: grpc.ServicerContext
    ) -> Iterator[hs.SyncSetupsResponse]:
        started, peer, status, sent = time.monotonic(), "-", "OK", 0
        try:
            peer = self.authenticator.identify(context)
            key = ViewKey(
                peer, _text("purpose", request.purpose), _text("legal_basis", request.legal_basis)
            )
            wanted = _wanted_shards(request, self.held.book.layout.total)
            for shard in self.held.service.shards(key, request.epoch_id, wanted):
                if not context.is_active():
                    break
                sent += len(shard.setup)
                yield hs.SyncSetupsResponse(
                    shard_id=shard.shard_id, digest=shard.digest, setup=shard.setup
                )
        except Exception as exc:
            status = self._fail("SyncSetups", context, exc)
        finally:
            self._summary("SyncSetups", peer, status, started, bytes_sent=sent)

    def MatchHeld(  # noqa: N802 - gRPC method name
        self, request: hs.MatchHeldRequest, context: grpc.ServicerContext
    ) -> hs.MatchHeldResponse:
        started, peer, status, summary = time.monotonic(), "-", "OK", {}
        try:
            peer = self.authenticator.identify(context)
            try:
                call = _held_call_of(peer, request)
                share = (
                    self.quotas.admit(peer, len(request.psi_request) // POINT_LENGTH)
                    if self.quotas is not None
                    else nullcontext()
                )
                with share:
                    reply = self.held.serve(call, time_left_s=_time_left(context))
            except Exception as exc:
                refusal = classify(exc, "")
                if refusal.audit_event is not None:
                    self.held.responder.record_refusal(
                        peer,
                        refusal.code.name,
                        refusal.error_type,
                        {**refusal.audit_details, "held_setups": True},
                        request_id=request.request_id,
                        purpose=request.purpose,
                        legal_basis=request.legal_basis,
                        event=refusal.audit_event,
                    )
                raise
            summary = {"elements": reply.answer.elements, "held": True}
            return hs.MatchHeldResponse(
                psi_response=reply.answer.psi_response,
                epoch_id=reply.answer.epoch_id,
                policy_digest=reply.answer.policy_digest,
                elements_charged=reply.answer.elements,
                budget_remaining=reply.budget_remaining,
            )
        except Exception as exc:
            status = self._fail("MatchHeld", context, exc)
            return hs.MatchHeldResponse()
        finally:
            self._summary("MatchHeld", peer, status, started, **summary)
