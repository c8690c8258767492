"""Fair shares of the server: per-peer concurrency and work in flight, threads kept for health.

gRPC's own ``maximum_concurrent_rpcs`` is one global cap shared by every peer
and by the health service, so one peer holding many cheap calls open could
make every other peer and every health probe fail. Admission here happens
before any work: a peer gets at most ``calls_per_peer`` FederationService
calls and ``elements_per_peer`` PSI elements in flight at once, and all peers
together at most ``federation_calls`` (fewer than the server's handler
threads), so some threads always remain for health and for the node's own
local services. A call over its share is answered RESOURCE_EXHAUSTED at once,
which frees its thread; the peer can retry when its own calls have finished.

Each refusal is audited as ``quota.refused`` with what it carried (its
elements, never charged), aggregated per peer, share and window
(:mod:`node.rpc.refusals`): a flood writes a bounded number of entries.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from node.errors import SpoorError
from node.rpc.refusals import AggregatedRefusals

#: Handler threads never given to FederationService calls (health, local probes).
RESERVED_THREADS = 2


class PeerBusy(SpoorError):
    """A peer (or all peers together) already has its share of calls or elements in flight."""

    FIELDS = ("agency_id", "what", "limit", "in_flight")

    def __init__(self, agency_id: str, what: str, limit: int, in_flight: int) -> None:
        self.agency_id = agency_id
        self.what = what
        self.limit = limit
        self.in_flight = in_flight
        super().__init__(
            f"{agency_id}: {in_flight} {what} already in flight (limit {limit}); refused"
        )


@dataclass(frozen=True)
class QuotaLimits:
    """How much of the server one peer, and all peers together, may hold at once."""

    calls_per_peer: int
    elements_per_peer: int
    federation_calls: int

    @classmethod
    def for_server(
        cls, handler_threads: int, calls_per_peer: int, elements_per_peer: int
    ) -> QuotaLimits:
        """Limits for a server with ``handler_threads`` threads, keeping some for health."""
        federation = max(1, handler_threads - RESERVED_THREADS)
        return cls(
            calls_per_peer=max(1, min(calls_per_peer, federation)),
            elements_per_peer=max(1, elements_per_peer),
            federation_calls=federation,
        )


class PeerQuotas:
    """Counts what each peer has in flight; ``admit`` refuses what exceeds its share."""

    def __init__(self, limits: QuotaLimits, refusals: AggregatedRefusals | None = None) -> None:
        self.limits = limits
        self.refusals = refusals
        self._lock = threading.Lock()
        self._calls: dict[str, int] = {}
        self._elements: dict[str, int] = {}
        self._total = 0

    def in_flight(self, peer: str) -> tuple[int, int]:
        """(calls, elements) the peer has in flight now."""
        with self._lock:
            return self._calls.get(peer, 0), self._elements.get(peer, 0)

    @contextmanager
    def admit(self, peer: str, elements: int = 0) -> Iterator[None]:
        """Hold a share for one call of ``peer`` carrying ``elements`` PSI elements."""
        limits = self.limits
        with self._lock:
            calls = self._calls.get(peer, 0)
            held = self._elements.get(peer, 0)
            busy: PeerBusy | None = None
            if calls >= limits.calls_per_peer:
                busy = PeerBusy(peer, "calls", limits.calls_per_peer, calls)
            # One call alone is always admitted (its size is bounded per request).
            elif held and held + elements > limits.elements_per_peer:
                busy = PeerBusy(peer, "elements", limits.elements_per_peer, held)
            elif self._total >= limits.federation_calls:
                busy = PeerBusy(peer, "calls of all peers", limits.federation_calls, self._total)
            else:
                self._calls[peer] = calls + 1
                self._elements[peer] = held + elements
                self._total += 1
        if busy is not None:
            if self.refusals is not None:
                # Audited outside the lock: other peers' admissions never wait on the store.
                self.refusals.refused(peer, busy.what, figures={"elements": elements, "charged": 0})
            raise busy
        try:
            yield
        finally:
            with self._lock:
                self._total -= 1
                self._calls[peer] -= 1
                self._elements[peer] -= elements
                if not self._calls[peer]:
                    del self._calls[peer]
                    del self._elements[peer]
