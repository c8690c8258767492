"""The running node's watchlist job: runs every due watchlist, on its own thread.

A run waits on counterparts and PSI, so it does not share the thread of the
quick housekeeping jobs (policy reload, checkpoints). The job looks for due
watchlists every ``check_every_s`` seconds; a failing pass is logged and
retried on the next one, never stopping the node.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from node import store
from node.app.logs import get_logger
from node.match.channel import ChannelFactory
from node.watch import runner, webhook

log = get_logger("spoor.watch")

CHECK_EVERY_S = 60.0


class WatchJob:
    """Re-matches due watchlists of one node until stopped."""

    def __init__(
        self,
        db_path: Path,
        agency_id: str,
        channels: ChannelFactory,
        *,
        check_every_s: float = CHECK_EVERY_S,
        notify: runner.Notify = webhook.post_json,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        stop: threading.Event | None = None,
        default_region: str | None = None,
        leads: Callable[[], bool] = lambda: True,
    ) -> None:
        self.db_path = db_path
        #: Whether this replica runs the agency's jobs (one of several on PostgreSQL does).
        self.leads = leads
        self.agency_id = agency_id
        self.channels = channels
        self.check_every_s = check_every_s
        self.notify = notify
        self.clock = clock
        self.default_region = default_region
        self._stop = stop or threading.Event()
        self._thread: threading.Thread | None = None

    def run_once(self) -> list[runner.RunReport]:
        """One pass: run every watchlist that is due now (nothing when another replica leads)."""
        if not self.leads():
            return []
        with store.opened(self.db_path) as conn:
            reports = runner.run_due(
                conn,
                self.channels,
                requester=self.agency_id,
                now=self.clock(),
                notify=self.notify,
                default_region=self.default_region,
            )
        for report in reports:
            for run in report.runs:
                # Ids and counts only: record contents and counterpart text stay out of logs.
                log.info(
                    "watchlist run",
                    watch_id=report.watch.watch_id,
                    counterpart=run.peer,
                    status=run.status,
                    match_id=run.match_id,
                    new_hits=run.new_hits,
                )
        return reports

    def _loop(self) -> None:
        while not self._stop.wait(self.check_every_s):
            try:
                self.run_once()
            except Exception:
                log.exception("watchlist pass failed")

    def start(self) -> threading.Thread:
        if self._thread is None:
            self._thread = threading.Thread(target=self._loop, name="spoor-watch", daemon=True)
            self._thread.start()
        return self._thread

    def stop(self) -> None:
        self._stop.set()

    def join(self, timeout: float = 5.0) -> None:
        if self._thread is not None:
            self._thread.join(timeout=timeout)
