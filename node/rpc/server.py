"""The node's gRPC server: one factory, a comment on every option.

Only the server itself lives here; building a whole node from its home
(store, policy, PSI pool, background jobs) is :mod:`node.app.node`, which
:func:`build_node` calls with this module's :func:`start_server`.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent import futures
from dataclasses import dataclass, field
from importlib.metadata import version
from pathlib import Path
from typing import TYPE_CHECKING, Any

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection
from spoor.federation.v1 import federation_pb2, federation_pb2_grpc, witness_pb2_grpc

from node import peers, pki, store
from node.app.config import NodeConfig
from node.app.home import NodeHome
from node.app.logs import get_logger
from node.app.node import RunningNode
from node.app.node import build_node as build_app_node
from node.audit.witness import WitnessService
from node.disclosure import DisclosureResponder
from node.match.responder import Responder
from node.ops.metrics import NodeMetrics
from node.rpc.auth import (
    Authenticator,
    CertificateAuthenticator,
    InsecureAuthenticator,
    RefusalAudit,
)
from node.rpc.client import PeerClient
from node.rpc.gate import PeerGate
from node.rpc.metrics import MetricsInterceptor
from node.rpc.options import channel_options
from node.rpc.quotas import PeerQuotas, QuotaLimits
from node.rpc.refusals import AggregatedRefusals
from node.rpc.servicer import FederationServicer, NodeIdentity
from node.rpc.witness_client import PeerWitnessChannel
from node.rpc.witness_servicer import WitnessServicer

if TYPE_CHECKING:
    from node.rpc.held_node import HeldNode

log = get_logger("spoor.server")

SERVICE_NAME = federation_pb2.DESCRIPTOR.services_by_name["FederationService"].full_name


#: How long a client may take to complete the TLS handshake.
HANDSHAKE_TIMEOUT_MS = 20_000


def server_options(config: NodeConfig) -> list[tuple[str, Any]]:
    age_ms = int(config.server.max_connection_age_seconds * 1000)
    return [
        *channel_options(config),
        # Refuse to share the port: a second node on the same address must fail loudly.
        ("grpc.so_reuseport", 0),
        # Accept client pings no more often than every 30 s (matches keepalive above).
        ("grpc.http2.min_ping_interval_without_data_ms", 30_000),
        # Recycle connections so rotated certificates and revocations apply to every peer.
        ("grpc.max_connection_age_ms", age_ms),
        # Give in-flight calls on a recycled connection time to finish.
        ("grpc.max_connection_age_grace_ms", 30_000),
        # Streams one connection may hold open: a flood on one connection stays bounded.
        ("grpc.max_concurrent_streams", 16),
        # A connection that has not finished its TLS handshake in 20 s is closed (default
        # 120 s): idle connections opened by the hundred cannot hold the port's resources.
        ("grpc.server_handshake_timeout_ms", HANDSHAKE_TIMEOUT_MS),
    ]


# (pinned peers and their CAs, modification times of the node key and certificate)
_Stamp = tuple[tuple[tuple[str, str], ...], tuple[int, ...]]


class _TlsMaterial:
    """Server certificate configuration, re-read when peers or the node certificate change."""

    def __init__(self, home: NodeHome) -> None:
        self.home = home
        self._stamp: _Stamp | None = None
        self._lock = threading.Lock()

    def _current_stamp(self) -> _Stamp:
        with store.opened(self.home.db_path, check_schema=False) as conn:
            rows = tuple((p.agency_id, p.ca_pem) for p in peers.list_peers(conn))
        files = tuple(
            p.stat().st_mtime_ns for p in (self.home.node_cert_path, self.home.node_key_path)
        )
        return (rows, files)

    def build(self) -> Any:
        with store.opened(self.home.db_path, check_schema=False) as conn:
            peer_cas = [p.ca_pem for p in peers.list_peers(conn)]
        # The handshake accepts certificates from any pinned peer CA (and our own, so
        # the bundle is never empty); the per-agency pin is checked on every call.
        bundle = "".join([self.home.ca_cert_path.read_text(encoding="ascii"), *peer_cas]).encode(
            "ascii"
        )
        return grpc.ssl_server_certificate_configuration(
            [(self.home.node_key_path.read_bytes(), self.home.node_cert_path.read_bytes())],
            root_certificates=bundle,
        )

    def fetch(self) -> Any:
        """Called by gRPC on each new handshake; returns None when nothing changed."""
        with self._lock:
            try:
                stamp = self._current_stamp()
                if stamp == self._stamp:
                    return None
                built = self.build()
            except Exception:  # keep the previous configuration rather than fail handshakes
                log.exception("could not reload TLS material; keeping the previous one")
                return None
            self._stamp = stamp
            log.info("tls material loaded", peers=len(stamp[0]))
            return built

    def credentials(self) -> grpc.ServerCredentials:
        initial = self.build()
        self._stamp = self._current_stamp()
        return grpc.dynamic_ssl_server_credentials(
            initial, self.fetch, require_client_authentication=True
        )


@dataclass
class GrpcServer:
    """A started gRPC server and its health service."""

    server: grpc.Server
    port: int
    health: health.HealthServicer
    # Held setups and the local lookup API (None when [setups] enabled is false).
    held: HeldNode | None = None
    # Aggregated refusal audits: what they counted but did not write yet is written on drain.
    refusals: tuple[AggregatedRefusals, ...] = ()
    # The home's database, whose pooled connections close after the last call.
    db_path: Path | None = None
    _draining: threading.Event = field(default_factory=threading.Event)

    def serving(self) -> bool:
        """True from start until draining begins (what the health service answers)."""
        return not self._draining.is_set()

    def drain(self, grace_seconds: float) -> None:
        """Health NOT_SERVING, stop accepting, let in-flight calls finish."""
        self._draining.set()
        self.health.enter_graceful_shutdown()
        if self.held is not None:
            self.held.stop()
        self.server.stop(grace_seconds).wait()
        for refusals in self.refusals:
            refusals.flush()  # before the pooled connections close: it writes to the store
        if self.db_path is not None:
            store.close_pooled(self.db_path)

    def wait(self) -> None:
        self.server.wait_for_termination()


def _authenticator(
    home: NodeHome, insecure: bool, factory: Callable[[Path], Authenticator] | None
) -> Authenticator:
    """Who a call is from: the test's authenticator, plaintext metadata, or the certificate."""
    if factory is not None:
        return factory(home.db_path)
    if insecure:
        return InsecureAuthenticator(home.db_path)
    return CertificateAuthenticator(home.db_path)


def start_server(
    home: NodeHome,
    config: NodeConfig,
    responder: Responder,
    disclosure: DisclosureResponder,
    *,
    address: str,
    insecure: bool,
    reflection_on: bool,
    policy_digest: str,
    metrics: NodeMetrics | None = None,
    authenticator_factory: Callable[[Path], Authenticator] | None = None,
) -> GrpcServer:
    """Bind ``address`` and serve the federation, health and (optionally) reflection services.

    Raises :class:`OSError` when the address cannot be bound.
    """
    authenticator = _authenticator(home, insecure, authenticator_factory)
    identity = NodeIdentity(
        agency_id=config.agency_id,
        country=config.country,
        software_version=version("spoor"),
        max_elements_per_request=config.limits.max_elements_per_request,
    )
    refusals = RefusalAudit(home.db_path)
    server = grpc.server(
        # gRPC threads only decode, authenticate and wait; PSI runs in the process pool.
        futures.ThreadPoolExecutor(max_workers=config.server.max_workers),
        # Health and reflection apply the same per-call certificate checks as Federation.
        interceptors=[
            PeerGate(
                authenticator,
                SERVICE_NAME,
                refusals,
                own_agency=config.agency_id,
                own_ca_pem=home.ca_cert_path.read_bytes(),
                own_crl_path=pki.crl_path(home),
            ),
            # Every RPC is counted for the ops port's /metrics (method, peer, code, latency).
            *([MetricsInterceptor(metrics)] if metrics is not None else []),
        ],
        options=server_options(config),
        # A memory backstop only: fairness between peers (and threads kept for health)
        # is the servicer's per-peer admission (node.rpc.quotas), which refuses at once.
        maximum_concurrent_rpcs=config.server.max_workers * 64,
    )
    # Calls over a peer's fair share: audited per peer, share and minute, with their elements.
    busy = AggregatedRefusals(home.db_path, "quota.refused", "RESOURCE_EXHAUSTED")
    quotas = PeerQuotas(
        QuotaLimits.for_server(
            config.server.max_workers,
            config.limits.max_calls_in_flight_per_peer,
            config.limits.max_elements_in_flight_per_peer,
        ),
        busy,
    )
    federation_pb2_grpc.add_FederationServiceServicer_to_server(
        FederationServicer(
            identity, responder, authenticator, disclosure, quotas=quotas, refusals=refusals
        ),
        server,
    )
    # Audit witnessing for the same authenticated peers (witness.proto).
    witness_pb2_grpc.add_WitnessServiceServicer_to_server(
        WitnessServicer(WitnessService(home, config.agency_id), authenticator), server
    )
    # Imported here: the held-setup client side imports this module's neighbours.
    from node.rpc import held_node

    held = (
        held_node.attach(
            server,
            home,
            config,
            responder,
            authenticator,
            responder.pool,
            insecure=insecure,
            quotas=quotas,
        )
        if config.setups.enabled
        else None
    )
    health_servicer = health.HealthServicer(experimental_non_blocking=True)
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
    if reflection_on:
        reflection.enable_server_reflection(
            (SERVICE_NAME, health.SERVICE_NAME, reflection.SERVICE_NAME), server
        )
        log.info("reflection enabled")
    try:
        if insecure:
            log.warning(
                "PLAINTEXT MODE: mutual TLS is off; traffic and peer identity are unprotected. "
                "Use only for local debugging."
            )
            port = server.add_insecure_port(address)
        else:
            port = server.add_secure_port(address, _TlsMaterial(home).credentials())
        if port and config.server.admin_socket:
            admin = home.root / config.server.admin_socket  # an absolute path stays as it is
            admin.unlink(missing_ok=True)
            # Plaintext, local only: the gate lets a certificate-less call check health only.
            server.add_insecure_port(f"unix:{admin}")
    except RuntimeError:
        port = 0  # grpcio raises where older releases returned 0
    if port == 0:
        if held is not None:
            held.build_pool.close()
        raise OSError(
            f"could not listen on {address}: the address is in use or not available "
            "(another node or program on that port?). Choose another with --listen or "
            "server.listen in spoor.toml."
        )
    server.start()
    if held is not None:
        held.advertise(address, port)
        held.start()
        if metrics is not None:
            metrics.watch_setups(held.requester.held.usage)
    # SERVING only now: the store is open, the config and policy are loaded, the port bound.
    for name in ("", SERVICE_NAME):
        health_servicer.set(name, health_pb2.HealthCheckResponse.SERVING)
    log.info(
        "serving",
        agency_id=config.agency_id,
        port=port,
        tls=not insecure,
        policy_digest=policy_digest,
    )
    return GrpcServer(
        server=server,
        port=port,
        health=health_servicer,
        held=held,
        refusals=(refusals, busy),
        db_path=home.db_path,
    )


def build_node(
    home: NodeHome,
    config: NodeConfig,
    *,
    listen: str | None = None,
    insecure: bool | None = None,
    reflection_on: bool | None = None,
    authenticator_factory: Callable[[Path], Authenticator] | None = None,
    ops_listen: str | None = None,
) -> RunningNode:
    """A node serving gRPC: the composition root with :func:`start_server` as its server."""

    def grpc_server(
        home: NodeHome,
        config: NodeConfig,
        responder: Responder,
        disclosure: DisclosureResponder,
        *,
        address: str,
        insecure: bool,
        reflection_on: bool,
        policy_digest: str,
        metrics: NodeMetrics | None = None,
    ) -> GrpcServer:
        return start_server(
            home,
            config,
            responder,
            disclosure,
            address=address,
            insecure=insecure,
            reflection_on=reflection_on,
            policy_digest=policy_digest,
            metrics=metrics,
            authenticator_factory=authenticator_factory,
        )

    running = build_app_node(
        home,
        config,
        grpc_server,
        listen=listen,
        insecure=insecure,
        reflection_on=reflection_on,
        ops_listen=ops_listen,
    )
    plaintext = config.server.insecure if insecure is None else insecure

    def witness_channel(peer: peers.Peer) -> PeerWitnessChannel:
        return PeerWitnessChannel(PeerClient(home, config, peer, insecure=plaintext))

    running.witness_channel = witness_channel
    return running
