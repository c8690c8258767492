"""The origin's gRPC channel to a counterpart acting as its audit witness.

:class:`PeerWitnessChannel` implements ``node.audit.witness.WitnessChannel``
over the counterpart's WitnessService, on the same mutual-TLS channel (and
revocation check) as every other call to that peer.
"""

from __future__ import annotations

import grpc
from spoor.federation.v1 import witness_pb2 as wpb
from spoor.federation.v1 import witness_pb2_grpc as wpb_grpc

from node.audit.witness import WitnessAnswer, WitnessCall
from node.rpc import witness_wire
from node.rpc.client import PeerClient


class PeerWitnessChannel:
    """WitnessCheckpoint and GetWitnessedHead with one counterpart over gRPC."""

    def __init__(self, client: PeerClient) -> None:
        self.client = client
        self.peer_id = client.peer.agency_id
        self.stub = wpb_grpc.WitnessServiceStub(client.channel)

    def witness(self, call: WitnessCall) -> WitnessAnswer:
        self.client.verify_server()
        try:
            response: wpb.WitnessCheckpointResponse = self.stub.WitnessCheckpoint(
                witness_wire.witness_request_pb(call),
                timeout=self.client.deadline,
                metadata=self.client.metadata,
            )
        except grpc.RpcError as err:
            raise self.client._fail(err) from None
        return witness_wire.witness_answer_of(response)

    def witnessed_head(self) -> WitnessAnswer:
        self.client.verify_server()
        try:
            response: wpb.GetWitnessedHeadResponse = self.stub.GetWitnessedHead(
                wpb.GetWitnessedHeadRequest(),
                timeout=self.client.deadline,
                metadata=self.client.metadata,
            )
        except grpc.RpcError as err:
            raise self.client._fail(err) from None
        return witness_wire.head_answer_of(response)

    def close(self) -> None:
        self.client.close()

    def __enter__(self) -> PeerWitnessChannel:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
