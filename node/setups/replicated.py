"""Held setups shared by the replicas of one agency on one PostgreSQL store.

Several ``spoor serve`` replicas serve one agency. Building setups costs the
whole view's curve work, so only the replica leading the background jobs
(:class:`node.store.JobsLeadership`) builds them; it publishes each
generation's public parts — epoch id, number, layout, capacities, shard salt,
expiry, the lowest generation still answered, the previous epoch in its
grace period, and the shard setups with their digests — in the store
(:mod:`node.store.held_setups`). Every replica, the leader included, serves
manifests, syncs and held lookups from what is published, so a counterpart
may sync from one replica and look up on another.

The epoch secrets (server key, padding secret) never reach the store: a
follower asks its siblings for them over the replica service (mutual TLS
with the agency's own certificate, :mod:`node.rpc.replica_client`), ahead of
need on every refresh pass and on demand when a lookup names an epoch it
does not hold yet; only when no sibling holds the secret is the lookup
refused (before its budget is charged), as a single node refuses an ended
epoch.

When the leader dies another replica takes the jobs lock and *adopts* the
published epochs whose secrets it holds: it rebuilds the view once under the
same epoch (same key, salt and padding, so unchanged shards come out with the
same digests) and publishes nothing new when nothing changed, so counterparts
keep their setups. An epoch whose secret no replica holds any more is
replaced by a new one, as after a single node's restart.
"""

from __future__ import annotations

import dataclasses
import secrets
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from node import store
from node.app.logs import get_logger
from node.psi.held import valid_key
from node.setups import shards as sh
from node.setups.book import Generation, SetupBook, ShardBuilder, ShardSetup
from node.setups.epochs import Epoch, EpochKeys
from node.setups.views import View, ViewKey
from node.store import held_setups as repo
from node.store.timecodec import format_ts, parse_ts

log = get_logger("spoor.setups")

#: Asks sibling replicas for the secrets of these epoch ids; returns those found.
SecretFetch = Callable[[set[str]], list[Epoch]]
#: After a sibling could not supply an epoch's secret, wait this long before asking again.
_RETRY_S = 2.0


def _unix(text: str) -> float:
    return parse_ts(text).timestamp()


def _stamp(unix: float) -> str:
    return format_ts(datetime.fromtimestamp(unix, UTC))


def well_formed(epoch: Epoch) -> bool:
    """Whether secrets received from a sibling can be used at all."""
    return valid_key(epoch.key) and len(epoch.padding_secret) == 32 and len(epoch.shard_salt) == 16


class ReplicatedBook(SetupBook):
    """A :class:`SetupBook` whose published generations live in the store for every replica."""

    def __init__(
        self,
        keys: EpochKeys,
        builder: ShardBuilder,
        *,
        num_client: int,
        fpr: float,
        db_path: Path,
        layout: sh.ShardLayout | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        super().__init__(keys, builder, num_client=num_client, fpr=fpr, layout=layout)
        self.db_path = db_path
        self.fetch: SecretFetch | None = None
        self._clock = clock
        self._secrets_lock = threading.Lock()
        self._fetched: dict[str, Epoch] = {}
        self._failed: dict[str, float] = {}
        self._served: dict[tuple[str, str], Generation] = {}
        self.leading = False
        self.adopted = 0

    # -- serving (every replica) ------------------------------------------------

    def published(self, peer: str, view: str) -> Generation | None:
        """The generation published in the store for (peer, view), with its shard setups."""
        with store.pooled(self.db_path) as conn:
            row = repo.generation(conn, peer, view)
            if row is None:
                return None
            slot = (peer, view)
            with self._lock:
                cached = self._served.get(slot)
            if (
                cached is not None
                and cached.epoch.epoch_id == row.epoch_id
                and cached.number == row.generation
            ):
                return cached
            have: dict[str, bytes] = {}
            if cached is not None and cached.epoch.epoch_id == row.epoch_id:
                have = {s.digest: s.setup for s in cached.shards.values()}
            need = [d for _, d, _ in row.shards if d not in have]
            have.update(repo.setups(conn, row.epoch_id, need))
        if any(d not in have for _, d, _ in row.shards):
            return cached  # a newer generation replaced it meanwhile: the next call reads that
        generation = Generation(
            # The public half of the epoch: its secrets are asked for only to answer.
            epoch=Epoch(
                epoch_id=row.epoch_id,
                peer=peer,
                view=view,
                started_at=_unix(row.started_at),
                expires_at=_unix(row.expires_at),
                shard_salt=row.shard_salt,
                _key=b"",
                _padding_secret=b"",
            ),
            number=row.generation,
            layout=sh.ShardLayout(row.base_shards, row.delta_shards),
            policy_digest=row.policy_digest,
            num_client=row.num_client,
            elements=frozenset(),
            delta_keys=frozenset(),
            shard_keys={},
            base_capacity=row.base_capacity,
            delta_capacity=row.delta_capacity,
            shards={s: ShardSetup(shard_id=s, setup=have[d], digest=d) for s, d, _ in row.shards},
        )
        with self._lock:
            self._served[slot] = generation
        return generation

    def answerable(self, peer: str, epoch_id: str, view: str, generation: int) -> Epoch | None:
        """The epoch to answer with, its secret fetched from a sibling if need be, or ``None``."""
        with store.pooled(self.db_path) as conn:
            row = repo.generation(conn, peer, view)
        if row is None:
            return None
        now = self._clock()
        if row.epoch_id == epoch_id:
            if now >= _unix(row.expires_at) or generation < row.min_generation:
                return None
        elif (
            row.previous_epoch_id != epoch_id
            or row.previous_until is None
            or now >= _unix(row.previous_until)
        ):
            return None
        epoch = self.secret(epoch_id)
        if epoch is None or epoch.peer != peer or epoch.view != view:
            return None
        return epoch

    def held_secrets(self, epoch_ids: set[str]) -> list[Epoch]:
        """The epochs among ``epoch_ids`` this replica holds (built, adopted or fetched)."""
        found = {e.epoch_id: e for e in self.keys.held(epoch_ids)}
        with self._secrets_lock:
            for epoch_id in epoch_ids - set(found):
                fetched = self._fetched.get(epoch_id)
                if fetched is not None:
                    found[epoch_id] = fetched
        return list(found.values())

    def secret(self, epoch_id: str) -> Epoch | None:
        """The epoch ``epoch_id`` with its secrets: held here, or asked of a sibling now."""
        held = self.held_secrets({epoch_id})
        if held:
            return held[0]
        with self._secrets_lock:
            if self._clock() - self._failed.get(epoch_id, float("-inf")) < _RETRY_S:
                return None
        self._fetch({epoch_id})
        held = self.held_secrets({epoch_id})
        return held[0] if held else None

    def _fetch(self, epoch_ids: set[str]) -> None:
        if self.fetch is None or not epoch_ids:
            return
        try:
            received = self.fetch(epoch_ids)
        except Exception as exc:  # siblings unreachable: answer what we hold
            log.warning("epoch secrets unavailable from siblings", error=type(exc).__name__)
            received = []
        now = self._clock()
        with self._secrets_lock:
            for epoch in received:
                if epoch.epoch_id in epoch_ids and well_formed(epoch):
                    self._fetched[epoch.epoch_id] = epoch
                    self._failed.pop(epoch.epoch_id, None)
            for epoch_id in epoch_ids - set(self._fetched):
                self._failed[epoch_id] = now

    def follow(self) -> None:
        """A follower's pass: fetch published epochs' secrets ahead of need, drop ended ones."""
        with store.pooled(self.db_path) as conn:
            rows = repo.generations(conn)
        live = {r.epoch_id for r in rows} | {
            r.previous_epoch_id for r in rows if r.previous_epoch_id
        }
        with self._secrets_lock:
            for epoch_id in set(self._fetched) - live:
                del self._fetched[epoch_id]
        missing = {e for e in live if not self.held_secrets({e})}
        self._fetch(missing)
        with self._lock:
            for slot in [s for s in self._served if s not in {(r.peer, r.view) for r in rows}]:
                del self._served[slot]

    # -- building (the leader only) ---------------------------------------------

    def lead(self, leading: bool) -> None:
        """Record whether this replica leads now; a replica that (re)gains the lead forgets
        what it built before, so it continues from what is published, not from its past."""
        if leading and not self.leading:
            with self._lock:
                self._published.clear()
                self._min_generation.clear()
        self.leading = leading

    def refresh(self, view: View) -> Generation:
        """Build what changed (adopting the published epoch first), then publish it."""
        slot = (view.key.peer, view.key.name)
        if self.built(*slot) is None:
            self._adopt(view)
        built = super().refresh(view)
        self._publish(built)
        return built

    def _adopt(self, view: View) -> None:
        slot = (view.key.peer, view.key.name)
        with store.pooled(self.db_path) as conn:
            row = repo.generation(conn, *slot)
        if row is None or row.policy_digest != view.stamp.policy_digest:
            return  # nothing published, or a new policy: a new epoch starts
        if self._clock() >= _unix(row.expires_at):
            return
        epoch = self.secret(row.epoch_id)
        if epoch is None or (epoch.peer, epoch.view) != slot:
            log.info("held setups: published epoch lost", peer_agency=slot[0])
            return  # no replica holds its secret any more: a new epoch starts
        self.keys.adopt(epoch)
        layout_same = (row.base_shards, row.delta_shards) == (self.layout.base, self.layout.delta)
        rebuilt = self._full(
            epoch,
            view,
            number=row.generation,
            min_capacities=(row.base_capacity, row.delta_capacity) if layout_same else (0, 0),
        )
        same = layout_same and {s: x.digest for s, x in rebuilt.shards.items()} == {
            s: d for s, d, _ in row.shards
        }
        if not same:
            # What changed is unknown (the old leader's key lists went with it): count
            # the rebuild as one that may have removed keys, so older shards stop answering.
            rebuilt = dataclasses.replace(rebuilt, number=row.generation + 1)
        with self._lock:
            self._published[slot] = rebuilt
            self._min_generation[slot] = row.min_generation if same else rebuilt.number
        self.adopted += 1
        log.info(
            "held setups adopted",
            peer_agency=slot[0],
            generation=rebuilt.number,
            unchanged=same,
        )

    def _publish(self, built: Generation) -> None:
        """Write ``built``'s public parts to the store unless they are there already."""
        slot = (built.epoch.peer, built.epoch.view)
        with self._lock:
            floor = self._min_generation.get(slot, 0)
        previous = self.keys.previous(*slot)
        with store.pooled(self.db_path) as conn:
            stored = repo.generation(conn, *slot)
            if (
                stored is not None
                and stored.epoch_id == built.epoch.epoch_id
                and stored.generation == built.number
                and stored.min_generation == floor
            ):
                return
            prev_id = previous.epoch_id if previous is not None else None
            prev_until = (
                _stamp(previous.expires_at + self.keys.grace_seconds)
                if previous is not None
                else None
            )
            if previous is None and stored is not None and stored.epoch_id == built.epoch.epoch_id:
                prev_id, prev_until = stored.previous_epoch_id, stored.previous_until
            digests = [s.digest for s in built.shards.values()]
            missing = repo.missing_setups(conn, built.epoch.epoch_id, digests)
            with store.transaction(conn):
                repo.put_setups(
                    conn,
                    built.epoch.epoch_id,
                    [(s.digest, s.setup) for s in built.shards.values() if s.digest in missing],
                )
                repo.publish(
                    conn,
                    repo.StoredGeneration(
                        peer=slot[0],
                        view=slot[1],
                        epoch_id=built.epoch.epoch_id,
                        generation=built.number,
                        min_generation=floor,
                        base_shards=built.layout.base,
                        delta_shards=built.layout.delta,
                        base_capacity=built.base_capacity,
                        delta_capacity=built.delta_capacity,
                        num_client=built.num_client,
                        elements=len(built.elements),
                        policy_digest=built.policy_digest,
                        shard_salt=built.epoch.shard_salt,
                        started_at=_stamp(built.epoch.started_at),
                        expires_at=_stamp(built.epoch.expires_at),
                        previous_epoch_id=prev_id,
                        previous_until=prev_until,
                        shards=tuple(
                            (s.shard_id, s.digest, len(s.setup)) for s in built.shards.values()
                        ),
                    ),
                )

    def forget_peer(self, peer: str) -> None:
        """Drop a removed counterpart's generations, keys and published setups."""
        super().forget_peer(peer)
        with self._secrets_lock:
            for epoch_id in [e for e, x in self._fetched.items() if x.peer == peer]:
                del self._fetched[epoch_id]
        with self._lock:
            for slot in [s for s in self._served if s[0] == peer]:
                del self._served[slot]
        if self.leading:
            with store.pooled(self.db_path) as conn, store.transaction(conn):
                repo.forget_peer(conn, peer)


class ReplicaRole:
    """One replica's part: whether it leads this pass, where siblings reach it, which views exist.

    ``address`` is set by the transport once the server is bound (the
    configured ``[replicas] advertise`` address, or the one it listens on).
    """

    #: A replica not seen for this long is not asked for secrets.
    STALE_S = 60.0

    def __init__(self, book: ReplicatedBook, leads: Callable[[], bool], db_path: Path) -> None:
        self.book = book
        self.leads = leads
        self.db_path = db_path
        self.replica_id = secrets.token_hex(8)
        self.address: str | None = None

    def remember(self, key: ViewKey) -> None:
        """A counterpart asked this replica about a context: the leader builds for it."""
        with store.pooled(self.db_path) as conn, store.transaction(conn):
            repo.remember_view(conn, key.peer, key.purpose, key.legal_basis)

    def views(self) -> list[ViewKey]:
        """Every context some replica of this agency was asked about."""
        with store.pooled(self.db_path) as conn:
            return [ViewKey(p, u, b) for p, u, b in repo.views(conn)]

    def tick(self) -> bool:
        """One refresh pass: advertise, and follow unless leading; True when this replica builds."""
        leading = self.leads()
        self.book.lead(leading)
        if self.address:
            with store.pooled(self.db_path) as conn, store.transaction(conn):
                repo.advertise(conn, self.replica_id, self.address, leader=leading)
        if not leading:
            self.book.follow()
        return leading

    def siblings(self) -> list[str]:
        """Addresses of the other live replicas, the leader first."""
        since = _stamp(self.book._clock() - self.STALE_S)
        with store.pooled(self.db_path) as conn:
            rows = repo.endpoints(conn, since)
        return [address for replica, address, _ in rows if replica != self.replica_id]

    def withdraw(self) -> None:
        """This replica is stopping: siblings stop asking it."""
        try:
            with store.pooled(self.db_path) as conn, store.transaction(conn):
                repo.withdraw(conn, self.replica_id)
        except Exception as exc:  # the store may be gone already; the entry goes stale
            log.warning("replica endpoint not withdrawn", error=type(exc).__name__)
