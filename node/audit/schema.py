"""Tables owned by the audit trail: entries, purgeable personal content, checkpoints.

``audit_entries`` is append-only and hash-chained: each row's ``entry_hash``
covers the previous row's hash and a canonical JSON of the row. Personal
content (officer, justification, case reference, actor) never sits in that
table; the row holds only a salted-hash commitment to it, while the clear
value and its salt live in ``audit_personal`` so a retention purge can delete
them without breaking the chain. ``audit_checkpoints`` holds signed
(entry count, head hash) statements that pin the chain's length.
"""

from __future__ import annotations

SCHEMA = """
CREATE TABLE IF NOT EXISTS audit_entries (
    seq             INTEGER PRIMARY KEY,
    entry_id        TEXT NOT NULL UNIQUE,
    ts              TEXT NOT NULL,
    event           TEXT NOT NULL,
    counterpart     TEXT,
    purpose         TEXT,
    legal_basis     TEXT,
    request_id      TEXT,
    transcript_hash TEXT,
    policy_digest   TEXT,
    key_types       TEXT,
    elements        INTEGER,
    hits            INTEGER,
    status          TEXT,
    details         TEXT NOT NULL,
    commitments     TEXT NOT NULL,
    prev_hash       TEXT NOT NULL,
    entry_hash      TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS audit_entries_ts ON audit_entries (ts);
CREATE INDEX IF NOT EXISTS audit_entries_counterpart ON audit_entries (counterpart, ts);
CREATE TABLE IF NOT EXISTS audit_personal (
    seq    INTEGER NOT NULL,
    field  TEXT NOT NULL,
    value  TEXT NOT NULL,
    salt   TEXT NOT NULL,
    PRIMARY KEY (seq, field)
);
CREATE TABLE IF NOT EXISTS audit_checkpoints (
    id           INTEGER PRIMARY KEY,
    entry_count  INTEGER NOT NULL,
    head_hash    TEXT NOT NULL,
    created_at   TEXT NOT NULL,
    public_key   TEXT NOT NULL,
    signature    TEXT NOT NULL,
    agency_id    TEXT
);
"""
