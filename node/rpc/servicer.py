"""FederationService: a thin adapter from proto to the domain and back.

Every method authenticates the caller, binds the request's log context once,
decodes the request (``node.rpc.wire``), runs the domain call, encodes the
answer, maps any error through the catalogue, and writes one summary line
(method, peer agency, status, duration, set sizes) — never identifiers,
record contents or PSI bytes.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import grpc
import structlog
from spoor.federation.v1 import federation_pb2 as pb
from spoor.federation.v1 import federation_pb2_grpc as pb_grpc

from node.app.config import LimitsConfig, ServerConfig
from node.app.logs import get_logger
from node.disclosure import DisclosureResponder
from node.errors import DeadlineTooShort, NotAPeer, ServiceUnavailable
from node.match.responder import (
    CAPABILITIES,
    PROTOCOL_VERSION,
    Responder,
    key_types_of,
    record_refusal,
)
from node.peers.channel import PeerDescription
from node.psi.messages import POINT_LENGTH
from node.records.schemes import advertised_schemes
from node.rpc import wire
from node.rpc.auth import Authenticator, RefusalAudit, claimed_agency
from node.rpc.errors import classify, set_error
from node.rpc.quotas import PeerQuotas, QuotaLimits

log = get_logger("spoor.rpc")

# The server refuses to start PSI work it cannot finish before the caller's deadline.
MIN_SECONDS_FOR_PSI = 0.5
#: The audit event of a refused Disclose or OpenDisclosure call.
DISCLOSE_REFUSED = "disclose.refused"

Resp = TypeVar("Resp")


def _require_time_for_psi(remaining: float | None) -> None:
    if remaining is not None and remaining < MIN_SECONDS_FOR_PSI:
        raise DeadlineTooShort(remaining)


@dataclass(frozen=True)
class NodeIdentity:
    """What Describe reports about this node."""

    agency_id: str
    country: str
    software_version: str
    max_elements_per_request: int


class FederationServicer(pb_grpc.FederationServiceServicer):
    """Serves Describe and Match for one node."""

    def __init__(
        self,
        identity: NodeIdentity,
        responder: Responder,
        authenticator: Authenticator,
        disclosure: DisclosureResponder | None = None,
        *,
        quotas: PeerQuotas | None = None,
        refusals: RefusalAudit | None = None,
    ) -> None:
        self.identity = identity
        self.responder = responder
        self.authenticator = authenticator
        self.disclosure = disclosure
        self.refusals = refusals
        defaults = LimitsConfig()
        self.quotas = quotas or PeerQuotas(
            QuotaLimits.for_server(
                ServerConfig().max_workers,
                defaults.max_calls_in_flight_per_peer,
                defaults.max_elements_in_flight_per_peer,
            )
        )

    def _handle(
        self,
        method: str,
        context: grpc.ServicerContext,
        empty: Resp,
        body: Callable[[str, dict[str, object]], Resp],
        elements: int = 0,
    ) -> Resp:
        request_id = str(uuid.uuid4())
        started = time.monotonic()
        summary: dict[str, object] = {}
        peer = "-"
        status = "OK"
        level = "info"
        structlog.contextvars.bind_contextvars(rpc=method, rpc_id=request_id)
        try:
            peer = self.authenticator.identify(context)
            structlog.contextvars.bind_contextvars(peer_agency=peer)
            with self.quotas.admit(peer, elements):
                return body(peer, summary)
        except Exception as exc:
            if isinstance(exc, NotAPeer):
                summary["peer_address"] = _peer_address(context)
                self._refused_caller(context, exc)
            error = classify(exc, request_id)
            status, level = error.code.name, error.log_level
            if error.catalogued:
                summary.update(
                    reason=error.error_type,
                    error=error.message,
                    error_fields=dict(error.log_fields),
                )
            if error.log_traceback:
                # Full detail stays in the local log; the caller gets the reference only.
                what = "error in rpc" if error.catalogued else "unhandled error in rpc"
                log.exception(what, error_type=error.error_type)
            set_error(context, error)
            return empty
        finally:
            getattr(log, level)(
                "rpc",
                method=method,
                peer_agency=peer,
                status=status,
                duration_ms=round((time.monotonic() - started) * 1000, 1),
                **summary,
            )
            structlog.contextvars.unbind_contextvars("rpc", "rpc_id", "peer_agency")

    def _refused_caller(self, context: grpc.ServicerContext, exc: NotAPeer) -> None:
        """Audit (aggregated) a caller whose certificate passed the handshake but not the pin."""
        if self.refusals is None or not context.auth_context().get("x509_pem_cert"):
            return
        self.refusals.refused(claimed_agency(context), type(exc).__name__, context.peer())

    def Describe(  # noqa: N802 - gRPC method name
        self, request: pb.DescribeRequest, context: grpc.ServicerContext
    ) -> pb.DescribeResponse:
        def body(peer: str, summary: dict[str, object]) -> pb.DescribeResponse:
            return wire.describe_response_pb(
                PeerDescription(
                    agency_id=self.identity.agency_id,
                    country=self.identity.country,
                    protocol_version=PROTOCOL_VERSION,
                    key_scheme_version=min(advertised_schemes()),
                    key_scheme_versions=advertised_schemes(),
                    capabilities=CAPABILITIES,
                    policy_digest=self.responder.policies.current().digest,
                    max_elements_per_request=self.identity.max_elements_per_request,
                    software_version=self.identity.software_version,
                    vocabulary=self.responder.vocabulary_for(peer),
                )
            )

        return self._handle("Describe", context, pb.DescribeResponse(), body)

    def Match(  # noqa: N802 - gRPC method name
        self, request: pb.MatchRequest, context: grpc.ServicerContext
    ) -> pb.MatchResponse:
        def body(peer: str, summary: dict[str, object]) -> pb.MatchResponse:
            try:
                call = wire.match_call_of(peer, request)
                remaining = context.time_remaining()
                _require_time_for_psi(remaining)
                reply = self.responder.serve(
                    call, time_left_s=remaining, should_stop=lambda: not context.is_active()
                )
            except Exception as exc:
                refusal = classify(exc, "")
                if refusal.audit_event is not None:
                    self.responder.record_refusal(
                        peer,
                        refusal.code.name,
                        refusal.error_type,
                        refusal.audit_details,
                        request_id=request.request_id,
                        purpose=request.purpose,
                        legal_basis=request.legal_basis,
                        event=refusal.audit_event,
                    )
                raise
            summary.update(
                elements=reply.elements_charged,
                reveal="intersection" if reply.reveal_intersection else "cardinality",
                budget_remaining=reply.budget_remaining,
            )
            return wire.match_response_pb(reply)

        # An upper bound on the points the request can hold, without parsing it.
        elements = len(request.psi_request) // POINT_LENGTH
        return self._handle("Match", context, pb.MatchResponse(), body, elements)

    @contextmanager
    def _refusals_audited(
        self, peer: str, request: pb.DiscloseRequest | pb.OpenDisclosureRequest
    ) -> Iterator[None]:
        """Audit a refused Disclose or OpenDisclosure (malformed, budget, version) as
        ``disclose.refused`` with the error's audit fields, as Match refusals are."""
        try:
            yield
        except Exception as exc:
            refusal = classify(exc, "")
            if refusal.audit_event is not None:
                record_refusal(
                    Path(str(self._disclosure_service().db_path)),
                    peer,
                    refusal.code.name,
                    refusal.error_type,
                    refusal.audit_details,
                    request_id=request.request_id,
                    purpose=request.purpose,
                    legal_basis=request.legal_basis,
                    event=DISCLOSE_REFUSED,
                )
            raise

    def _disclosure_service(self) -> DisclosureResponder:
        if self.disclosure is None:
            raise ServiceUnavailable("this node does not serve disclosure requests")
        return self.disclosure

    def Disclose(  # noqa: N802 - gRPC method name
        self, request: pb.DiscloseRequest, context: grpc.ServicerContext
    ) -> pb.DiscloseResponse:
        def body(peer: str, summary: dict[str, object]) -> pb.DiscloseResponse:
            service = self._disclosure_service()
            # Counts only in the summary line, never keys or contents.
            summary["keys"] = len(request.match_keys)
            summary["key_types"] = key_types_of(request.match_keys)
            summary["private"] = request.HasField("private_selection")
            with self._refusals_audited(peer, request):
                answer = service.disclose(wire.disclosure_call_of(peer, request))
            summary.update(answer.counts())
            return wire.disclose_response_pb(answer)

        return self._handle(
            "Disclose", context, pb.DiscloseResponse(), body, len(request.match_keys)
        )

    def OpenDisclosure(  # noqa: N802 - gRPC method name
        self, request: pb.OpenDisclosureRequest, context: grpc.ServicerContext
    ) -> pb.OpenDisclosureResponse:
        def body(peer: str, summary: dict[str, object]) -> pb.OpenDisclosureResponse:
            service = self._disclosure_service()
            with self._refusals_audited(peer, request):
                psi_request = service.open_selection(wire.open_call_of(peer, request))
            summary["request_bytes"] = len(psi_request)
            return wire.open_disclosure_response_pb(psi_request, service.selections.ttl_s)

        return self._handle("OpenDisclosure", context, pb.OpenDisclosureResponse(), body)

    def GetDisclosure(  # noqa: N802 - gRPC method name
        self, request: pb.GetDisclosureRequest, context: grpc.ServicerContext
    ) -> pb.GetDisclosureResponse:
        def body(peer: str, summary: dict[str, object]) -> pb.GetDisclosureResponse:
            answer = self._disclosure_service().get_disclosure(
                peer, request.disclosure_id, include_fields=request.include_released_fields
            )
            summary.update(answer.counts())
            summary["delivered"] = bool(request.include_released_fields)
            return wire.get_disclosure_response_pb(answer)

        return self._handle("GetDisclosure", context, pb.GetDisclosureResponse(), body)


def _peer_address(context: grpc.ServicerContext) -> str:
    """Where a refused call came from (``ipv4:10.0.0.7:51234``), for the log line."""
    try:
        return str(context.peer())[:128]
    except NotImplementedError:  # a context without a transport (in-process test servers)
        return ""
