"""Held setups and the local lookup API on a running node (both sides).

``attach`` registers HeldSetupService on the federation server and prepares
the requester side; ``start`` (after the server started) begins background
refreshes and serves the local lookup API; ``stop`` undoes both and closes
the build pool and pooled connections.
"""

from __future__ import annotations

import socket
import threading
from dataclasses import dataclass, field

import grpc
from spoor.federation.v1 import held_setups_pb2_grpc as hs_grpc
from spoor.replicas.v1 import replicas_pb2_grpc as rp_grpc

from node.app.config import NodeConfig
from node.app.home import NodeHome
from node.lookup.fanout import LocalLookup
from node.match.held import HeldStore
from node.match.held_requester import HeldRequester
from node.match.responder import Responder
from node.psi.pool import PsiPool
from node.rpc.auth import Authenticator
from node.rpc.held_servicer import HeldSetupServicer
from node.rpc.local_lookup import PeerChannels, serve_local
from node.rpc.quotas import PeerQuotas
from node.rpc.replica_client import SiblingSecrets
from node.rpc.replica_servicer import ReplicaServicer
from node.setups.replicated import ReplicatedBook
from node.setups.responder import HeldResponder, SetupRefresher, build_workers


@dataclass
class HeldNode:
    """The held-setup pieces of one node and what must be closed with them."""

    home: NodeHome
    config: NodeConfig
    held: HeldResponder
    refresher: SetupRefresher
    build_pool: PsiPool
    requester: HeldRequester
    channels: PeerChannels
    local: LocalLookup
    local_server: grpc.Server | None = None
    local_tcp_port: int = 0
    # Several replicas (PostgreSQL): how this one fetches epoch secrets from its siblings.
    siblings: SiblingSecrets | None = None
    _stop: threading.Event = field(default_factory=threading.Event)
    _sync_thread: threading.Thread | None = None

    def _sync_loop(self) -> None:
        while not self._stop.wait(self.config.setups.sync_seconds):
            self.requester.sync_all(self.channels.channel_for)

    def advertise(self, listen: str, port: int) -> None:
        """Tell sibling replicas (through the store) where this one serves them."""
        role = self.held.replicas
        if role is None or self.siblings is None:
            return
        address = self.config.replicas.advertise
        if not address:
            host = listen.rpartition(":")[0] or "127.0.0.1"
            if host in ("0.0.0.0", "[::]", "::"):  # noqa: S104 - naming, not binding
                host = socket.gethostname()
            address = f"{host}:{port}"
        role.address = address

    def start(self) -> None:
        """Begin background refreshes and syncs, and serve the local lookup API."""
        self.refresher.start()
        self._sync_thread = threading.Thread(
            target=self._sync_loop, name="spoor-setup-sync", daemon=True
        )
        self._sync_thread.start()
        if self.config.lookup.enabled:
            self.local_server, self.local_tcp_port = serve_local(self.home, self.config, self.local)

    def stop(self, grace_s: float = 5.0) -> None:
        """Stop builds first (their workers free the cores for in-flight calls), then the rest."""
        self._stop.set()
        self.refresher.signal_stop()
        self.build_pool.close()
        if self.local_server is not None:
            self.local_server.stop(grace_s).wait()
        self.local.close()
        self.refresher.stop()
        if self._sync_thread is not None:
            self._sync_thread.join(timeout=30)
        self.channels.close()
        if self.held.replicas is not None:
            self.held.replicas.withdraw()
            self.held.leadership.release()
        if self.siblings is not None:
            self.siblings.close()


def attach(
    server: grpc.Server,
    home: NodeHome,
    config: NodeConfig,
    responder: Responder,
    authenticator: Authenticator,
    pool: PsiPool,
    *,
    insecure: bool = False,
    quotas: PeerQuotas | None = None,
) -> HeldNode:
    """Register HeldSetupService on ``server`` and build the requester side."""
    build_pool = PsiPool(max_workers=build_workers(config), timeout_s=config.psi.timeout_seconds)
    held = HeldResponder(config, home.db_path, responder, serve_pool=pool, build_pool=build_pool)
    hs_grpc.add_HeldSetupServiceServicer_to_server(
        HeldSetupServicer(held, authenticator, quotas), server
    )
    refresher = SetupRefresher(held, config.setups.refresh_seconds)
    siblings = None
    if held.replicas is not None and isinstance(held.book, ReplicatedBook) and not insecure:
        # Epoch secrets travel between replicas only over mutual TLS with our own identity.
        rp_grpc.add_ReplicaServiceServicer_to_server(ReplicaServicer(held.book), server)
        siblings = SiblingSecrets(home, config, held.replicas)
        held.book.fetch = siblings
    requester = HeldRequester(
        HeldStore(), pool.run, db_path=home.db_path, parallelism=config.psi.workers
    )
    channels = PeerChannels(home, config, insecure=insecure)
    local = LocalLookup(
        requester,
        channels.channel_for,
        channels.configured,
        deadline_s=config.limits.rpc_deadline_seconds,
    )
    return HeldNode(
        home=home,
        config=config,
        held=held,
        refresher=refresher,
        build_pool=build_pool,
        requester=requester,
        channels=channels,
        local=local,
        siblings=siblings,
    )
