"""Shard assignment and padding for epoch setups.

A lookup must decode only the shards its own keys fall in (GCS decoding is
linear in the setup's size), and a record change must rebuild only a little.
So a view is split in two layers:

* **base** shards (256 by default), built when the epoch starts, and
* **delta** shards (16 by default), holding keys added since the base was
  built, so adding records rebuilds a few small shards instead of touching
  nearly every base shard. A removal rebuilds the base and delta shard the key
  was in. When the delta grows past a share of the base, the next build folds
  it into a fresh base (in the background, double-buffered).

A key's shard is a keyed hash (HMAC-SHA256 with the epoch's shard salt) of
the plaintext key; the requester receives the salt with the manifest so it
can place its own keys, and the responder never learns which shards a lookup
used. Every shard of a layer is padded to one common capacity with dummies
derived from the epoch's padding secret, so shard sizes reveal the layer's
largest shard (to within a sixteenth) and nothing per shard.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

DEFAULT_BASE_SHARDS = 256
DEFAULT_DELTA_SHARDS = 16
MIN_CAPACITY = 64
# Capacities are rounded up to a sixteenth of their power of two: at most
# ~6 % padding (build time) for a size signal no finer than that.
_CAPACITY_STEPS_LOG2 = 4
# Dummies start with a NUL byte, which no match key contains.
_DUMMY_PREFIX = "\x00spoor-epoch-padding|"


@dataclass(frozen=True)
class ShardLayout:
    """How many base and delta shards a view is split into (shard ids: base first)."""

    base: int = DEFAULT_BASE_SHARDS
    delta: int = DEFAULT_DELTA_SHARDS

    def __post_init__(self) -> None:
        if not 1 <= self.base <= 65536 or not 1 <= self.delta <= 4096:
            raise ValueError("a layout needs 1-65536 base shards and 1-4096 delta shards")

    @property
    def total(self) -> int:
        """Number of shard ids."""
        return self.base + self.delta

    def is_delta(self, shard_id: int) -> bool:
        """True for a delta shard id."""
        return shard_id >= self.base


def _digest(salt: bytes, element: str) -> bytes:
    return hmac.new(salt, element.encode("utf-8"), hashlib.sha256).digest()


def shards_of(salt: bytes, element: str, layout: ShardLayout) -> tuple[int, int]:
    """(base shard id, delta shard id) a key falls in under ``salt``."""
    d = _digest(salt, element)
    base = int.from_bytes(d[:8], "big") % layout.base
    delta = layout.base + int.from_bytes(d[8:16], "big") % layout.delta
    return base, delta


def capacity(n: int) -> int:
    """The padded size for a shard of ``n`` keys (at least ``MIN_CAPACITY``)."""
    if n < 0:
        raise ValueError("a shard size cannot be negative")
    if n <= MIN_CAPACITY:
        return MIN_CAPACITY
    step = 1 << max(0, n.bit_length() - 1 - _CAPACITY_STEPS_LOG2)
    return -(-n // step) * step


def dummies(secret: bytes, shard_id: int, start: int, stop: int) -> list[str]:
    """Padding dummies ``start``..``stop`` of a shard; the same for the whole epoch."""
    out = []
    for i in range(start, stop):
        tag = hmac.new(secret, f"{shard_id}|{i}".encode(), hashlib.sha256).hexdigest()[:32]
        out.append(_DUMMY_PREFIX + tag)
    return out


def padded(secret: bytes, shard_id: int, keys: Sequence[str], cap: int) -> list[str]:
    """A shard's keys followed by its first ``cap - len(keys)`` dummies.

    Dummy ``i`` fills slot ``i``, so a shard that gains one key loses one
    dummy and one that loses a key regains it: between two builds of an epoch
    the shard differs in as many values as keys changed, in either direction.
    """
    if len(keys) > cap:
        raise ValueError("a shard cannot hold more keys than its capacity")
    return [*keys, *dummies(secret, shard_id, len(keys), cap)]


def partition(
    salt: bytes, elements: Iterable[str], layout: ShardLayout, *, delta: bool = False
) -> dict[int, list[str]]:
    """Sorted keys per shard id of one layer (every shard of the layer present)."""
    ids = range(layout.base, layout.total) if delta else range(layout.base)
    out: dict[int, list[str]] = {i: [] for i in ids}
    for element in elements:
        base, dshard = shards_of(salt, element, layout)
        out[dshard if delta else base].append(element)
    for keys in out.values():
        keys.sort()
    return out
