"""Tables owned by the node core: metadata, peers and element budgets."""

from __future__ import annotations

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS peers (
    agency_id  TEXT PRIMARY KEY,
    address    TEXT NOT NULL,
    ca_pem     TEXT NOT NULL,
    crl_pem    TEXT,
    country    TEXT,
    added_at   TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS budget_usage (
    agency_id  TEXT NOT NULL,
    period     TEXT NOT NULL,
    elements   INTEGER NOT NULL,
    PRIMARY KEY (agency_id, period)
);
"""

# Requester side: matches this node ran and the hits they found, so a
# follow-up disclosure request can name hits instead of retyping keys.
SCHEMA += """
CREATE TABLE IF NOT EXISTS matches (
    match_id        TEXT PRIMARY KEY,
    peer            TEXT NOT NULL,
    request_id      TEXT NOT NULL,
    created_at      TEXT NOT NULL,
    purpose         TEXT NOT NULL,
    legal_basis     TEXT NOT NULL,
    case_reference  TEXT NOT NULL,
    officer         TEXT NOT NULL,
    reveal          TEXT NOT NULL,
    elements        INTEGER NOT NULL,
    hits            INTEGER NOT NULL,
    transcript_hash TEXT NOT NULL,
    policy_digest   TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS match_hits (
    hit_id      INTEGER PRIMARY KEY,
    match_id    TEXT NOT NULL REFERENCES matches(match_id) ON DELETE CASCADE,
    row_number  INTEGER NOT NULL,
    record_id   TEXT NOT NULL,
    key_type    TEXT NOT NULL,
    match_key   TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS match_hits_by_match ON match_hits(match_id);
"""
