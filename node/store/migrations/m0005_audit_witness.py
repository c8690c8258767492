"""Migration 0005: witnessed audit checkpoints and chain version 2.

``audit_entries.chain_version`` says how an entry's hash was computed: 1
(every entry so far) hashes ``prev_hash || canonical_json(body)``; 2 hashes
``prev_hash || SHA-256(canonical_json(body))``, so a witness can check that a
new head extends an old one from 32-byte body digests, never the content.
``audit_cosignatures`` keeps the witnesses' countersignatures of this node's
checkpoints; ``audit_witnessed`` the heads this node witnessed for its peers
(one per origin and size); ``audit_witness_alarms`` every split view or
inconsistent head a peer showed it.
"""

from __future__ import annotations

from node.store.backend import Connection
from node.store.migrations.script import run_script

NUMBER = 5
NAME = "audit_witness"

SQL = """
ALTER TABLE audit_entries ADD COLUMN chain_version INTEGER NOT NULL DEFAULT 1;
CREATE TABLE audit_cosignatures (
    id            INTEGER PRIMARY KEY,
    witness       TEXT NOT NULL,
    entry_count   INTEGER NOT NULL,
    head_hash     TEXT NOT NULL,
    witness_key   TEXT NOT NULL,
    signature     TEXT NOT NULL,
    witnessed_at  TEXT NOT NULL
);
CREATE INDEX audit_cosignatures_witness ON audit_cosignatures (witness, entry_count);
CREATE TABLE audit_witnessed (
    origin        TEXT NOT NULL,
    entry_count   INTEGER NOT NULL,
    head_hash     TEXT NOT NULL,
    public_key    TEXT NOT NULL,
    signature     TEXT NOT NULL,
    created_at    TEXT NOT NULL,
    witnessed_at  TEXT NOT NULL,
    PRIMARY KEY (origin, entry_count)
);
CREATE TABLE audit_witness_alarms (
    id            INTEGER PRIMARY KEY,
    origin        TEXT NOT NULL,
    kind          TEXT NOT NULL,
    entry_count   INTEGER NOT NULL,
    head_hash     TEXT NOT NULL,
    known_count   INTEGER NOT NULL,
    known_hash    TEXT NOT NULL,
    raised_at     TEXT NOT NULL
);
"""


def apply(conn: Connection) -> None:
    run_script(conn, SQL)
