"""The composition root: a running node built from its home in one place.

:func:`build_node` opens (and upgrades) the store, loads the policy, starts
the PSI worker pool, wires the responders, starts the server the transport
layer supplies (``node.rpc.server.build_node`` passes its gRPC factory, so
this module never imports the transport) and hands back a
:class:`RunningNode`, whose background jobs (:mod:`node.app.jobs`) start
with :meth:`RunningNode.start_background`.

Before anything else it takes the home's single-instance lock
(:mod:`node.app.lock`), and after the server is up it opens the ops port
(:mod:`node.ops`): ``/healthz``, ``/readyz`` and ``/metrics`` on loopback
unless ``[ops] listen`` or ``$SPOOR_OPS_LISTEN`` say otherwise.
"""

from __future__ import annotations

import signal
import threading
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import Protocol

from node import store
from node.app.config import NodeConfig
from node.app.home import NodeHome
from node.app.jobs import BackgroundJobs, WitnessChannelFactory
from node.app.lock import HomeLock
from node.app.logs import get_logger
from node.app.policy_holder import PolicyHolder
from node.disclosure import DisclosureResponder
from node.errors import SpoorError
from node.match.channel import ChannelFactory
from node.match.responder import Responder
from node.ops.metrics import NodeMetrics
from node.ops.server import Check, OpsServer, ops_address
from node.psi.pool import PsiPool
from node.store import audit as audit_repo
from node.store.backend import DatabaseError

#: A store that cannot be read (engine error or misconfigured location).
_UNREADABLE: tuple[type[Exception], ...] = (*DatabaseError, store.StoreError)

log = get_logger("spoor.node")


class Server(Protocol):
    """A started server, as the node needs it."""

    @property
    def port(self) -> int: ...

    def drain(self, grace_seconds: float) -> None: ...

    def wait(self) -> None: ...

    def serving(self) -> bool: ...


class ServerFactory(Protocol):
    """Binds the address and starts serving the responders (raises OSError if it cannot)."""

    def __call__(
        self,
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
    ) -> Server: ...


@dataclass
class RunningNode:
    """A started node: its server, pool, policy holder and background jobs."""

    server: Server
    pool: PsiPool
    policies: PolicyHolder
    grace_seconds: float
    jobs: list[BackgroundJobs] = field(default_factory=list)
    #: How the background jobs reach a peer acting as audit witness (set by the RPC layer).
    witness_channel: WitnessChannelFactory | None = None
    ops: OpsServer | None = None
    lock: HomeLock | None = None
    #: What the ops port's /metrics exports (also fed from outside the server, e.g. TLS).
    metrics: NodeMetrics | None = None
    _stopped: threading.Event = field(default_factory=threading.Event)

    @property
    def port(self) -> int:
        return self.server.port

    @property
    def ops_port(self) -> int | None:
        return self.ops.port if self.ops is not None else None

    def start_background(
        self,
        home: NodeHome,
        config: NodeConfig,
        interval_s: float = 2.0,
        retention_every_s: float = 3600.0,
        watch_channels: ChannelFactory | None = None,
    ) -> BackgroundJobs:
        """Policy reload, audit checkpoints and witnessing, hourly retention purges; watchlists.

        ``watch_channels`` reaches counterparts for the standing watchlists (the
        transport layer supplies it, as it supplies the server and the witness channel).
        """
        jobs = BackgroundJobs(
            home,
            config,
            self.policies,
            interval_s=interval_s,
            retention_every_s=retention_every_s,
            witness_channel=self.witness_channel,
            watch_channels=watch_channels,
        )
        jobs.start()
        self.jobs.append(jobs)
        return jobs

    def stop(self) -> None:
        """Drain: health NOT_SERVING, stop accepting, let in-flight calls finish, close pools."""
        if self._stopped.is_set():
            return
        self._stopped.set()
        for jobs in self.jobs:
            jobs.stop()
        log.info("draining", grace_seconds=self.grace_seconds)
        self.server.drain(self.grace_seconds)
        self.pool.close()
        if self.ops is not None:
            self.ops.stop()
        if self.lock is not None:
            self.lock.release()
        log.info("stopped")

    def install_signal_handlers(self) -> None:
        def handler(signum: int, frame: FrameType | None) -> None:
            log.info("signal received", signal=signal.Signals(signum).name)
            threading.Thread(target=self.stop, name="spoor-drain").start()

        signal.signal(signal.SIGTERM, handler)
        signal.signal(signal.SIGINT, handler)

    def wait(self) -> None:
        self.server.wait()
        for jobs in self.jobs:
            jobs.join(timeout=5)


def readiness(db_path: Path, policies: PolicyHolder, server: Server) -> list[Check]:
    """What ``/readyz`` reports: the store opens, a policy is loaded, gRPC is serving."""
    checks = []
    try:
        with store.opened(db_path, check_schema=False) as conn:
            audit_repo.head(conn)  # one indexed read: the file opens and its tables are there
        checks.append(Check("store", ok=True, detail="open"))
    except _UNREADABLE as exc:
        checks.append(Check("store", ok=False, detail=f"cannot open: {exc}"))
    try:
        checks.append(Check("policy", ok=True, detail=policies.current().digest))
    except SpoorError as exc:
        checks.append(Check("policy", ok=False, detail=str(exc)))
    serving = server.serving()
    checks.append(Check("grpc", ok=serving, detail="serving" if serving else "draining"))
    return checks


def build_node(
    home: NodeHome,
    config: NodeConfig,
    start_server: ServerFactory,
    *,
    listen: str | None = None,
    insecure: bool | None = None,
    reflection_on: bool | None = None,
    ops_listen: str | None = None,
) -> RunningNode:
    """Take the home's lock, open the store, load the policy, bind the ports and serve.

    Raises :class:`node.app.lock.HomeInUse` when another process serves this home
    (a PostgreSQL store takes the lock shared: its replicas serve one home together).
    """
    insecure = config.server.insecure if insecure is None else insecure
    reflection_on = config.server.reflection if reflection_on is None else reflection_on
    shared = store.located(home.db_path).engine == "postgresql"
    lock = HomeLock(home.root, shared=shared).acquire()
    try:
        return _build(home, config, start_server, lock, listen, insecure, reflection_on, ops_listen)
    except BaseException:
        lock.release()
        raise


def _build(
    home: NodeHome,
    config: NodeConfig,
    start_server: ServerFactory,
    lock: HomeLock,
    listen: str | None,
    insecure: bool,
    reflection_on: bool,
    ops_listen: str | None,
) -> RunningNode:
    # The store is upgraded (or a newer one refused) before anything is served.
    store.ensure_current(home.db_path)
    policies = PolicyHolder(
        home.root / config.policy.path,
        home.db_path,
        officer_activation=config.policy.officer_activation,
    )
    policies.load_initial()
    pool = PsiPool(max_workers=config.psi.workers, timeout_s=config.psi.timeout_seconds)
    metrics = NodeMetrics(
        home.db_path,
        pool_load=pool.load,
        pool_workers=config.psi.workers,
        budget_per_day=config.limits.max_elements_per_peer_per_day,
    )
    try:
        server = start_server(
            home,
            config,
            Responder(config, home.db_path, policies, pool),
            DisclosureResponder(config, home.db_path, policies, pool),
            address=listen or config.server.listen,
            insecure=insecure,
            reflection_on=reflection_on,
            policy_digest=policies.current().digest,
            metrics=metrics,
        )
    except BaseException:
        pool.close()
        raise
    ops: OpsServer | None = None
    address = ops_address(config.ops.listen) if ops_listen is None else ops_listen
    if address:
        try:
            ops = OpsServer(
                address,
                metrics,
                lambda: readiness(home.db_path, policies, server),
                config.agency_id,
            )
        except (OSError, ValueError):
            server.drain(0)
            pool.close()
            raise
        log.info("ops port open", address=address, port=ops.port)
        lock.note_ops_address(f"{address.rpartition(':')[0]}:{ops.port}")
    return RunningNode(
        server=server,
        pool=pool,
        policies=policies,
        grace_seconds=config.server.grace_seconds,
        ops=ops,
        lock=lock,
        metrics=metrics,
    )
