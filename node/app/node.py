"""The composition root: a running node built from its home in one place.

:func:`build_node` opens (and upgrades) the store, loads the policy, starts
the PSI worker pool, wires the responders, binds the gRPC server
(:func:`node.rpc.server.start_server`) and hands back a :class:`RunningNode`,
whose background jobs (:mod:`node.app.jobs`) start with
:meth:`RunningNode.start_background`.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType

from node import store
from node.app.config import NodeConfig
from node.app.home import NodeHome
from node.app.jobs import BackgroundJobs
from node.app.logs import get_logger
from node.app.policy_holder import PolicyHolder
from node.disclosure import DisclosureResponder
from node.match.responder import Responder
from node.psi.pool import PsiPool
from node.rpc.auth import Authenticator
from node.rpc.server import GrpcServer, start_server

log = get_logger("spoor.node")


@dataclass
class RunningNode:
    """A started node: its server, pool, policy holder and background jobs."""

    grpc: GrpcServer
    pool: PsiPool
    policies: PolicyHolder
    grace_seconds: float
    jobs: list[BackgroundJobs] = field(default_factory=list)
    _stopped: threading.Event = field(default_factory=threading.Event)

    @property
    def port(self) -> int:
        return self.grpc.port

    def start_background(
        self,
        home: NodeHome,
        config: NodeConfig,
        interval_s: float = 2.0,
        retention_every_s: float = 3600.0,
    ) -> BackgroundJobs:
        """Policy reload, periodic audit checkpoints, and hourly retention purges."""
        jobs = BackgroundJobs(
            home,
            config,
            self.policies,
            interval_s=interval_s,
            retention_every_s=retention_every_s,
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
        self.grpc.drain(self.grace_seconds)
        self.pool.close()
        log.info("stopped")

    def install_signal_handlers(self) -> None:
        def handler(signum: int, frame: FrameType | None) -> None:
            log.info("signal received", signal=signal.Signals(signum).name)
            threading.Thread(target=self.stop, name="spoor-drain").start()

        signal.signal(signal.SIGTERM, handler)
        signal.signal(signal.SIGINT, handler)

    def wait(self) -> None:
        self.grpc.wait()
        for jobs in self.jobs:
            jobs.join(timeout=5)


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
    # The store is upgraded (or a newer one refused) before anything is served.
    store.ensure_current(home.db_path)
    policies = PolicyHolder(home.root / config.policy.path, home.db_path)
    policies.load_initial()
    pool = PsiPool(max_workers=config.psi.workers, timeout_s=config.psi.timeout_seconds)
    try:
        server = start_server(
            home,
            config,
            Responder(config, home.db_path, policies, pool),
            DisclosureResponder(config, home.db_path, policies),
            address=listen or config.server.listen,
            insecure=insecure,
            reflection_on=reflection_on,
            policy_digest=policies.current().digest,
            authenticator_factory=authenticator_factory,
        )
    except BaseException:
        pool.close()
        raise
    return RunningNode(
        grpc=server, pool=pool, policies=policies, grace_seconds=config.server.grace_seconds
    )
