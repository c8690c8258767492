"""The composition root: a running node built from its home in one place.

:func:`build_node` opens (and upgrades) the store, loads the policy, starts
the PSI worker pool, wires the responders, starts the server the transport
layer supplies (``node.rpc.server.build_node`` passes its gRPC factory, so
this module never imports the transport) and hands back a
:class:`RunningNode`, whose background jobs (:mod:`node.app.jobs`) start
with :meth:`RunningNode.start_background`.
"""

from __future__ import annotations

import signal
import threading
from dataclasses import dataclass, field
from types import FrameType
from typing import Protocol

from node import store
from node.app.config import NodeConfig
from node.app.home import NodeHome
from node.app.jobs import BackgroundJobs
from node.app.logs import get_logger
from node.app.policy_holder import PolicyHolder
from node.disclosure import DisclosureResponder
from node.match.channel import ChannelFactory
from node.match.responder import Responder
from node.psi.pool import PsiPool

log = get_logger("spoor.node")


class Server(Protocol):
    """A started server, as the node needs it."""

    @property
    def port(self) -> int: ...

    def drain(self, grace_seconds: float) -> None: ...

    def wait(self) -> None: ...


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
    ) -> Server: ...


@dataclass
class RunningNode:
    """A started node: its server, pool, policy holder and background jobs."""

    server: Server
    pool: PsiPool
    policies: PolicyHolder
    grace_seconds: float
    jobs: list[BackgroundJobs] = field(default_factory=list)
    _stopped: threading.Event = field(default_factory=threading.Event)

    @property
    def port(self) -> int:
        return self.server.port

    def start_background(
        self,
        home: NodeHome,
        config: NodeConfig,
        interval_s: float = 2.0,
        retention_every_s: float = 3600.0,
        watch_channels: ChannelFactory | None = None,
    ) -> BackgroundJobs:
        """Policy reload, audit checkpoints, hourly retention purges; watchlists given channels.

        ``watch_channels`` reaches counterparts for the standing watchlists (the
        transport layer supplies it, as it supplies the server).
        """
        jobs = BackgroundJobs(
            home,
            config,
            self.policies,
            interval_s=interval_s,
            retention_every_s=retention_every_s,
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


def build_node(
    home: NodeHome,
    config: NodeConfig,
    start_server: ServerFactory,
    *,
    listen: str | None = None,
    insecure: bool | None = None,
    reflection_on: bool | None = None,
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
        )
    except BaseException:
        pool.close()
        raise
    return RunningNode(
        server=server, pool=pool, policies=policies, grace_seconds=config.server.grace_seconds
    )
