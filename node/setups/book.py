"""The responder's epoch setups: built in the background, published whole.

For each (counterpart, view) the book holds one published *generation*: the
epoch it was built under and one GCS setup per shard. ``refresh`` builds the
next generation beside the published one and swaps it in only when every
shard is built (double buffering), so a manifest or a sync never sees a
half-built generation and a lookup never waits for a build. Within an epoch
only the shards whose keys changed are rebuilt; a new epoch or a new policy
rebuilds everything under a new key.

Removals and policy changes must stop answering at once: a generation that
removed keys raises the minimum generation the responder answers for, and a
policy change starts a new epoch and retires the old one with no grace, so a
requester still holding older shards is told to sync before it can look up.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from node.psi.held import build_shard_setups
from node.setups import shards as sh
from node.setups.epochs import Epoch, EpochKeys
from node.setups.views import View

# The delta layer is folded into a fresh base once it holds this share of the
# base (or this many keys, whichever is larger).
DELTA_SHARE = 0.05
DELTA_FLOOR = 4096


@dataclass(frozen=True)
class ShardSetup:
    """One built shard: its setup bytes and their digest (what the manifest names)."""

    shard_id: int
    setup: bytes = field(repr=False)
    digest: str


@dataclass(frozen=True)
class Generation:
    """Everything published for one (counterpart, view) at one moment."""

    epoch: Epoch
    number: int
    layout: sh.ShardLayout
    policy_digest: str
    num_client: int
    elements: frozenset[str] = field(repr=False)
    delta_keys: frozenset[str] = field(repr=False)
    shard_keys: Mapping[int, tuple[str, ...]] = field(repr=False)
    base_capacity: int
    delta_capacity: int
    shards: Mapping[int, ShardSetup] = field(repr=False)
    shards_rebuilt: int = 0

    @property
    def setup_bytes(self) -> int:
        """Total bytes of every shard setup (what a full sync transfers)."""
        return sum(len(s.setup) for s in self.shards.values())

    @property
    def padded_elements(self) -> int:
        """Elements encoded over all shards, dummies included."""
        return self.layout.base * self.base_capacity + self.layout.delta * self.delta_capacity


class ShardBuilder:
    """Builds shard setups in a PSI pool, spreading batches over its workers."""

    def __init__(
        self,
        run: Callable[..., object],
        *,
        parallelism: int,
        shards_per_call: int = 8,
        timeout_s: float | None = None,
    ) -> None:
        self._run = run
        self.parallelism = max(1, parallelism)
        self.shards_per_call = max(1, shards_per_call)
        self.timeout_s = timeout_s

    def build(
        self, key: bytes, shards: Sequence[Sequence[str]], num_client: int, fpr: float
    ) -> list[bytes]:
        """Setup bytes for each padded shard, in order."""
        batches = [
            list(shards[i : i + self.shards_per_call])
            for i in range(0, len(shards), self.shards_per_call)
        ]

        def one(batch: list[Sequence[str]]) -> list[bytes]:
            out = self._run(
                build_shard_setups, key, batch, num_client, fpr, timeout_s=self.timeout_s
            )
            if not isinstance(out, list) or len(out) != len(batch):
                raise RuntimeError("a shard build returned an unexpected result")
            return [bytes(b) for b in out]

        if len(batches) <= 1 or self.parallelism == 1:
            return [b for batch in batches for b in one(batch)]
        with ThreadPoolExecutor(max_workers=self.parallelism) as threads:
            return [b for part in threads.map(one, batches) for b in part]


class SetupBook:
    """Published generations per (counterpart, view), rebuilt on demand."""

    def __init__(
        self,
        keys: EpochKeys,
        builder: ShardBuilder,
        *,
        num_client: int,
        fpr: float,
        layout: sh.ShardLayout | None = None,
    ) -> None:
        self.keys = keys
        self.builder = builder
        self.num_client = num_client
        self.fpr = fpr
        self.layout = layout or sh.ShardLayout()
        self._lock = threading.Lock()
        self._published: dict[tuple[str, str], Generation] = {}
        self._min_generation: dict[tuple[str, str], int] = {}
        self._build_locks: dict[tuple[str, str], threading.Lock] = {}
        self.shards_built = 0

    def published(self, peer: str, view: str) -> Generation | None:
        """The generation in force for (peer, view name), if any (never waits)."""
        return self.built(peer, view)

    def built(self, peer: str, view: str) -> Generation | None:
        """The generation this process built last for (peer, view name), if any."""
        with self._lock:
            return self._published.get((peer, view))

    def answerable(self, peer: str, epoch_id: str, view: str, generation: int) -> Epoch | None:
        """The epoch to answer a lookup with, or ``None`` when the caller must sync first."""
        epoch = self.keys.find(peer, epoch_id)
        if epoch is None or epoch.view != view:
            return None
        with self._lock:
            floor = self._min_generation.get((peer, view), 0)
            current = self._published.get((peer, view))
        if current is not None and current.epoch.epoch_id == epoch_id and generation < floor:
            return None
        return epoch

    def forget_peer(self, peer: str) -> None:
        """Drop every generation and key of a removed counterpart."""
        with self._lock:
            for slot in [s for s in self._published if s[0] == peer]:
                del self._published[slot]
        self.keys.forget_peer(peer)

    def refresh(self, view: View) -> Generation:
        """Bring (peer, view) up to date with ``view``; publish and return the result."""
        slot = (view.key.peer, view.key.name)
        with self._lock:
            build_lock = self._build_locks.setdefault(slot, threading.Lock())
        with build_lock:
            current = self.built(*slot)
            policy_changed = current is not None and current.policy_digest != (
                view.stamp.policy_digest
            )
            epoch = self.keys.rotate(*slot) if policy_changed else self.keys.current(*slot)
            if current is None or current.epoch.epoch_id != epoch.epoch_id:
                built = self._full(epoch, view, number=1)
            else:
                built = self._incremental(current, view)
            if built is current:
                return current
            with self._lock:
                self._published[slot] = built
                removed = current is not None and bool(current.elements - built.elements)
                if removed and current is not None and current.epoch is built.epoch:
                    self._min_generation[slot] = built.number
                elif current is None or current.epoch is not built.epoch:
                    self._min_generation[slot] = 0
            if policy_changed:
                # The new generation is published: the old key stops answering now.
                self.keys.drop_previous(*slot)
            return built

    def _full(
        self, epoch: Epoch, view: View, *, number: int, min_capacities: tuple[int, int] = (0, 0)
    ) -> Generation:
        base = sh.partition(epoch.shard_salt, view.elements, self.layout)
        delta = sh.partition(epoch.shard_salt, (), self.layout, delta=True)
        shard_keys = {s: tuple(k) for s, k in (*base.items(), *delta.items())}
        return self._assemble(
            epoch, view, number, shard_keys, frozenset(), set(shard_keys), previous=None,
            min_capacities=min_capacities,
        )  # fmt: skip

    def _incremental(self, current: Generation, view: View) -> Generation:
        """Rebuild only the shards whose keys changed (removals in place, additions in delta)."""
        if view.elements == current.elements and (
            view.stamp.policy_digest == current.policy_digest
        ):
            return current
        epoch = current.epoch
        added = view.elements - current.elements
        removed = current.elements - view.elements
        delta_keys = (current.delta_keys - removed) | added
        if len(delta_keys) > max(DELTA_FLOOR, DELTA_SHARE * (len(view.elements) - len(delta_keys))):
            return self._full(epoch, view, number=current.number + 1)
        changed: dict[int, set[str]] = {}
        touched: set[int] = set()
        for key in removed:
            base, dshard = sh.shards_of(epoch.shard_salt, key, self.layout)
            shard = dshard if key in current.delta_keys else base
            changed.setdefault(shard, set(current.shard_keys[shard])).discard(key)
            touched.add(shard)
        for key in added:
            _, dshard = sh.shards_of(epoch.shard_salt, key, self.layout)
            changed.setdefault(dshard, set(current.shard_keys[dshard])).add(key)
            touched.add(dshard)
        shard_keys = dict(current.shard_keys)
        for shard, keys in changed.items():
            shard_keys[shard] = tuple(sorted(keys))
        return self._assemble(
            epoch, view, current.number + 1, shard_keys, frozenset(delta_keys), touched,
            previous=current,
        )  # fmt: skip

    def _assemble(
        self,
        epoch: Epoch,
        view: View,
        number: int,
        shard_keys: dict[int, tuple[str, ...]],
        delta_keys: frozenset[str],
        touched: set[int],
        *,
        previous: Generation | None,
        min_capacities: tuple[int, int] = (0, 0),
    ) -> Generation:
        layout = self.layout
        base_cap = sh.capacity(max(len(shard_keys[s]) for s in range(layout.base)))
        delta_cap = sh.capacity(max(len(shard_keys[s]) for s in range(layout.base, layout.total)))
        # A replica continuing another's epoch keeps the capacities it published.
        base_cap, delta_cap = max(base_cap, min_capacities[0]), max(delta_cap, min_capacities[1])
        if previous is not None:
            # Capacities never shrink within an epoch: a shrinking shard must not
            # show through a smaller padded size.
            base_cap = max(base_cap, previous.base_capacity)
            delta_cap = max(delta_cap, previous.delta_capacity)
        todo: list[tuple[int, list[str]]] = []
        kept: dict[int, ShardSetup] = {}
        for shard_id, keys in shard_keys.items():
            is_delta = layout.is_delta(shard_id)
            cap = delta_cap if is_delta else base_cap
            old = previous.shards.get(shard_id) if previous is not None else None
            same_cap = previous is not None and cap == (
                previous.delta_capacity if is_delta else previous.base_capacity
            )
            if old is not None and same_cap and shard_id not in touched:
                kept[shard_id] = old
            else:
                todo.append((shard_id, sh.padded(epoch.padding_secret, shard_id, keys, cap)))
        built = self.builder.build(epoch.key, [t[1] for t in todo], self.num_client, self.fpr)
        self.shards_built += len(todo)
        for (shard_id, _), setup in zip(todo, built, strict=True):
            kept[shard_id] = ShardSetup(
                shard_id=shard_id,
                setup=setup,
                digest=hashlib.sha256(setup).hexdigest(),
            )
        return Generation(
            epoch=epoch,
            number=number,
            layout=layout,
            policy_digest=view.stamp.policy_digest,
            num_client=self.num_client,
            elements=view.elements,
            delta_keys=delta_keys,
            shard_keys=shard_keys,
            base_capacity=base_cap,
            delta_capacity=delta_cap,
            shards=dict(sorted(kept.items())),
            shards_rebuilt=len(todo),
        )
