"""Fixtures for held-setup tests: a worker pool and a small responder/requester pair."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date

import pytest

from node.match.held import HeldLookup, HeldStore, Manifest
from node.psi import PsiPool
from node.setups.book import SetupBook, ShardBuilder
from node.setups.epochs import EpochKeys
from node.setups.service import HeldSetupService
from node.setups.shards import ShardLayout
from node.setups.views import ViewCache, ViewKey
from tests.lookup.helpers import Clock, FakeRecords, sync, to_manifest


@pytest.fixture(scope="session")
def lookup_pool() -> Iterator[PsiPool]:
    """A two-worker pool shared by the held-setup tests."""
    with PsiPool(max_workers=2, timeout_s=60) as pool:
        yield pool


class Pair:
    """A responder service over ``FakeRecords`` and a requester's held store."""

    def __init__(self, pool: PsiPool, records: FakeRecords, clock: Clock) -> None:
        self.pool = pool
        self.records = records
        self.clock = clock
        self.keys = EpochKeys(epoch_seconds=3600, grace_seconds=60, clock=clock)
        self.book = SetupBook(
            self.keys,
            ShardBuilder(pool.run, parallelism=2, shards_per_call=2),
            num_client=10_000,
            fpr=1e-9,
            layout=ShardLayout(base=8, delta=2),
        )
        self.views = ViewCache(records.compute)
        self.service = HeldSetupService(
            self.book,
            self.views,
            stamp=records.stamp,
            run=pool.run,
            clock_day=lambda: date(2026, 12, 1),
        )
        self.held = HeldStore()
        self.charged: list[tuple[str, int]] = []

    def charge(self, peer: str, n: int) -> int:
        self.charged.append((peer, n))
        return 1_000_000

    def sync(self, key: ViewKey) -> int:
        """Sync the requester with the published generation; bytes fetched."""
        return sync(self.service, self.held, key, self.pool.run)

    def lookup(self, key: ViewKey, keys: list[str], parallelism: int = 1) -> set[str]:
        held = self.held.get(key.peer, key.name)
        assert held is not None, "nothing held"
        lookup = HeldLookup(keys, self.pool.run, parallelism=parallelism)
        answer, _ = self.service.answer(
            key,
            held.manifest.epoch_id,
            held.manifest.generation,
            lookup.request_bytes,
            charge=self.charge,
            max_elements=20_000,
        )
        return lookup.finish(held, answer.psi_response)

    def manifest(self, key: ViewKey) -> Manifest:
        return to_manifest(key, self.service.manifest(key))


@pytest.fixture
def pair(lookup_pool: PsiPool) -> Pair:
    """A fresh responder/requester pair over 300 keys for one peer."""
    records = FakeRecords({f"v1|phone|+2547000{i:05d}" for i in range(300)})
    return Pair(lookup_pool, records, Clock(1_000_000.0))
