"""The node's gRPC server: one factory, a comment on every option."""

from __future__ import annotations

import signal
import sqlite3
import threading
import time
from collections.abc import Callable
from concurrent import futures
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from importlib.metadata import version
from pathlib import Path
from types import FrameType
from typing import Any

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection
from spoor.federation.v1 import federation_pb2, federation_pb2_grpc

from node import audit, peers, store
from node.app.config import NodeConfig
from node.app.home import NodeHome
from node.app.logs import get_logger
from node.app.policy_holder import PolicyHolder
from node.audit.chain import format_ts
from node.disclosure import DisclosureResponder
from node.disclosure import export as disclosure_export
from node.errors import InvalidRequest
from node.match.channel import MatchChannel
from node.match.responder import Responder
from node.psi.pool import PsiPool
from node.rpc.auth import Authenticator, CertificateAuthenticator, InsecureAuthenticator
from node.rpc.options import channel_options
from node.rpc.servicer import FederationServicer, NodeIdentity
from node.watch.job import WatchJob

log = get_logger("spoor.server")

SERVICE_NAME = federation_pb2.DESCRIPTOR.services_by_name["FederationService"].full_name


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
        conn = store.connect(self.home.db_path)
        try:
            rows = tuple((p.agency_id, p.ca_pem) for p in peers.list_peers(conn))
        finally:
            conn.close()
        files = tuple(
            p.stat().st_mtime_ns for p in (self.home.node_cert_path, self.home.node_key_path)
        )
        return (rows, files)

    def build(self) -> Any:
        conn = store.connect(self.home.db_path)
        try:
            peer_cas = [p.ca_pem for p in peers.list_peers(conn)]
        finally:
            conn.close()
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
class RunningNode:
    """A started node: the gRPC server and what must be closed with it."""

    server: grpc.Server
    port: int
    health: health.HealthServicer
    pool: PsiPool
    policies: PolicyHolder
    grace_seconds: float
    _stop: threading.Event = field(default_factory=threading.Event)
    _threads: list[threading.Thread] = field(default_factory=list)

    def start_background(
        self,
        home: NodeHome,
        config: NodeConfig,
        interval_s: float = 2.0,
        retention_every_s: float = 3600.0,
    ) -> None:
        """Policy reload, periodic audit checkpoints, and hourly retention purges."""

        def retention(conn: sqlite3.Connection) -> None:
            # Released details past their retention, and personal content of old audit
            # entries (the chain still verifies after the purge).
            purged = disclosure_export.purge_expired(conn)
            cutoff = format_ts(datetime.now(UTC) - timedelta(days=config.audit.retention_days))
            due = conn.execute(
                "SELECT COUNT(*) FROM audit_personal p JOIN audit_entries e ON e.seq = p.seq "
                "WHERE e.ts < ?",
                (cutoff,),
            ).fetchone()[0]
            values = 0
            if due:  # the purge writes its own audit entry; skip it when nothing is due
                values = audit.purge_personal(
                    conn, retention_days=config.audit.retention_days, actor="node"
                ).values
            if purged or values:
                log.info("retention purge", released_items=purged, audit_values=values)

        def loop() -> None:
            last_retention = 0.0
            while not self._stop.wait(interval_s):
                try:
                    self.policies.maybe_reload()
                    conn = store.connect(home.db_path)
                    try:
                        audit.maybe_checkpoint(conn, home)
                        if time.monotonic() - last_retention >= retention_every_s:
                            retention(conn)
                            last_retention = time.monotonic()
                    finally:
                        conn.close()
                except Exception:
                    log.exception("background task failed")

        thread = threading.Thread(target=loop, name="spoor-background", daemon=True)
        thread.start()
        self._threads.append(thread)
        self._threads.append(watch_job(home, config, self._stop).start())

    def stop(self) -> None:
        """Drain: health NOT_SERVING, stop accepting, let in-flight calls finish, close pools."""
        if self._stop.is_set():
            return
        self._stop.set()
        self.health.enter_graceful_shutdown()
        log.info("draining", grace_seconds=self.grace_seconds)
        self.server.stop(self.grace_seconds).wait()
        self.pool.close()
        log.info("stopped")

    def install_signal_handlers(self) -> None:
        def handler(signum: int, frame: FrameType | None) -> None:
            log.info("signal received", signal=signal.Signals(signum).name)
            threading.Thread(target=self.stop, name="spoor-drain").start()

        signal.signal(signal.SIGTERM, handler)
        signal.signal(signal.SIGINT, handler)

    def wait(self) -> None:
        self.server.wait_for_termination()
        for thread in self._threads:
            thread.join(timeout=5)


def build_node(
    home: NodeHome,
    config: NodeConfig,
    *,
    listen: str | None = None,
    insecure: bool | None = None,
    reflection_on: bool | None = None,
    authenticator_factory: Callable[[Path], Authenticator] | None = None,
) -> RunningNode:
    """Open the store, load the policy, bind the port and start serving."""
    insecure = config.server.insecure if insecure is None else insecure
    reflection_on = config.server.reflection if reflection_on is None else reflection_on
    address = listen or config.server.listen
    store.open_store(home.db_path).close()  # schemas applied before serving
    policies = PolicyHolder(home.root / config.policy.path, home.db_path)
    policies.load_initial()
    pool = PsiPool(max_workers=config.psi.workers, timeout_s=config.psi.timeout_seconds)
    responder = Responder(config, home.db_path, policies, pool)
    disclosure = DisclosureResponder(config, home.db_path, policies)
    if authenticator_factory is not None:
        authenticator = authenticator_factory(home.db_path)
    elif insecure:
        authenticator = InsecureAuthenticator(home.db_path)
    else:
        authenticator = CertificateAuthenticator(home.db_path)
    identity = NodeIdentity(
        agency_id=config.agency_id,
        country=config.country,
        software_version=version("spoor"),
        max_elements_per_request=config.limits.max_elements_per_request,
    )
    server = grpc.server(
        # gRPC threads only decode, authenticate and wait; PSI runs in the process pool.
        futures.ThreadPoolExecutor(max_workers=config.server.max_workers),
        options=server_options(config),
        # Bound queued work so overload answers RESOURCE_EXHAUSTED instead of piling up.
        maximum_concurrent_rpcs=config.server.max_workers * 4,
    )
    federation_pb2_grpc.add_FederationServiceServicer_to_server(
        FederationServicer(identity, responder, authenticator, disclosure), server
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
    except RuntimeError:
        port = 0  # grpcio raises where older releases returned 0
    if port == 0:
        pool.close()
        raise OSError(
            f"could not listen on {address}: the address is in use or not available "
            "(another node or program on that port?). Choose another with --listen or "
            "server.listen in spoor.toml."
        )
    server.start()
    # SERVING only now: the store is open, the config and policy are loaded, the port bound.
    for name in ("", SERVICE_NAME):
        health_servicer.set(name, health_pb2.HealthCheckResponse.SERVING)
    log.info(
        "serving",
        agency_id=config.agency_id,
        port=port,
        tls=not insecure,
        policy_digest=policies.current().digest,
    )
    return RunningNode(
        server=server,
        port=port,
        health=health_servicer,
        pool=pool,
        policies=policies,
        grace_seconds=config.server.grace_seconds,
    )


def watch_job(home: NodeHome, config: NodeConfig, stop: threading.Event) -> WatchJob:
    """The watchlist job, reaching counterparts over gRPC like 'spoor match'."""
    from node.rpc.channels import PeerMatchChannel
    from node.rpc.client import PeerClient

    def channels(agency_id: str) -> MatchChannel:
        conn = store.connect(home.db_path)
        try:
            known = {p.agency_id: p for p in peers.list_peers(conn)}
        finally:
            conn.close()
        if agency_id not in known:
            raise InvalidRequest("peer", f"{agency_id} is no longer a configured peer")
        return PeerMatchChannel(PeerClient(home, config, known[agency_id]))

    return WatchJob(home.db_path, config.agency_id, channels, stop=stop)
