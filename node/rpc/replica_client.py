"""A replica asks its siblings for epoch secrets (mutual TLS with the agency's own identity).

The channel trusts only the agency's own CA and presents the node's own
certificate, so it reaches only replicas of this agency, and they answer only
this agency's certificate. Addresses come from the store (each replica
advertises where it serves, the leader first).
"""

from __future__ import annotations

import threading

import grpc
from spoor.replicas.v1 import replicas_pb2 as rp
from spoor.replicas.v1 import replicas_pb2_grpc as rp_grpc

from node import pki
from node.app.config import NodeConfig
from node.app.home import NodeHome
from node.app.logs import get_logger
from node.psi.held import valid_key
from node.rpc.options import channel_options
from node.setups.epochs import PADDING_SECRET_BYTES, SHARD_SALT_BYTES, Epoch
from node.setups.replicated import ReplicaRole

log = get_logger("spoor.rpc")

#: A sibling that does not answer within this long is skipped (a lookup may be waiting).
DEADLINE_S = 3.0


def _well_formed(e: rp.EpochSecret) -> bool:
    """Whether a sibling's epoch secret has the shape this node makes (valid key, full secrets)."""
    return (
        valid_key(bytes(e.server_key))
        and len(e.padding_secret) == PADDING_SECRET_BYTES
        and len(e.shard_salt) == SHARD_SALT_BYTES
        and e.expires_at_unix > e.started_at_unix
    )


class SiblingSecrets:
    """Fetches epoch secrets from the other live replicas; one channel per sibling address."""

    def __init__(self, home: NodeHome, config: NodeConfig, role: ReplicaRole) -> None:
        self.home = home
        self.config = config
        self.role = role
        self._lock = threading.Lock()
        self._channels: dict[str, grpc.Channel] = {}

    def _stub(self, address: str) -> rp_grpc.ReplicaServiceStub:
        with self._lock:
            channel = self._channels.get(address)
            if channel is None:
                creds = grpc.ssl_channel_credentials(
                    # Only our own CA vouches for a sibling: a counterpart's server is refused.
                    root_certificates=self.home.ca_cert_path.read_bytes(),
                    private_key=self.home.node_key_path.read_bytes(),
                    certificate_chain=self.home.node_cert_path.read_bytes(),
                )
                options = channel_options(self.config)
                options.append(
                    ("grpc.ssl_target_name_override", pki.agency_dns_name(self.config.agency_id))
                )
                channel = self._channels[address] = grpc.secure_channel(address, creds, options)
        return rp_grpc.ReplicaServiceStub(channel)

    def __call__(self, epoch_ids: set[str]) -> list[Epoch]:
        """The secrets of ``epoch_ids`` that some sibling holds (the others left out)."""
        found: dict[str, Epoch] = {}
        for address in self.role.siblings():
            wanted = epoch_ids - set(found)
            if not wanted:
                break
            try:
                reply = self._stub(address).GetEpochSecrets(
                    rp.GetEpochSecretsRequest(epoch_ids=sorted(wanted)), timeout=DEADLINE_S
                )
            except grpc.RpcError as exc:
                code = exc.code() if hasattr(exc, "code") else None
                log.warning(
                    "sibling replica did not answer",
                    address=address,
                    code=code.name if code is not None else "UNKNOWN",
                )
                continue
            for e in reply.epochs:
                if e.epoch_id in wanted and not _well_formed(e):
                    log.warning("sibling replica sent a malformed epoch secret", address=address)
                    continue
                if e.epoch_id in wanted:
                    found[e.epoch_id] = Epoch(
                        epoch_id=e.epoch_id,
                        peer=e.peer,
                        view=e.view,
                        started_at=e.started_at_unix,
                        expires_at=e.expires_at_unix,
                        shard_salt=bytes(e.shard_salt),
                        _key=bytes(e.server_key),
                        _padding_secret=bytes(e.padding_secret),
                    )
        return list(found.values())

    def close(self) -> None:
        """Close every sibling channel."""
        with self._lock:
            channels, self._channels = list(self._channels.values()), {}
        for channel in channels:
            channel.close()
