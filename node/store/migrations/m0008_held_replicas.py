"""Migration 0008: held setups published in the store, so replicas answer the same ones.

Several replicas of one agency on one PostgreSQL database serve the held
setups the leading replica built (see node.setups.replicated). The store
holds their public parts only:

* ``held_views``: every (counterpart, purpose, legal basis) some replica was
  asked about, so the leader builds for it;
* ``held_generations``: per (counterpart, view) the published generation —
  epoch id, number, layout, capacities, shard salt (public: the counterpart
  receives it), expiry, the lowest generation still answered, the previous
  epoch still answering in its grace period, and the shard digests;
* ``held_shard_setups``: the shard setups by (epoch, digest), the bytes a
  counterpart syncs;
* ``replica_endpoints``: where each live replica serves its siblings and
  which one leads.

Epoch secrets (server keys, padding secrets) are never stored: they pass from
replica to replica in memory.
"""

from __future__ import annotations

from node.store.backend import Connection
from node.store.migrations.script import run_script

NUMBER = 8
NAME = "held_replicas"

SQL = """
CREATE TABLE held_views (
    peer          TEXT NOT NULL,
    purpose       TEXT NOT NULL,
    legal_basis   TEXT NOT NULL,
    first_seen_at TEXT NOT NULL,
    PRIMARY KEY (peer, purpose, legal_basis)
);
CREATE TABLE held_generations (
    peer              TEXT NOT NULL,
    view              TEXT NOT NULL,
    epoch_id          TEXT NOT NULL,
    generation        INTEGER NOT NULL,
    min_generation    INTEGER NOT NULL,
    base_shards       INTEGER NOT NULL,
    delta_shards      INTEGER NOT NULL,
    base_capacity     INTEGER NOT NULL,
    delta_capacity    INTEGER NOT NULL,
    num_client        INTEGER NOT NULL,
    elements          INTEGER NOT NULL,
    policy_digest     TEXT NOT NULL,
    shard_salt        TEXT NOT NULL,
    started_at        TEXT NOT NULL,
    expires_at        TEXT NOT NULL,
    previous_epoch_id TEXT,
    previous_until    TEXT,
    shards            TEXT NOT NULL,
    published_at      TEXT NOT NULL,
    PRIMARY KEY (peer, view)
);
CREATE TABLE held_shard_setups (
    epoch_id  TEXT NOT NULL,
    digest    TEXT NOT NULL,
    setup     BLOB NOT NULL,
    PRIMARY KEY (epoch_id, digest)
);
CREATE TABLE replica_endpoints (
    replica_id  TEXT PRIMARY KEY,
    address     TEXT NOT NULL,
    leader      INTEGER NOT NULL,
    seen_at     TEXT NOT NULL
);
"""


def apply(conn: Connection) -> None:
    run_script(conn, SQL)
