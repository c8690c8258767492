"""A running node's background jobs: policy reload, audit checkpoints and witnessing,
retention purges, standing watchlists.

One daemon thread runs the quick jobs in turn every ``interval_s`` seconds; the
retention purge runs at most every ``retention_every_s``, and the newest
checkpoint is shown to every peer acting as witness at most every
``witness_every_s``. Watchlists (:mod:`node.watch.job`) wait on counterparts,
so they run on a thread of their own, given the channels to reach
counterparts with. A failing job is logged and retried on the next pass,
never stopping the node. Several replicas on one PostgreSQL database each
reload their policy, but only the one holding the jobs lock
(:class:`node.store.JobsLeadership`) writes checkpoints, witnesses them,
purges and runs watchlists, so they run once per agency, not once per replica.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from node import audit, peers, store
from node.app.config import NodeConfig
from node.app.home import NodeHome
from node.app.logs import get_logger
from node.app.policy_holder import PolicyHolder
from node.audit import witness
from node.disclosure import export as disclosure_export
from node.match.channel import ChannelFactory
from node.store import Connection
from node.store import audit as audit_repo
from node.store.timecodec import format_ts
from node.watch.job import WatchJob

log = get_logger("spoor.jobs")


def retention_purge(conn: Connection, retention_days: int) -> tuple[int, int]:
    """Purge released details past their retention and old audit personal content.

    Returns (released items purged, audit values purged). The audit chain still
    verifies after the purge; the purge writes its own audit entry, so it is
    skipped when nothing is due.
    """
    purged = disclosure_export.purge_expired(conn)
    cutoff = format_ts(datetime.now(UTC) - timedelta(days=retention_days))
    values = 0
    if audit_repo.entries_with_personal_before(conn, cutoff):
        values = audit.purge_personal(conn, retention_days=retention_days, actor="node").values
    if purged or values:
        log.info("retention purge", released_items=purged, audit_values=values)
    return purged, values


WitnessChannelFactory = Callable[[peers.Peer], witness.WitnessChannel]


def witness_round(
    conn: Connection, channel_of: WitnessChannelFactory
) -> list[witness.SubmitResult]:
    """Show the newest checkpoint to every peer; an unreachable peer is logged and skipped."""
    results: list[witness.SubmitResult] = []
    for peer in peers.list_peers(conn):
        try:
            channel = channel_of(peer)
            try:
                result = witness.submit(conn, channel)
            finally:
                close = getattr(channel, "close", None)
                if close is not None:
                    close()
        except Exception as exc:  # one peer down must not stop the others
            log.warning("audit witness unreachable", witness=peer.agency_id, error=str(exc))
            continue
        if result.status in witness.ALARMS:
            log.error(
                "audit witness alarm",
                witness=result.witness,
                kind=result.status,
                entry_count=result.entry_count,
            )
        results.append(result)
    return results


class BackgroundJobs:
    """The scheduler thread of one node."""

    def __init__(
        self,
        home: NodeHome,
        config: NodeConfig,
        policies: PolicyHolder,
        *,
        interval_s: float = 2.0,
        retention_every_s: float = 3600.0,
        witness_channel: WitnessChannelFactory | None = None,
        witness_every_s: float = 300.0,
        watch_channels: ChannelFactory | None = None,
    ) -> None:
        self.db_path: Path = home.db_path
        self.home = home
        self.config = config
        self.policies = policies
        self.interval_s = interval_s
        self.retention_every_s = retention_every_s
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._last_retention: float | None = None
        self.leadership = store.JobsLeadership.of_process(self.db_path)
        self.witness_channel = witness_channel
        self.witness_every_s = witness_every_s
        self._last_witness: float | None = None
        self.watch: WatchJob | None = None
        if watch_channels is not None:
            self.watch = WatchJob(
                home.db_path,
                config.agency_id,
                watch_channels,
                default_region=config.country,
                leads=self.leadership.held,
            )

    def run_once(self) -> None:
        """One pass of every job that is due."""
        self.policies.maybe_reload()
        if not self.leadership.held():
            return
        with store.opened(self.db_path, check_schema=False) as conn:
            audit.maybe_checkpoint(conn, self.home)
            now = time.monotonic()
            if self._last_retention is None or now - self._last_retention >= self.retention_every_s:
                retention_purge(conn, self.config.audit.retention_days)
                self._last_retention = time.monotonic()
            if self.witness_channel is not None and (
                self._last_witness is None
                or time.monotonic() - self._last_witness >= self.witness_every_s
            ):
                witness_round(conn, self.witness_channel)
                self._last_witness = time.monotonic()

    def _loop(self) -> None:
        while not self._stop.wait(self.interval_s):
            try:
                self.run_once()
            except Exception:
                log.exception("background task failed")

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._loop, name="spoor-background", daemon=True)
            self._thread.start()
        if self.watch is not None:
            self.watch.start()

    def stop(self) -> None:
        self._stop.set()
        self.leadership.release()
        if self.watch is not None:
            self.watch.stop()

    def join(self, timeout: float = 5.0) -> None:
        if self._thread is not None:
            self._thread.join(timeout=timeout)
        if self.watch is not None:
            self.watch.join(timeout=timeout)
