"""Calls to a counterpart's node: mutual TLS, deadlines, rich errors."""

from __future__ import annotations

from dataclasses import dataclass

import grpc
from grpc_status import rpc_status
from spoor.federation.v1 import federation_pb2 as pb
from spoor.federation.v1 import federation_pb2_grpc as pb_grpc

from node.config import NodeConfig
from node.home import NodeHome
from node.peers import Peer
from node.rpc.auth import AGENCY_METADATA_KEY
from node.rpc.errors import details_of
from node.rpc.server import channel_options


class PeerCallFailed(Exception):
    """A call to a counterpart failed; carries its status and public message."""

    def __init__(self, peer: str, code: str, message: str, details: list[str]) -> None:
        self.peer = peer
        self.code = code
        self.message = message
        self.details = details
        extra = f" [{'; '.join(details)}]" if details else ""
        super().__init__(f"{peer}: {code}: {message}{extra}")


@dataclass(frozen=True)
class PeerDescription:
    """A counterpart's Describe answer."""

    agency_id: str
    country: str
    protocol_version: int
    key_scheme_version: int
    capabilities: tuple[str, ...]
    policy_digest: str
    max_elements_per_request: int
    software_version: str


class PeerClient:
    """A channel to one counterpart's node."""

    def __init__(
        self, home: NodeHome, config: NodeConfig, peer: Peer, *, insecure: bool = False
    ) -> None:
        self.peer = peer
        self.deadline = config.limits.rpc_deadline_seconds
        self.metadata: tuple[tuple[str, str], ...] = ()
        options = channel_options(config)
        if insecure:
            self.channel = grpc.insecure_channel(peer.address, options=options)
            self.metadata = ((AGENCY_METADATA_KEY, config.agency_id),)
        else:
            creds = grpc.ssl_channel_credentials(
                # Only the CA pinned for this peer can vouch for its server certificate.
                root_certificates=peer.ca_pem.encode("ascii"),
                private_key=home.node_key_path.read_bytes(),
                certificate_chain=home.node_cert_path.read_bytes(),
            )
            self.channel = grpc.secure_channel(peer.address, creds, options=options)
        self.stub = pb_grpc.FederationServiceStub(self.channel)

    def close(self) -> None:
        self.channel.close()

    def __enter__(self) -> PeerClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _fail(self, err: grpc.RpcError) -> PeerCallFailed:
        code = err.code().name if isinstance(err, grpc.Call) else "UNKNOWN"
        message = err.details() if isinstance(err, grpc.Call) else str(err)
        details: list[str] = []
        if isinstance(err, grpc.Call):
            try:
                status = rpc_status.from_call(err)
            except ValueError:
                status = None
            if status is not None:
                details = details_of(status)
        if code == "UNAVAILABLE":
            message = (
                f"{message or 'unreachable'} — check the peer's address, that its node is "
                "running, and that each side pins the other's CA"
            )
        return PeerCallFailed(self.peer.agency_id, code, message or "", details)

    def describe(self, timeout: float | None = None) -> PeerDescription:
        try:
            resp = self.stub.Describe(
                pb.DescribeRequest(), timeout=timeout or self.deadline, metadata=self.metadata
            )
        except grpc.RpcError as err:
            raise self._fail(err) from None
        return PeerDescription(
            agency_id=resp.agency_id,
            country=resp.country,
            protocol_version=resp.protocol_version,
            key_scheme_version=resp.key_scheme_version,
            capabilities=tuple(resp.capabilities),
            policy_digest=resp.policy_digest,
            max_elements_per_request=resp.max_elements_per_request,
            software_version=resp.software_version,
        )

    def match(self, request: pb.MatchRequest, timeout: float | None = None) -> pb.MatchResponse:
        try:
            response: pb.MatchResponse = self.stub.Match(
                request, timeout=timeout or self.deadline, metadata=self.metadata
            )
        except grpc.RpcError as err:
            raise self._fail(err) from None
        return response

    def disclose(
        self, request: pb.DiscloseRequest, timeout: float | None = None
    ) -> pb.DiscloseResponse:
        try:
            response: pb.DiscloseResponse = self.stub.Disclose(
                request, timeout=timeout or self.deadline, metadata=self.metadata
            )
        except grpc.RpcError as err:
            raise self._fail(err) from None
        return response

    def get_disclosure(
        self, request: pb.GetDisclosureRequest, timeout: float | None = None
    ) -> pb.GetDisclosureResponse:
        try:
            response: pb.GetDisclosureResponse = self.stub.GetDisclosure(
                request, timeout=timeout or self.deadline, metadata=self.metadata
            )
        except grpc.RpcError as err:
            raise self._fail(err) from None
        return response
