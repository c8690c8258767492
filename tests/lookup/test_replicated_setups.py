"""Held setups shared by replicas: built once by the leader, answered alike by every replica.

Two (or three) replicas of one agency run in this process over one store (an
SQLite file here, a PostgreSQL schema in a ``--postgres`` run); the secret
exchange between them stands in for the replica service (its transport is
tested in tests/store/test_replica_setups_e2e.py).
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from node import store
from node.match.held import HeldStore
from node.psi import PsiPool
from node.setups.book import ShardBuilder
from node.setups.epochs import Epoch, EpochKeys
from node.setups.errors import SetupsStale
from node.setups.replicated import ReplicatedBook
from node.setups.service import HeldSetupService
from node.setups.shards import ShardLayout
from node.setups.views import ViewCache, ViewKey
from node.store import held_setups
from tests.lookup.helpers import Clock, FakeRecords, sync, to_manifest

KEY = ViewKey("vn-customs", "criminal_investigation", "KE-VN-MoU-2024")
PHONES = [f"v1|phone|+2547000{i:05d}" for i in range(300)]


class Replica:
    """One replica: its own epoch keys and book, serving from the shared store."""

    def __init__(self, pool: PsiPool, db: Path, records: FakeRecords, clock: Clock) -> None:
        self.pool = pool
        self.keys = EpochKeys(epoch_seconds=3600, grace_seconds=60, clock=clock)
        self.book = ReplicatedBook(
            self.keys,
            ShardBuilder(pool.run, parallelism=2, shards_per_call=2),
            num_client=10_000,
            fpr=1e-9,
            db_path=db,
            layout=ShardLayout(base=8, delta=2),
            clock=clock,
        )
        self.service = HeldSetupService(
            self.book,
            ViewCache(records.compute),
            stamp=records.stamp,
            run=pool.run,
            clock_day=lambda: date(2026, 12, 1),
        )
        self.charged = 0
        self.alive = True

    def secrets_for(self, epoch_ids: set[str]) -> list[Epoch]:
        """What this replica's replica service would answer a sibling."""
        return self.book.held_secrets(epoch_ids) if self.alive else []

    def lead(self) -> None:
        self.book.lead(True)
        self.service.refresh([KEY])

    def follow(self) -> None:
        self.book.lead(False)
        self.book.follow()

    def charge(self, peer: str, n: int) -> int:
        self.charged += n
        return 1_000_000

    def lookup(self, held: HeldStore, keys: list[str]) -> set[str]:
        from node.match.held import HeldLookup

        synced = held.get(KEY.peer, KEY.name)
        assert synced is not None
        lookup = HeldLookup(keys, self.pool.run)
        answer, _ = self.service.answer(
            KEY,
            synced.manifest.epoch_id,
            synced.manifest.generation,
            lookup.request_bytes,
            charge=self.charge,
            max_elements=20_000,
        )
        return lookup.finish(synced, answer.psi_response)


class Agency:
    """Replicas of one agency over one store, wired to fetch secrets from each other."""

    def __init__(self, pool: PsiPool, tmp_path: Path) -> None:
        self.db = tmp_path / "node.db"
        store.ensure_current(self.db)
        self.pool = pool
        self.clock = Clock(1_000_000.0)
        self.records = FakeRecords(set(PHONES))
        self.replicas: list[Replica] = []

    def replica(self) -> Replica:
        made = Replica(self.pool, self.db, self.records, self.clock)

        def fetch(ids: set[str]) -> list[Epoch]:
            found: dict[str, Epoch] = {}
            for other in self.replicas:
                if other is not made:
                    found.update({e.epoch_id: e for e in other.secrets_for(ids)})
            return list(found.values())

        made.book.fetch = fetch
        self.replicas.append(made)
        return made


@pytest.fixture
def agency(lookup_pool: PsiPool, tmp_path: Path) -> Agency:
    return Agency(lookup_pool, tmp_path)


class TestBuiltOnce:
    def test_only_the_leader_builds_and_both_publish_the_same_manifest(
        self, agency: Agency
    ) -> None:
        """The leader builds every shard; the follower builds nothing and serves the same setups."""
        leader, follower = agency.replica(), agency.replica()
        leader.lead()
        follower.follow()
        assert leader.book.shards_built == 10
        assert follower.book.shards_built == 0
        assert to_manifest(KEY, follower.service.manifest(KEY)) == to_manifest(
            KEY, leader.service.manifest(KEY)
        )

    def test_synced_from_one_replica_answered_by_the_other(self, agency: Agency) -> None:
        """A requester syncs from the leader and looks up on the follower: same hits, no re-sync."""
        leader, follower = agency.replica(), agency.replica()
        leader.lead()
        held = HeldStore()
        sync(leader.service, held, KEY, agency.pool.run)
        asked = [PHONES[3], PHONES[200], "v1|phone|+254799999999"]
        assert follower.lookup(held, asked) == {PHONES[3], PHONES[200]}
        assert leader.lookup(held, asked) == {PHONES[3], PHONES[200]}
        assert held.wanted(to_manifest(KEY, follower.service.manifest(KEY))) == []

    def test_a_follower_fetches_the_secret_on_demand(self, agency: Agency) -> None:
        """A follower that never followed gets the epoch secret from the leader at the lookup."""
        leader = agency.replica()
        leader.lead()
        held = HeldStore()
        sync(leader.service, held, KEY, agency.pool.run)
        late = agency.replica()  # started after the build: holds no secret yet
        assert late.lookup(held, [PHONES[7]]) == {PHONES[7]}

    def test_no_sibling_holds_the_secret_refused_before_the_charge(self, agency: Agency) -> None:
        """When no replica can supply the epoch's secret the lookup is refused, uncharged."""
        leader, follower = agency.replica(), agency.replica()
        leader.lead()
        held = HeldStore()
        sync(leader.service, held, KEY, agency.pool.run)
        leader.alive = False  # gone before the follower fetched the secret
        with pytest.raises(SetupsStale):
            follower.lookup(held, [PHONES[1]])
        assert follower.charged == 0

    def test_removed_keys_stop_answering_on_every_replica(self, agency: Agency) -> None:
        """A removal published by the leader makes the follower refuse the older generation."""
        leader, follower = agency.replica(), agency.replica()
        leader.lead()
        follower.follow()
        held = HeldStore()
        sync(follower.service, held, KEY, agency.pool.run)
        agency.records.remove(PHONES[5])
        leader.service.refresh([KEY])
        with pytest.raises(SetupsStale):
            follower.lookup(held, [PHONES[5]])
        assert follower.charged == 0
        sync(follower.service, held, KEY, agency.pool.run)
        assert follower.lookup(held, [PHONES[5], PHONES[6]]) == {PHONES[6]}


class TestFailover:
    def test_the_new_leader_continues_the_epoch_without_a_resync(self, agency: Agency) -> None:
        """The leader dies; the follower leads on with the same epoch and generation."""
        leader, follower = agency.replica(), agency.replica()
        leader.lead()
        follower.follow()  # fetched the secrets ahead of need
        held = HeldStore()
        sync(leader.service, held, KEY, agency.pool.run)
        before = to_manifest(KEY, leader.service.manifest(KEY))
        leader.alive = False
        follower.lead()
        assert follower.book.adopted == 1
        assert to_manifest(KEY, follower.service.manifest(KEY)) == before
        assert follower.lookup(held, [PHONES[9], PHONES[10]]) == {PHONES[9], PHONES[10]}
        agency.records.add("v1|phone|+254711111111")
        follower.service.refresh([KEY])
        after = to_manifest(KEY, follower.service.manifest(KEY))
        assert (after.epoch_id, after.generation) == (before.epoch_id, before.generation + 1)
        sync(follower.service, held, KEY, agency.pool.run)
        assert follower.lookup(held, ["v1|phone|+254711111111"]) == {"v1|phone|+254711111111"}

    def test_a_lost_secret_starts_a_new_epoch(self, agency: Agency) -> None:
        """When no replica holds the epoch's secret, the next leader starts a new epoch."""
        leader = agency.replica()
        leader.lead()
        held = HeldStore()
        sync(leader.service, held, KEY, agency.pool.run)
        old = held.get(KEY.peer, KEY.name)
        assert old is not None
        leader.alive = False
        newcomer = agency.replica()
        newcomer.lead()
        assert newcomer.book.adopted == 0
        with pytest.raises(SetupsStale):
            newcomer.lookup(held, [PHONES[2]])
        assert newcomer.service.manifest(KEY).epoch.epoch_id != old.manifest.epoch_id
        sync(newcomer.service, held, KEY, agency.pool.run)
        assert newcomer.lookup(held, [PHONES[2]]) == {PHONES[2]}


class TestStoredParts:
    def test_the_store_holds_no_epoch_secret(self, agency: Agency) -> None:
        """Published rows carry the public salt and setups, never the key or padding secret."""
        leader = agency.replica()
        leader.lead()
        generation = leader.service.manifest(KEY)
        epoch = leader.keys.find(KEY.peer, generation.epoch.epoch_id)
        assert epoch is not None
        with store.opened(agency.db) as conn:
            rows = held_setups.generations(conn)
            stored = held_setups.setups(conn, epoch.epoch_id, [s[1] for s in rows[0].shards])
            dump = "\n".join(
                repr(tuple(r))
                for table in ("held_generations", "held_shard_setups", "held_views")
                for r in conn.execute(f"SELECT * FROM {table}")
            )
        assert rows[0].shard_salt == epoch.shard_salt
        for secret in (epoch.key, epoch.padding_secret):
            assert secret.hex() not in dump
            assert secret not in dump.encode()
            assert all(secret not in blob for blob in stored.values())
