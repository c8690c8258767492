"""Migration 0002: one user-level match, however many requests it took.

A match larger than the counterpart's per-request limit is sent in chunks.
``matches`` now holds one row per user-level match with one counterpart
(``request_id`` is its first request, ``elements`` and ``hits`` its totals);
``match_requests`` holds one row per chunk request under it, with that
request's transcript hash. Every existing match becomes a match of one
request.
"""

from __future__ import annotations

from node.store.backend import Connection
from node.store.migrations.script import run_script

NUMBER = 2
NAME = "match_requests"

SQL = """
CREATE TABLE match_requests (
    request_id      TEXT PRIMARY KEY,
    match_id        TEXT NOT NULL REFERENCES matches(match_id) ON DELETE CASCADE,
    chunk           INTEGER NOT NULL,
    created_at      TEXT NOT NULL,
    elements        INTEGER NOT NULL,
    hits            INTEGER NOT NULL,
    transcript_hash TEXT NOT NULL,
    policy_digest   TEXT NOT NULL,
    UNIQUE (match_id, chunk)
);
INSERT INTO match_requests (request_id, match_id, chunk, created_at, elements, hits,
                            transcript_hash, policy_digest)
    SELECT request_id, match_id, 1, created_at, elements, hits, transcript_hash, policy_digest
    FROM matches;
"""


def apply(conn: Connection) -> None:
    run_script(conn, SQL)
