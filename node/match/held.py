"""The requester's held setups: a counterpart's current shards, synced and validated.

The requester keeps, per counterpart and view, the manifest of the
counterpart's current epoch (epoch id, generation, shard salt, one digest per
shard) and the shard setups themselves. A sync fetches only the shards whose
digest changed, validates each inside a PSI worker (the same field checks and
Golomb decode as a one-shot setup, under the worker's memory and time
limits) and swaps the whole new set in at once: a lookup uses one manifest's
shards, never a mix of two.

A lookup then sends only its PSI request (a fresh client key every time) and
computes its intersection against the shards its own keys fall in.
"""

from __future__ import annotations

import re
import secrets
import threading
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from node.psi.errors import MalformedPsiMessage
from node.psi.held import (
    SpareClients,
    blind_inline,
    check_response,
    check_shard_setup,
    create_request,
    held_intersection,
    join_request,
)
from node.psi.messages import DEFAULT_LIMITS, Limits
from node.setups.epochs import new_server_key
from node.setups.shards import ShardLayout, shards_of

# Bounds on what a counterpart may make this node hold.
MAX_HELD_SHARDS = 8192
MAX_HELD_BYTES_PER_VIEW = 512 * 1024 * 1024
# Requests up to this many keys are blinded in-process; larger ones in workers.
_INLINE_REQUEST = 512
_SHA256_HEX = re.compile("[0-9a-f]{64}")

Run = Callable[..., object]


@dataclass(frozen=True)
class Manifest:
    """A counterpart's announcement of its current generation for one view."""

    peer: str
    view: str
    epoch_id: str
    generation: int
    shard_salt: bytes = field(repr=False)
    layout: ShardLayout
    digests: Mapping[int, str] = field(repr=False)
    policy_digest: str = ""
    expires_at: float = 0.0

    def check(self) -> None:
        """Refuse a manifest no honest counterpart would send."""
        if not self.epoch_id or len(self.epoch_id) > 64:
            raise MalformedPsiMessage("manifest.epoch_id", "is empty or too long")
        if not 8 <= len(self.shard_salt) <= 64:
            raise MalformedPsiMessage("manifest.shard_salt", "must be 8 to 64 bytes")
        if self.layout.total > MAX_HELD_SHARDS:
            raise MalformedPsiMessage(
                "manifest.shards", f"announces more than {MAX_HELD_SHARDS} shards"
            )
        if set(self.digests) != set(range(self.layout.total)):
            raise MalformedPsiMessage("manifest.shards", "does not list every shard exactly once")
        if not all(isinstance(d, str) and _SHA256_HEX.fullmatch(d) for d in self.digests.values()):
            raise MalformedPsiMessage("manifest.shards", "holds a digest that is not SHA-256")


@dataclass(frozen=True)
class HeldSetups:
    """One manifest and every shard it names (complete, validated)."""

    manifest: Manifest
    shards: Mapping[int, bytes] = field(repr=False)

    @property
    def size_bytes(self) -> int:
        """Bytes held for this view."""
        return sum(len(s) for s in self.shards.values())


class HeldStore:
    """Held setups per (counterpart, view name); swapped whole on each sync."""

    def __init__(self, *, limits: Limits = DEFAULT_LIMITS) -> None:
        self.limits = limits
        self._lock = threading.Lock()
        self._held: dict[tuple[str, str], HeldSetups] = {}

    def usage(self) -> dict[str, tuple[int, int]]:
        """Per counterpart: (views held, bytes held) — what the ops port exports."""
        out: dict[str, tuple[int, int]] = {}
        with self._lock:
            for (peer, _view), setups in self._held.items():
                views, size = out.get(peer, (0, 0))
                out[peer] = (views + 1, size + setups.size_bytes)
        return out

    def get(self, peer: str, view: str) -> HeldSetups | None:
        """The held setups for (peer, view), if any."""
        with self._lock:
            return self._held.get((peer, view))

    def wanted(self, manifest: Manifest) -> list[int]:
        """Shard ids to fetch for ``manifest``: those not held with the same digest."""
        manifest.check()
        held = self.get(manifest.peer, manifest.view)
        have: Mapping[int, bytes] = {}
        old: Mapping[int, str] = {}
        if held is not None:
            have, old = held.shards, held.manifest.digests
        return sorted(s for s, d in manifest.digests.items() if s not in have or old.get(s) != d)

    def apply(self, manifest: Manifest, fetched: Mapping[int, bytes], run: Run) -> HeldSetups:
        """Validate ``fetched`` (in workers, via ``run``) and publish the complete set.

        Shards already held under the same digest are reused; every other shard
        of the manifest must be in ``fetched``. Nothing is replaced unless all
        of it validates.
        """
        manifest.check()
        wanted = self.wanted(manifest)
        missing = [s for s in wanted if s not in fetched]
        if missing:
            raise MalformedPsiMessage("sync", f"is missing {len(missing)} announced shard(s)")
        held = self.get(manifest.peer, manifest.view)
        shards: dict[int, bytes] = {}
        total = 0
        for shard_id in sorted(manifest.digests):
            if shard_id in wanted:
                data = bytes(fetched[shard_id])
                if len(data) > self.limits.max_setup_bytes:
                    raise MalformedPsiMessage("shard.setup", "is above the setup size limit")
                run(check_shard_setup, data, manifest.digests[shard_id], self.limits)
            else:
                assert held is not None  # not wanted means held with this digest
                data = bytes(held.shards[shard_id])
            total += len(data)
            if total > MAX_HELD_BYTES_PER_VIEW:
                raise MalformedPsiMessage(
                    "sync", f"would hold more than {MAX_HELD_BYTES_PER_VIEW} bytes for one view"
                )
            shards[shard_id] = data
        result = HeldSetups(manifest=manifest, shards=shards)
        with self._lock:
            self._held[(manifest.peer, manifest.view)] = result
        return result

    def forget_peer(self, peer: str) -> None:
        """Drop everything held for a removed counterpart."""
        with self._lock:
            for slot in [s for s in self._held if s[0] == peer]:
                del self._held[slot]

    def forget(self, peer: str, view: str) -> None:
        """Drop what is held for one (peer, view), e.g. after the counterpart said it is stale."""
        with self._lock:
            self._held.pop((peer, view), None)


class HeldLookup:
    """One lookup against held setups: a fresh client key, the request, the groups.

    ``distinct`` are the request's keys in the (random) order they were sent.
    """

    def __init__(
        self,
        keys: Sequence[str],
        run: Run,
        *,
        parallelism: int = 1,
        clients: SpareClients | None = None,
    ) -> None:
        distinct = list(dict.fromkeys(keys))
        secrets.SystemRandom().shuffle(distinct)
        self.distinct = distinct
        self._run = run
        self._parallelism = max(1, parallelism)
        self._client: object = None
        if clients is not None and len(distinct) <= _INLINE_REQUEST:
            self._key, self._client = clients.take()
        else:
            self._key = new_server_key()
        self.request_bytes = self._blind()

    @property
    def element_count(self) -> int:
        """Distinct keys in the request (what the counterpart charges)."""
        return len(self.distinct)

    def _blind(self) -> bytes:
        if len(self.distinct) <= _INLINE_REQUEST:
            return blind_inline(self._key, self.distinct, self._client)
        step = -(-len(self.distinct) // self._parallelism)
        parts = [self.distinct[i : i + step] for i in range(0, len(self.distinct), step)]
        with ThreadPoolExecutor(max_workers=self._parallelism) as threads:
            points = list(threads.map(lambda p: self._run(create_request, self._key, p), parts))
        slices: list[list[bytes]] = []
        for chunk in points:
            if not isinstance(chunk, list):
                raise TypeError("a request slice returned an unexpected result")
            slices.append(chunk)
        return join_request(slices)

    def finish(self, held: HeldSetups, response_bytes: bytes) -> set[str]:
        """The keys the counterpart holds, computed from held shards only."""
        check_response(response_bytes, self.element_count)
        manifest = held.manifest
        groups: dict[int, list[int]] = {}
        for position, key in enumerate(self.distinct):
            for shard_id in shards_of(manifest.shard_salt, key, manifest.layout):
                groups.setdefault(shard_id, []).append(position)
        ordered = sorted(groups.items())
        pairs = [(held.shards[s], positions) for s, positions in ordered]
        # A small lookup is one worker call: splitting it would cost a thread and a
        # second round trip (and a second client key set-up) for a few points.
        if len(self.distinct) <= _INLINE_REQUEST or len(pairs) <= 4 or self._parallelism == 1:
            found = self._run(held_intersection, self._key, response_bytes, pairs)
            indices = found if isinstance(found, list) else []
        else:
            # Base shards first, on every worker; then the delta shards, for the
            # keys not found in their base shard only (a hit there is a hit).
            split = next((n for n, (s, _) in enumerate(ordered) if s >= manifest.layout.base), None)
            base, delta = pairs[:split], pairs[len(pairs) if split is None else split :]
            indices = self._in_parallel(response_bytes, base)
            hit = set(indices)
            rest = [(b, [i for i in p if i not in hit]) for b, p in delta]
            indices += self._in_parallel(response_bytes, [(b, p) for b, p in rest if p])
        n = self.element_count
        return {self.distinct[i] for i in indices if isinstance(i, int) and 0 <= i < n}

    def _in_parallel(
        self, response_bytes: bytes, pairs: list[tuple[bytes, list[int]]]
    ) -> list[int]:
        """The indices found in ``pairs``, split over the workers."""
        if not pairs:
            return []
        step = -(-len(pairs) // self._parallelism)
        batches = [pairs[i : i + step] for i in range(0, len(pairs), step)]
        with ThreadPoolExecutor(max_workers=self._parallelism) as threads:
            parts = list(
                threads.map(
                    lambda b: self._run(held_intersection, self._key, response_bytes, b),
                    batches,
                )
            )
        return [i for part in parts if isinstance(part, list) for i in part if isinstance(i, int)]
