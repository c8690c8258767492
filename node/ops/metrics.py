"""The node's Prometheus metrics: counted as calls happen, the rest read at scrape time.

Counted: RPCs by method, peer and status code, and their latency; failed
TLS handshakes by reason (read by ``spoor serve`` from gRPC's handshake trace). Read from
the node when Prometheus scrapes: the PSI worker queue, each peer's element
budget use today, overdue disclosure tickets per counterpart, the held-setup
cache per counterpart (when ``[setups]`` is on) and the audit trail's head.
One family is declared for state this release does not hold yet, so
dashboards and alerts can be written against a stable name: the audit
witness (``spoor_audit_witness_age_seconds``), one sample per witness that countersigned.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from node import store
from node.match.budget import current_period
from node.store import audit as audit_repo
from node.store import budgets as budget_repo
from node.store import peers as peers_repo
from node.store import tickets as tickets_repo
from node.store.backend import DatabaseError
from node.store.timecodec import parse_ts

#: The label a caller gets when its certificate names no configured peer.
UNKNOWN_PEER = "unknown"

#: Latency buckets (seconds): small lookups answer in milliseconds, big matches in minutes.
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300)

PEERS_REFRESH_S = 10.0

PoolLoad = Callable[[], tuple[int, int]]
#: Per counterpart: (views held, bytes held) of the held-setup cache.
SetupUsage = Callable[[], dict[str, tuple[int, int]]]


class NodeMetrics:
    """One node's metrics registry (never the process-global one: tests run several nodes)."""

    def __init__(
        self,
        db_path: Path,
        *,
        pool_load: PoolLoad,
        pool_workers: int,
        budget_per_day: int,
    ) -> None:
        self.db_path = db_path
        self.registry = CollectorRegistry(auto_describe=True)
        self.rpcs = Counter(
            "spoor_rpc",
            "RPCs answered, by method, calling peer and gRPC status code.",
            ["method", "peer", "code"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "spoor_rpc_duration_seconds",
            "Time to answer an RPC, by method.",
            ["method"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.handshake_failures = Counter(
            "spoor_tls_handshake_failures",
            "Connections that failed the TLS handshake, by reason (no_client_certificate, "
            "certificate_untrusted, certificate_expired, not_tls, connection_closed, timeout, …).",
            ["reason"],
            registry=self.registry,
        )
        self._state = _StateCollector(db_path, pool_load, pool_workers, budget_per_day)
        self.registry.register(self._state)
        self._peers: frozenset[str] = frozenset()
        self._peers_at = float("-inf")
        self._lock = threading.Lock()

    def peer_label(self, agency_id: str | None) -> str:
        """The agency id when it is a configured peer, else ``unknown`` (bounded label set)."""
        if not agency_id:
            return UNKNOWN_PEER
        with self._lock:
            if time.monotonic() - self._peers_at > PEERS_REFRESH_S:
                try:
                    with store.opened(self.db_path, check_schema=False) as conn:
                        self._peers = frozenset(p["agency_id"] for p in peers_repo.all_peers(conn))
                except DatabaseError:
                    pass  # keep the last known set; the label is only a label
                self._peers_at = time.monotonic()
            return agency_id if agency_id in self._peers else UNKNOWN_PEER

    def watch_setups(self, usage: SetupUsage) -> None:
        """Export the held-setup cache (called when held setups are enabled)."""
        self._state.setup_usage = usage

    def observe_rpc(self, method: str, peer: str, code: str, seconds: float) -> None:
        self.rpcs.labels(method=method, peer=peer, code=code).inc()
        self.latency.labels(method=method).observe(seconds)

    def observe_handshake_failure(self, reason: str) -> None:
        """Count one failed TLS handshake (``reason`` is from a closed set)."""
        self.handshake_failures.labels(reason=reason).inc()

    def render(self) -> bytes:
        """The Prometheus text exposition of every metric."""
        return generate_latest(self.registry)


class _StateCollector(Collector):
    """Gauges read from the running node and its store at each scrape."""

    def __init__(
        self, db_path: Path, pool_load: PoolLoad, pool_workers: int, budget_per_day: int
    ) -> None:
        self.db_path = db_path
        self.pool_load = pool_load
        self.pool_workers = pool_workers
        self.budget_per_day = budget_per_day
        self.setup_usage: SetupUsage | None = None

    def collect(self) -> Iterator[Metric]:
        waiting, busy = self.pool_load()
        yield _gauge(
            "spoor_psi_workers", "PSI worker processes the pool may run.", self.pool_workers
        )
        yield _gauge("spoor_psi_workers_busy", "PSI worker processes running a step now.", busy)
        yield _gauge("spoor_psi_queue_waiting", "PSI steps waiting for a free worker.", waiting)
        yield from self._from_store()
        entries = GaugeMetricFamily(
            "spoor_setup_cache_entries",
            "Counterparts' PSI setups held here, in views, by counterpart "
            "(no samples when [setups] is off).",
            labels=["peer"],
        )
        size = GaugeMetricFamily(
            "spoor_setup_cache_bytes",
            "Bytes of counterparts' PSI setups held here, by counterpart.",
            labels=["peer"],
        )
        if self.setup_usage is not None:
            for peer, (views, held_bytes) in sorted(self.setup_usage().items()):
                entries.add_metric([peer], views)
                size.add_metric([peer], held_bytes)
        yield entries
        yield size

    def _from_store(self) -> Iterator[Metric]:
        period = current_period()
        used = GaugeMetricFamily(
            "spoor_budget_used_elements",
            "Elements each peer submitted in today's budget period.",
            labels=["peer"],
        )
        share = GaugeMetricFamily(
            "spoor_budget_used_ratio",
            "Share of its daily element budget each peer has used (1 = exhausted).",
            labels=["peer"],
        )
        overdue = GaugeMetricFamily(
            "spoor_tickets_overdue",
            "Pending disclosure tickets past their deadline, by counterpart.",
            labels=["peer"],
        )
        now = datetime.now(UTC)
        with store.opened(self.db_path, check_schema=False) as conn:
            peer_ids = sorted(p["agency_id"] for p in peers_repo.all_peers(conn))
            for peer in peer_ids:
                n = budget_repo.used(conn, peer, period)
                used.add_metric([peer], n)
                share.add_metric([peer], n / self.budget_per_day if self.budget_per_day else 0.0)
            late: dict[str, int] = {}
            for t in tickets_repo.statuses(conn):
                if t["status"] == "pending" and parse_ts(str(t["deadline"])) < now:
                    late[str(t["counterpart"])] = late.get(str(t["counterpart"]), 0) + 1
            head = audit_repo.head(conn)
            checkpoint = audit_repo.last_checkpoint(conn)
            # Newest countersignature per witness (rows are oldest first).
            witnessed = {str(c[0]): str(c[5]) for c in audit_repo.cosignatures(conn)}
        for peer, n in sorted(late.items()):
            overdue.add_metric([peer], n)
        witness_age = GaugeMetricFamily(
            "spoor_audit_witness_age_seconds",
            "Seconds since each witness last countersigned this node's audit checkpoint "
            "(no sample for a witness that never has).",
            labels=["witness"],
        )
        for witness, at in sorted(witnessed.items()):
            witness_age.add_metric([witness], max(0.0, (now - parse_ts(at)).total_seconds()))
        yield witness_age
        yield used
        yield share
        yield overdue
        yield _gauge(
            "spoor_audit_head_seq",
            "Sequence number of the newest audit entry.",
            head[0] if head else 0,
        )
        yield _gauge(
            "spoor_audit_checkpoint_entries",
            "Audit entries the newest signed checkpoint covers.",
            checkpoint[0] if checkpoint else 0,
        )
        if checkpoint is not None:
            age = (now - parse_ts(checkpoint[1])).total_seconds()
            yield _gauge(
                "spoor_audit_checkpoint_age_seconds",
                "Seconds since the newest signed audit checkpoint.",
                max(0.0, age),
            )


def _gauge(name: str, doc: str, value: float) -> GaugeMetricFamily:
    return GaugeMetricFamily(name, doc, value=value)
