"""Calls to a counterpart's node: mutual TLS, deadlines, rich errors.

:class:`PeerClient` speaks proto; the domain reaches a counterpart through the
gRPC-free channels built on it (``node.rpc.channels``). Messages are mapped in
``node.rpc.wire`` only.
"""

from __future__ import annotations

import socket
import ssl

import grpc
from grpc_status import rpc_status
from spoor.federation.v1 import federation_pb2 as pb
from spoor.federation.v1 import federation_pb2_grpc as pb_grpc

from node import bounds, pki
from node.app.config import NodeConfig
from node.app.home import NodeHome
from node.match.limits import check_description
from node.peers import Peer
from node.peers.channel import PeerCallFailed, PeerDescription
from node.rpc import wire
from node.rpc.auth import AGENCY_METADATA_KEY
from node.rpc.errors import details_of
from node.rpc.options import channel_options

__all__ = ["PeerCallFailed", "PeerClient", "PeerDescription"]


class PeerClient:
    """A channel to one counterpart's node."""

    def __init__(
        self, home: NodeHome, config: NodeConfig, peer: Peer, *, insecure: bool = False
    ) -> None:
        self.peer = peer
        self._home = home
        self._verified = False
        self.deadline = config.limits.rpc_deadline_seconds
        self.metadata: tuple[tuple[str, str], ...] = ()
        options = channel_options(config)
        if insecure:
            self.channel = grpc.insecure_channel(peer.address, options=options)
            self.metadata = ((AGENCY_METADATA_KEY, config.agency_id),)
            self._verified = True  # plaintext: nothing to verify (debugging only)
        else:
            creds = grpc.ssl_channel_credentials(
                # Only the CA pinned for this peer can vouch for its server certificate.
                root_certificates=peer.ca_pem.encode("ascii"),
                private_key=home.node_key_path.read_bytes(),
                certificate_chain=home.node_cert_path.read_bytes(),
            )
            # The server must present a certificate issued for the agency we call: its
            # agency DNS name is what the handshake verifies, not the address we dial.
            options.append(("grpc.ssl_target_name_override", pki.agency_dns_name(peer.agency_id)))
            self.channel = grpc.secure_channel(peer.address, creds, options=options)
        self.stub = pb_grpc.FederationServiceStub(self.channel)

    def verify_server(self, timeout: float = 10.0) -> None:
        """Check the counterpart's certificate ourselves before anything is sent.

        Python gRPC checks the chain and the name but has no revocation support,
        so one TLS handshake with the same credentials fetches the server
        certificate and the node checks chain, validity, agency id and the
        peer's CRL (``spoor peers add --crl``). Raises :class:`PeerCallFailed`.
        """
        if self._verified:
            return
        host, _, port = self.peer.address.rpartition(":")
        context = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cadata=self.peer.ca_pem)
        context.load_cert_chain(self._home.node_cert_path, self._home.node_key_path)
        context.check_hostname = True
        name = pki.agency_dns_name(self.peer.agency_id)
        try:
            with (
                socket.create_connection((host.strip("[]"), int(port)), timeout=timeout) as raw,
                context.wrap_socket(raw, server_hostname=name) as tls,
            ):
                der = tls.getpeercert(binary_form=True)
        except (OSError, ssl.SSLError) as exc:
            raise PeerCallFailed(
                self.peer.agency_id,
                "UNAVAILABLE",
                f"TLS handshake with {self.peer.address} failed ({exc}) — check the address, "
                "that the node runs, and that it holds a certificate for this agency from the "
                "pinned CA",
                [],
            ) from None
        if der is None:
            raise PeerCallFailed(self.peer.agency_id, "UNAVAILABLE", "no server certificate", [])
        try:
            pki.check_peer_certificate(
                der,
                self.peer.ca_pem.encode("ascii"),
                crl_pem=self.peer.crl_pem.encode("ascii") if self.peer.crl_pem else None,
                expected_agency_id=self.peer.agency_id,
            )
        except pki.CertificateError as exc:
            raise PeerCallFailed(
                self.peer.agency_id,
                "UNAUTHENTICATED",
                f"the counterpart's certificate is refused: {exc}; nothing was sent",
                [],
            ) from None
        self._verified = True

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
        # The message and details are the counterpart's text: bounded and made printable.
        message = bounds.printable(message or "", bounds.MAX_PEER_MESSAGE)
        details = [bounds.printable(d, bounds.MAX_PEER_MESSAGE) for d in details[:10]]
        if code == "UNAVAILABLE":
            message = (
                f"{message or 'unreachable'} — check the peer's address, that its node is "
                "running, and that each side pins the other's CA"
            )
        return PeerCallFailed(self.peer.agency_id, code, message or "", details)

    def describe(self, timeout: float | None = None) -> PeerDescription:
        self.verify_server()
        try:
            resp = self.stub.Describe(
                pb.DescribeRequest(), timeout=timeout or self.deadline, metadata=self.metadata
            )
        except grpc.RpcError as err:
            raise self._fail(err) from None
        check_description(
            self.peer.agency_id,
            agency_id=resp.agency_id,
            country=resp.country,
            capabilities=resp.capabilities,
            policy_digest=resp.policy_digest,
            software_version=resp.software_version,
        )
        return wire.description_of(resp)

    def match(self, request: pb.MatchRequest, timeout: float | None = None) -> pb.MatchResponse:
        self.verify_server()
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
        self.verify_server()
        try:
            response: pb.DiscloseResponse = self.stub.Disclose(
                request, timeout=timeout or self.deadline, metadata=self.metadata
            )
        except grpc.RpcError as err:
            raise self._fail(err) from None
        return response

    def open_disclosure(
        self, request: pb.OpenDisclosureRequest, timeout: float | None = None
    ) -> pb.OpenDisclosureResponse:
        self.verify_server()
        try:
            response: pb.OpenDisclosureResponse = self.stub.OpenDisclosure(
                request, timeout=timeout or self.deadline, metadata=self.metadata
            )
        except grpc.RpcError as err:
            raise self._fail(err) from None
        return response

    def get_disclosure(
        self, request: pb.GetDisclosureRequest, timeout: float | None = None
    ) -> pb.GetDisclosureResponse:
        self.verify_server()
        try:
            response: pb.GetDisclosureResponse = self.stub.GetDisclosure(
                request, timeout=timeout or self.deadline, metadata=self.metadata
            )
        except grpc.RpcError as err:
            raise self._fail(err) from None
        return response
