"""The responder's held-setup service: views, epochs, builds and keyed lookups together.

``manifest`` tells a counterpart what it should hold, ``shards`` hands out
shard setups, and ``answer`` serves one lookup against held setups. A lookup
is checked and charged exactly like a one-shot match (versions and fields
first, the element budget before any curve work) and its only curve work is
re-blinding the request's own points under the epoch key, in a PSI worker.

``refresh`` brings every known view up to date; the node runs it in the
background and a lookup never waits for it.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, date, datetime

from node.app.logs import get_logger
from node.psi.held import join_responses, process_with_key, split_request
from node.psi.server import count_request_elements
from node.setups.book import Generation, SetupBook, ShardSetup
from node.setups.errors import SetupsNotReady, SetupsStale
from node.setups.views import ViewCache, ViewKey, ViewStamp

log = get_logger("spoor.setups")
# Requests at least this large are re-blinded on several workers.
_PARALLEL_FROM = 2048


@dataclass(frozen=True)
class KeyedAnswer:
    """The responder's answer to one held-setup lookup."""

    psi_response: bytes
    epoch_id: str
    generation: int
    policy_digest: str
    elements: int


Run = Callable[..., object]
# Charge the peer's budget for n elements before any curve work; returns the
# budget remaining (raises BudgetExceeded).
Charge = Callable[[str, int], int]


class HeldSetupService:
    """Everything the responder needs to serve held setups for its counterparts."""

    def __init__(
        self,
        book: SetupBook,
        views: ViewCache,
        *,
        stamp: Callable[[], tuple[tuple[object, ...], str]],
        run: Run,
        parallelism: int = 1,
        clock_day: Callable[[], date] | None = None,
        on_new_view: Callable[[], None] | None = None,
    ) -> None:
        self.book = book
        self.views = views
        self._stamp = stamp
        self._run = run
        self.parallelism = max(1, parallelism)
        self._day = clock_day or (lambda: datetime.now(UTC).date())
        self._known: set[ViewKey] = set()
        self._lock = threading.Lock()
        self.on_new_view = on_new_view
        # Replicas: a context asked about here is recorded for the building replica.
        self.remember: Callable[[ViewKey], None] | None = None

    def current_stamp(self) -> ViewStamp:
        """The stamp views must match now (records fingerprint, policy digest, day)."""
        records, policy_digest = self._stamp()
        return ViewStamp(records=records, policy_digest=policy_digest, day=self._day())

    def register(self, key: ViewKey) -> None:
        """Remember a (peer, context) so background refreshes keep its setups current."""
        with self._lock:
            new = key not in self._known
            self._known.add(key)
        if new and self.remember is not None:
            self.remember(key)
        if new and self.on_new_view is not None:
            self.on_new_view()

    def known(self) -> list[ViewKey]:
        """Every registered view key."""
        with self._lock:
            return sorted(self._known, key=lambda k: (k.peer, k.purpose, k.legal_basis))

    def refresh(self, keys: Iterable[ViewKey] | None = None) -> list[Generation]:
        """Rebuild what changed for ``keys`` (default: every registered view)."""
        stamp = self.current_stamp()
        out = []
        for key in list(keys) if keys is not None else self.known():
            self.register(key)
            started = time.monotonic()
            view = self.views.get(key, stamp)
            viewed = time.monotonic()
            before = self.book.built(key.peer, key.name)
            generation = self.book.refresh(view)
            out.append(generation)
            if generation is not before:
                # Counts and timings only: never keys, salts or setup bytes.
                log.info(
                    "held setups published",
                    peer_agency=key.peer,
                    generation=generation.number,
                    elements=len(generation.elements),
                    padded_elements=generation.padded_elements,
                    shards_rebuilt=generation.shards_rebuilt,
                    setup_bytes=generation.setup_bytes,
                    view_s=round(viewed - started, 3),
                    build_s=round(time.monotonic() - viewed, 3),
                )
        return out

    def forget_peer(self, peer: str) -> None:
        """A counterpart was removed: drop its views, setups and epoch keys now."""
        with self._lock:
            self._known = {k for k in self._known if k.peer != peer}
        self.views.forget_peer(peer)
        self.book.forget_peer(peer)

    def _reblind(
        self, key: bytes, request_bytes: bytes, n: int, max_elements: int, timeout_s: float | None
    ) -> bytes:
        """Re-blind the request, in slices on several workers when it is large."""
        if n < _PARALLEL_FROM or self.parallelism == 1:
            parts = [request_bytes]
        else:
            parts = split_request(request_bytes, self.parallelism)

        def one(part: bytes) -> bytes:
            out = self._run(process_with_key, key, part, True, max_elements, timeout_s=timeout_s)
            if not isinstance(out, bytes):
                raise TypeError("the PSI worker returned an unexpected result")
            return out

        if len(parts) == 1:
            return one(parts[0])
        with ThreadPoolExecutor(max_workers=len(parts)) as threads:
            return join_responses(list(threads.map(one, parts)))

    def manifest(self, key: ViewKey) -> Generation:
        """The generation a counterpart should hold for ``key`` (registers the view)."""
        self.register(key)
        generation = self.book.published(key.peer, key.name)
        if generation is None:
            raise SetupsNotReady("the first build for this context is still running")
        return generation

    def shards(self, key: ViewKey, epoch_id: str, shard_ids: Iterable[int]) -> list[ShardSetup]:
        """The requested shards of the published generation of ``epoch_id``."""
        generation = self.manifest(key)
        if generation.epoch.epoch_id != epoch_id:
            raise SetupsStale("a new epoch has started")
        out = []
        for shard_id in shard_ids:
            shard = generation.shards.get(shard_id)
            if shard is None:
                raise SetupsStale(f"shard {shard_id} is not part of this generation")
            out.append(shard)
        return out

    def answer(
        self,
        key: ViewKey,
        epoch_id: str,
        generation: int,
        request_bytes: bytes,
        *,
        charge: Charge,
        max_elements: int,
        timeout_s: float | None = None,
    ) -> tuple[KeyedAnswer, int]:
        """Re-blind one lookup's request under its epoch key; (answer, budget remaining).

        The request is counted without curve work and charged before any curve
        work. A lookup against setups this node cannot answer (an ended epoch,
        another view, or an epoch whose in-memory secret no replica of this
        agency can supply any more, see ``node.setups.replicated``) is refused
        before the charge: nothing is computed or revealed for it, and the
        requester's retry after a sync must not pay twice.
        """
        n = count_request_elements(request_bytes, max_elements=max_elements)
        epoch = self.book.answerable(key.peer, epoch_id, key.name, generation)
        if epoch is None:
            raise SetupsStale("the epoch ended, keys were removed, or the context differs")
        remaining = charge(key.peer, n)
        response = self._reblind(epoch.key, request_bytes, n, max_elements, timeout_s)
        published = self.book.published(key.peer, key.name)
        return (
            KeyedAnswer(
                psi_response=response,
                epoch_id=epoch.epoch_id,
                generation=generation,
                policy_digest=published.policy_digest if published is not None else "",
                elements=n,
            ),
            remaining,
        )
