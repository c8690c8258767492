"""ReplicaService: a replica hands the epoch secrets it holds to its siblings.

Served on the federation port; :class:`node.rpc.gate.PeerGate` lets through
only callers presenting this agency's own certificate (chaining to its own
CA) and refuses and audits everyone else, counterparts included. The answer
holds secrets: it is never logged, and the summary line counts epochs only.
"""

from __future__ import annotations

import time
import uuid

import grpc
from spoor.replicas.v1 import replicas_pb2 as rp
from spoor.replicas.v1 import replicas_pb2_grpc as rp_grpc

from node.app.logs import get_logger
from node.errors import InvalidRequest
from node.rpc.errors import classify, set_error
from node.setups.replicated import ReplicatedBook

log = get_logger("spoor.rpc")

#: No replica publishes more epochs than this at once (two per counterpart and context).
MAX_EPOCHS_PER_CALL = 4096


def _wanted(request: rp.GetEpochSecretsRequest) -> set[str]:
    if len(request.epoch_ids) > MAX_EPOCHS_PER_CALL:
        raise InvalidRequest("epoch_ids", f"names at most {MAX_EPOCHS_PER_CALL} epochs")
    return set(request.epoch_ids)


class ReplicaServicer(rp_grpc.ReplicaServiceServicer):
    """Answers a sibling replica's request for epoch secrets."""

    def __init__(self, book: ReplicatedBook) -> None:
        self.book = book

    def GetEpochSecrets(  # noqa: N802 - gRPC method name
        self, request: rp.GetEpochSecretsRequest, context: grpc.ServicerContext
    ) -> rp.GetEpochSecretsResponse:
        started, status, sent = time.monotonic(), "OK", 0
        try:
            epochs = self.book.held_secrets(_wanted(request))
            sent = len(epochs)
            return rp.GetEpochSecretsResponse(
                epochs=[
                    rp.EpochSecret(
                        epoch_id=e.epoch_id,
                        peer=e.peer,
                        view=e.view,
                        started_at_unix=e.started_at,
                        expires_at_unix=e.expires_at,
                        shard_salt=e.shard_salt,
                        server_key=e.key,
                        padding_secret=e.padding_secret,
                    )
                    for e in epochs
                ]
            )
        except Exception as exc:
            error = classify(exc, str(uuid.uuid4()))
            if error.log_traceback:
                log.exception("error in rpc", rpc="GetEpochSecrets", error_type=error.error_type)
            set_error(context, error)
            status = str(error.code.name)
            return rp.GetEpochSecretsResponse()
        finally:
            log.info(
                "rpc",
                method="GetEpochSecrets",
                peer_agency="(sibling replica)",
                status=status,
                epochs=sent,
                duration_ms=round((time.monotonic() - started) * 1000, 1),
            )
