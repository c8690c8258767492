"""Calls to a counterpart's HeldSetupService over an existing PeerClient channel.

``GrpcHeldChannel`` implements ``node.match.held_requester.HeldChannel``: it
maps the proto messages to the domain's and a "sync first" answer to
``SetupsStale``. It reuses the PeerClient's verified mutual-TLS channel, so
a node keeps one pooled connection per counterpart for both services.
"""

from __future__ import annotations

from collections.abc import Iterator

import grpc
from google.rpc import error_details_pb2
from grpc_status import rpc_status
from spoor.federation.v1 import held_setups_pb2 as hs
from spoor.federation.v1 import held_setups_pb2_grpc as hs_grpc

from node.match.held import Manifest
from node.match.held_requester import HeldAnswer, HeldMatch
from node.match.responder import PROTOCOL_VERSION
from node.psi import PSI_PROTOCOL_VERSION
from node.psi.errors import MalformedPsiMessage
from node.records.keys import KEY_SCHEME_VERSION
from node.rpc.client import PeerClient
from node.rpc.held_servicer import STALE_REASON
from node.setups.errors import SetupsStale
from node.setups.shards import ShardLayout
from node.setups.views import ViewKey

# A sync may stream many shards; it gets more time than one call.
SYNC_DEADLINE_FACTOR = 10


def _is_stale(err: grpc.RpcError) -> bool:
    if not isinstance(err, grpc.Call) or err.code() != grpc.StatusCode.FAILED_PRECONDITION:
        return False
    try:
        status = rpc_status.from_call(err)
    except ValueError:
        return False
    if status is None:
        return False
    for item in status.details:
        if item.Is(error_details_pb2.ErrorInfo.DESCRIPTOR):
            info = error_details_pb2.ErrorInfo()
            item.Unpack(info)
            if info.reason == STALE_REASON:
                return True
    return False


class GrpcHeldChannel:
    """HeldSetupService of one counterpart, through its PeerClient."""

    def __init__(self, client: PeerClient) -> None:
        self.client = client
        self.stub = hs_grpc.HeldSetupServiceStub(client.channel)

    def _call_failed(self, err: grpc.RpcError) -> Exception:
        if _is_stale(err):
            return SetupsStale("the counterpart asked for a sync")
        return self.client._fail(err)

    def manifest(self, purpose: str, legal_basis: str) -> Manifest:
        self.client.verify_server()
        try:
            resp: hs.GetSetupManifestResponse = self.stub.GetSetupManifest(
                hs.GetSetupManifestRequest(
                    protocol_version=PROTOCOL_VERSION,
                    key_scheme_version=KEY_SCHEME_VERSION,
                    psi_protocol_version=PSI_PROTOCOL_VERSION,
                    purpose=purpose,
                    legal_basis=legal_basis,
                ),
                timeout=self.client.deadline,
                metadata=self.client.metadata,
            )
        except grpc.RpcError as err:
            raise self._call_failed(err) from None
        try:
            layout = ShardLayout(resp.base_shards, resp.delta_shards)
        except ValueError:
            raise MalformedPsiMessage("manifest.shards", "announces an impossible layout") from None
        digests: dict[int, str] = {}
        for shard in resp.shards:
            if shard.shard_id in digests:
                raise MalformedPsiMessage("manifest.shards", "lists a shard twice")
            digests[shard.shard_id] = shard.digest
        manifest = Manifest(
            peer=self.client.peer.agency_id,
            view=ViewKey(self.client.peer.agency_id, purpose, legal_basis).name,
            epoch_id=resp.epoch_id,
            generation=resp.generation,
            shard_salt=resp.shard_salt,
            layout=layout,
            digests=digests,
            policy_digest=resp.policy_digest[:128],
            expires_at=float(resp.expires_at_unix),
        )
        manifest.check()
        return manifest

    def fetch(
        self, purpose: str, legal_basis: str, epoch_id: str, shard_ids: list[int]
    ) -> Iterator[tuple[int, str, bytes]]:
        self.client.verify_server()
        try:
            stream = self.stub.SyncSetups(
                hs.SyncSetupsRequest(
                    purpose=purpose, legal_basis=legal_basis, epoch_id=epoch_id,
                    shard_ids=shard_ids,
                ),
                timeout=self.client.deadline * SYNC_DEADLINE_FACTOR,
                metadata=self.client.metadata,
            )  # fmt: skip
            for item in stream:
                yield item.shard_id, item.digest, bytes(item.setup)
        except grpc.RpcError as err:
            raise self._call_failed(err) from None

    def match_held(self, call: HeldMatch) -> HeldAnswer:
        self.client.verify_server()
        try:
            resp: hs.MatchHeldResponse = self.stub.MatchHeld(
                hs.MatchHeldRequest(
                    protocol_version=PROTOCOL_VERSION,
                    key_scheme_version=KEY_SCHEME_VERSION,
                    psi_protocol_version=PSI_PROTOCOL_VERSION,
                    purpose=call.context.purpose,
                    legal_basis=call.context.legal_basis,
                    case_reference=call.context.case_reference,
                    requesting_officer=call.context.officer,
                    epoch_id=call.epoch_id,
                    generation=call.generation,
                    psi_request=call.psi_request,
                    key_types=list(call.key_types),
                    request_id=call.request_id,
                ),
                timeout=self.client.deadline,
                metadata=self.client.metadata,
            )
        except grpc.RpcError as err:
            raise self._call_failed(err) from None
        return HeldAnswer(
            psi_response=bytes(resp.psi_response),
            epoch_id=resp.epoch_id,
            policy_digest=resp.policy_digest[:128],
            elements_charged=resp.elements_charged,
            budget_remaining=resp.budget_remaining,
        )
