"""WitnessService: a thin adapter from witness.proto to node.audit.witness and back.

The caller is authenticated exactly as for FederationService (its certificate
names its agency); a node only witnesses its configured peers. One summary
line per call: method, peer, verdict, sizes — hashes and counts only.
"""

from __future__ import annotations

import time
import uuid

import grpc
from spoor.federation.v1 import witness_pb2 as wpb
from spoor.federation.v1 import witness_pb2_grpc as wpb_grpc

from node.app.logs import get_logger
from node.audit.witness import REFUSED, WitnessAnswer, WitnessService
from node.rpc import witness_wire
from node.rpc.auth import Authenticator
from node.rpc.errors import classify, set_error

log = get_logger("spoor.rpc")


class WitnessServicer(wpb_grpc.WitnessServiceServicer):
    """Serves WitnessCheckpoint and GetWitnessedHead for one node."""

    def __init__(self, service: WitnessService, authenticator: Authenticator) -> None:
        self.service = service
        self.authenticator = authenticator

    def WitnessCheckpoint(  # noqa: N802 - gRPC method name
        self, request: wpb.WitnessCheckpointRequest, context: grpc.ServicerContext
    ) -> wpb.WitnessCheckpointResponse:
        started = time.monotonic()
        peer = "-"
        try:
            peer = self.authenticator.identify(context)
            try:
                call = witness_wire.witness_call_of(request)
            except ValueError as exc:
                answer = WitnessAnswer(REFUSED, message=str(exc))
            else:
                answer = self.service.witness(peer, call)
        except Exception as exc:
            error = classify(exc, str(uuid.uuid4()))
            log.warning("rpc", method="WitnessCheckpoint", peer_agency=peer, status=error.code.name)
            set_error(context, error)
            return wpb.WitnessCheckpointResponse()
        log.info(
            "rpc",
            method="WitnessCheckpoint",
            peer_agency=peer,
            status="OK",
            verdict=answer.status,
            entry_count=int(request.checkpoint.entry_count),
            digests=len(request.body_digests),
            duration_ms=round((time.monotonic() - started) * 1000, 1),
        )
        return witness_wire.witness_response_pb(answer)

    def GetWitnessedHead(  # noqa: N802 - gRPC method name
        self, request: wpb.GetWitnessedHeadRequest, context: grpc.ServicerContext
    ) -> wpb.GetWitnessedHeadResponse:
        peer = "-"
        try:
            peer = self.authenticator.identify(context)
            answer = self.service.head(peer)
        except Exception as exc:
            error = classify(exc, str(uuid.uuid4()))
            log.warning("rpc", method="GetWitnessedHead", peer_agency=peer, status=error.code.name)
            set_error(context, error)
            return wpb.GetWitnessedHeadResponse()
        log.info("rpc", method="GetWitnessedHead", peer_agency=peer, status="OK")
        return witness_wire.head_response_pb(answer)
