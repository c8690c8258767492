"""Helpers for held-setup tests: a movable clock, a record source, a sync loop."""

from __future__ import annotations

from datetime import date

from node.match.held import HeldStore, Manifest
from node.setups.book import Generation
from node.setups.service import HeldSetupService, Run
from node.setups.views import ViewKey


class Clock:
    """A clock tests move by hand (seconds)."""

    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


class FakeRecords:
    """Keys per peer and a policy digest, standing in for the store and the policy."""

    def __init__(self, keys: set[str]) -> None:
        self.keys = set(keys)
        self.excluded: dict[str, set[str]] = {}
        self.version = 0
        self.policy_digest = "p1"

    def compute(self, key: ViewKey, day: date) -> tuple[frozenset[str], int]:
        visible = self.keys - self.excluded.get(key.purpose, set())
        return frozenset(visible), len(visible)

    def stamp(self) -> tuple[tuple[object, ...], str]:
        return (self.version,), self.policy_digest

    def add(self, *keys: str) -> None:
        self.keys.update(keys)
        self.version += 1

    def remove(self, *keys: str) -> None:
        self.keys.difference_update(keys)
        self.version += 1


def to_manifest(key: ViewKey, generation: Generation) -> Manifest:
    """The manifest a requester receives for ``generation`` (what the wire carries)."""
    return Manifest(
        peer=key.peer,
        view=key.name,
        epoch_id=generation.epoch.epoch_id,
        generation=generation.number,
        shard_salt=generation.epoch.shard_salt,
        layout=generation.layout,
        digests={s: shard.digest for s, shard in generation.shards.items()},
        policy_digest=generation.policy_digest,
        expires_at=generation.epoch.expires_at,
    )


def sync(service: HeldSetupService, held: HeldStore, key: ViewKey, run: Run) -> int:
    """Fetch what changed and apply it; the number of shard bytes fetched."""
    generation = service.manifest(key)
    manifest = to_manifest(key, generation)
    wanted = held.wanted(manifest)
    fetched = {s.shard_id: s.setup for s in service.shards(key, manifest.epoch_id, wanted)}
    held.apply(manifest, fetched, run)
    return sum(len(b) for b in fetched.values())
