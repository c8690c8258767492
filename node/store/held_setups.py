"""Held setups published for every replica: views asked about, generations, shard setups.

The tables come from migration 0008 (:mod:`node.store.migrations.m0008_held_replicas`).
Only public parts are stored — what a counterpart receives in a manifest or a
sync anyway. Epoch secrets never come here.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass

from node.store.backend import Connection, Row
from node.store.timecodec import now_ts

_GEN_COLUMNS = (
    "peer, view, epoch_id, generation, min_generation, base_shards, delta_shards, "
    "base_capacity, delta_capacity, num_client, elements, policy_digest, shard_salt, "
    "started_at, expires_at, previous_epoch_id, previous_until, shards, published_at"
)


@dataclass(frozen=True)
class StoredGeneration:
    """The public parts of one published generation, as stored."""

    peer: str
    view: str
    epoch_id: str
    generation: int
    min_generation: int
    base_shards: int
    delta_shards: int
    base_capacity: int
    delta_capacity: int
    num_client: int
    elements: int
    policy_digest: str
    shard_salt: bytes
    started_at: str
    expires_at: str
    previous_epoch_id: str | None
    previous_until: str | None
    #: (shard id, digest, size in bytes) of every shard, in shard order.
    shards: tuple[tuple[int, str, int], ...]


def remember_view(conn: Connection, peer: str, purpose: str, legal_basis: str) -> None:
    """Record that a counterpart asked about this context (idempotent)."""
    conn.execute(
        "INSERT INTO held_views (peer, purpose, legal_basis, first_seen_at) VALUES (?,?,?,?) "
        "ON CONFLICT (peer, purpose, legal_basis) DO NOTHING",
        (peer, purpose, legal_basis, now_ts()),
    )


def views(conn: Connection) -> list[tuple[str, str, str]]:
    """Every (peer, purpose, legal basis) some replica was asked about."""
    rows = conn.execute(
        "SELECT peer, purpose, legal_basis FROM held_views ORDER BY peer, purpose, legal_basis"
    ).fetchall()
    return [(str(r[0]), str(r[1]), str(r[2])) for r in rows]


def _of(r: Row) -> StoredGeneration:
    shards = tuple((int(s[0]), str(s[1]), int(s[2])) for s in json.loads(r[17]))
    return StoredGeneration(
        peer=str(r[0]), view=str(r[1]), epoch_id=str(r[2]), generation=int(r[3]),
        min_generation=int(r[4]), base_shards=int(r[5]), delta_shards=int(r[6]),
        base_capacity=int(r[7]), delta_capacity=int(r[8]), num_client=int(r[9]),
        elements=int(r[10]), policy_digest=str(r[11]), shard_salt=bytes.fromhex(r[12]),
        started_at=str(r[13]), expires_at=str(r[14]),
        previous_epoch_id=r[15], previous_until=r[16], shards=shards,
    )  # fmt: skip


def generation(conn: Connection, peer: str, view: str) -> StoredGeneration | None:
    """The generation published for (peer, view), if any."""
    row = conn.execute(
        f"SELECT {_GEN_COLUMNS} FROM held_generations WHERE peer = ? AND view = ?",  # noqa: S608
        (peer, view),
    ).fetchone()
    return _of(row) if row else None


def generations(conn: Connection) -> list[StoredGeneration]:
    """Every published generation."""
    rows = conn.execute(
        f"SELECT {_GEN_COLUMNS} FROM held_generations ORDER BY peer, view"  # noqa: S608
    ).fetchall()
    return [_of(r) for r in rows]


def missing_setups(conn: Connection, epoch_id: str, digests: Iterable[str]) -> set[str]:
    """Which of ``digests`` of ``epoch_id`` the store does not hold yet."""
    wanted = set(digests)
    rows = conn.execute(
        "SELECT digest FROM held_shard_setups WHERE epoch_id = ?", (epoch_id,)
    ).fetchall()
    return wanted - {str(r[0]) for r in rows}


def put_setups(conn: Connection, epoch_id: str, setups: Iterable[tuple[str, bytes]]) -> None:
    """Store shard setups by digest (a digest already stored is left as it is)."""
    for digest, setup in setups:
        conn.execute(
            "INSERT INTO held_shard_setups (epoch_id, digest, setup) VALUES (?,?,?) "
            "ON CONFLICT (epoch_id, digest) DO NOTHING",
            (epoch_id, digest, setup),
        )


def setups(conn: Connection, epoch_id: str, digests: Iterable[str]) -> dict[str, bytes]:
    """The stored setups of ``digests`` of ``epoch_id`` (absent ones left out)."""
    out: dict[str, bytes] = {}
    for digest in set(digests):
        row = conn.execute(
            "SELECT setup FROM held_shard_setups WHERE epoch_id = ? AND digest = ?",
            (epoch_id, digest),
        ).fetchone()
        if row is not None:
            out[digest] = bytes(row[0])
    return out


def publish(conn: Connection, gen: StoredGeneration) -> None:
    """Make ``gen`` the published generation of its (peer, view); drop unreferenced setups."""
    shards = json.dumps([list(s) for s in gen.shards])
    values = (
        gen.peer, gen.view, gen.epoch_id, gen.generation, gen.min_generation, gen.base_shards,
        gen.delta_shards, gen.base_capacity, gen.delta_capacity, gen.num_client, gen.elements,
        gen.policy_digest, gen.shard_salt.hex(), gen.started_at, gen.expires_at,
        gen.previous_epoch_id, gen.previous_until, shards, now_ts(),
    )  # fmt: skip
    conn.execute("DELETE FROM held_generations WHERE peer = ? AND view = ?", (gen.peer, gen.view))
    conn.execute(
        f"INSERT INTO held_generations ({_GEN_COLUMNS}) "  # noqa: S608
        "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
        values,
    )
    prune_setups(conn)


def prune_setups(conn: Connection) -> None:
    """Drop shard setups no published generation names any more."""
    keep: set[tuple[str, str]] = set()
    for gen in generations(conn):
        keep.update((gen.epoch_id, s[1]) for s in gen.shards)
    rows = conn.execute("SELECT epoch_id, digest FROM held_shard_setups").fetchall()
    for epoch_id, digest in ((str(r[0]), str(r[1])) for r in rows):
        if (epoch_id, digest) not in keep:
            conn.execute(
                "DELETE FROM held_shard_setups WHERE epoch_id = ? AND digest = ?",
                (epoch_id, digest),
            )


def forget_peer(conn: Connection, peer: str) -> None:
    """Drop everything published for a removed counterpart."""
    conn.execute("DELETE FROM held_generations WHERE peer = ?", (peer,))
    conn.execute("DELETE FROM held_views WHERE peer = ?", (peer,))
    prune_setups(conn)


def advertise(conn: Connection, replica_id: str, address: str, *, leader: bool) -> None:
    """Record where this replica serves its siblings now (and, for the leader, that it leads)."""
    conn.execute(
        "INSERT INTO replica_endpoints (replica_id, address, leader, seen_at) VALUES (?,?,?,?) "
        "ON CONFLICT (replica_id) DO UPDATE SET address = excluded.address, "
        "leader = excluded.leader, seen_at = excluded.seen_at",
        (replica_id, address, 1 if leader else 0, now_ts()),
    )
    if leader:
        conn.execute("UPDATE replica_endpoints SET leader = 0 WHERE replica_id <> ?", (replica_id,))


def endpoints(conn: Connection, seen_since: str) -> list[tuple[str, str, bool]]:
    """(replica id, address, leads) of replicas seen since ``seen_since``, the leader first."""
    rows = conn.execute(
        "SELECT replica_id, address, leader FROM replica_endpoints WHERE seen_at >= ? "
        "ORDER BY leader DESC, seen_at DESC",
        (seen_since,),
    ).fetchall()
    return [(str(r[0]), str(r[1]), bool(r[2])) for r in rows]


def withdraw(conn: Connection, replica_id: str) -> None:
    """A replica stopping: siblings no longer ask it."""
    conn.execute("DELETE FROM replica_endpoints WHERE replica_id = ?", (replica_id,))
