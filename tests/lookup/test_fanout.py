"""The local lookup asks every counterpart at once (large lookups: one worker set per peer).

A lookup of more than ``MAX_BATCHED_KEYS`` keys asks each counterpart on its
own thread with every worker; smaller ones are batched (see
``test_fanout_batch.py``). Both ask every counterpart at once.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable

from node.lookup.fanout import MAX_BATCHED_KEYS, LocalLookup
from node.match.held_requester import Context, HeldChannel, LookupResult

PEERS = [f"peer-{i}" for i in range(5)]
CONTEXT = Context("criminal_investigation", "CITES-Art-VIII", "CASE/1", "Officer A")
# More keys than a batched lookup takes, so each counterpart is asked on its own.
KEYS = [f"v2|passport|VNM|C{i:07d}" for i in range(MAX_BATCHED_KEYS + 1)]


class MeetingRequester:
    """Answers only once every counterpart is being asked at the same moment."""

    def __init__(self, parties: int) -> None:
        self.barrier = threading.Barrier(parties, timeout=20)
        self.threads: set[threading.Thread] = set()

    def lookup(
        self, peer: str, channel: HeldChannel, context: Context, keys: Iterable[str]
    ) -> LookupResult:
        self.threads.add(threading.current_thread())
        self.barrier.wait()  # breaks (and the answer is an error) unless all are in flight
        return LookupResult(peer, frozenset(keys), 1, 99, f"req-{peer}")


def _lookup(requester: MeetingRequester) -> LocalLookup:
    return LocalLookup(
        requester,  # type: ignore[arg-type]
        lambda peer: None,  # type: ignore[arg-type,return-value]
        lambda: list(PEERS),
    )


class TestFanOut:
    def test_every_counterpart_is_asked_concurrently(self) -> None:
        """Five counterparts are all in flight at once, so each answers (none waits in turn)."""
        requester = MeetingRequester(len(PEERS))
        local = _lookup(requester)
        try:
            answers = local.lookup(KEYS, CONTEXT)
        finally:
            local.close()
        assert [a.agency_id for a in answers] == PEERS
        assert all(not a.error and a.hits == tuple(range(len(KEYS))) for a in answers)
        assert len(requester.threads) == len(PEERS)

    def test_the_threads_are_kept_between_lookups(self) -> None:
        """A second lookup is served by the same fan-out threads as the first."""
        requester = MeetingRequester(len(PEERS))
        local = _lookup(requester)
        try:
            local.lookup(KEYS, CONTEXT)
            first = set(requester.threads)
            requester.threads.clear()
            local.lookup(KEYS, CONTEXT)
        finally:
            local.close()
        assert requester.threads <= first
