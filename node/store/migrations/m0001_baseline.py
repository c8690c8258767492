"""Migration 0001: the schema every home had before versions were recorded.

Frozen: this is exactly what the ``CREATE ... IF NOT EXISTS`` statements of
the unversioned releases made. A home from such a release (version 0) may
predate some of their columns; :func:`node.store.migrations.legacy.reconcile`
brings each table to this shape (adding columns added since, rebuilding a
table that still has a column removed since). Never edit this file: change
the schema in a new migration.
"""

from __future__ import annotations

from node.store.backend import Connection
from node.store.migrations import legacy
from node.store.migrations.script import run_script

NUMBER = 1
NAME = "baseline"

SQL = """
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
CREATE TABLE IF NOT EXISTS records (
    rid          INTEGER PRIMARY KEY,
    record_id    TEXT NOT NULL UNIQUE,
    kind         TEXT NOT NULL,
    review_date  TEXT NOT NULL,
    content      TEXT NOT NULL,
    imported_at  TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS records_review_date ON records (review_date);
CREATE TABLE IF NOT EXISTS match_keys (
    rid       INTEGER NOT NULL,
    key       TEXT NOT NULL,
    PRIMARY KEY (rid, key)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS match_keys_key ON match_keys (key);
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
CREATE TABLE IF NOT EXISTS disclosure_requests (
    disclosure_id     TEXT PRIMARY KEY,
    requester         TEXT NOT NULL,
    request_id        TEXT NOT NULL,
    match_id          TEXT,
    received_at       TEXT NOT NULL,
    purpose           TEXT NOT NULL,
    legal_basis       TEXT NOT NULL,
    case_reference    TEXT NOT NULL,
    officer           TEXT NOT NULL,
    justification     TEXT NOT NULL,
    potential_charges TEXT NOT NULL,
    assurances        TEXT NOT NULL,
    requested_fields  TEXT NOT NULL,
    policy_digest     TEXT NOT NULL,
    keys_count        INTEGER NOT NULL,
    UNIQUE (requester, request_id)
);
CREATE TABLE IF NOT EXISTS disclosure_decisions (
    item_id         TEXT PRIMARY KEY,
    disclosure_id   TEXT NOT NULL REFERENCES disclosure_requests(disclosure_id),
    position        INTEGER NOT NULL,
    key_digest      TEXT NOT NULL,
    record_id       TEXT,
    outcome         TEXT NOT NULL CHECK (outcome IN ('RELEASE', 'DENY', 'PENDING_APPROVAL')),
    reason_code     TEXT NOT NULL,
    fields          TEXT NOT NULL,
    transforms      TEXT NOT NULL,
    obligations     TEXT,
    denied_by       TEXT NOT NULL,
    explanation     TEXT NOT NULL,
    decided_at      TEXT NOT NULL,
    -- One ticket per record per request, however many keys reached the record.
    ticket_id       TEXT
);
CREATE INDEX IF NOT EXISTS disclosure_decisions_by_request
    ON disclosure_decisions (disclosure_id, position);
CREATE TABLE IF NOT EXISTS tickets (
    ticket_id       TEXT PRIMARY KEY,
    item_id         TEXT NOT NULL UNIQUE REFERENCES disclosure_decisions(item_id),
    disclosure_id   TEXT NOT NULL REFERENCES disclosure_requests(disclosure_id),
    counterpart     TEXT NOT NULL,
    record_id       TEXT NOT NULL,
    status          TEXT NOT NULL
        CHECK (status IN ('pending', 'approved', 'denied', 'expired', 'reopened')),
    created_at      TEXT NOT NULL,
    deadline        TEXT NOT NULL,
    roles           TEXT NOT NULL,
    two_person      INTEGER NOT NULL,
    round           INTEGER NOT NULL DEFAULT 1,
    decided_at      TEXT,
    decided_by      TEXT,
    decision_note   TEXT
);
CREATE INDEX IF NOT EXISTS tickets_by_status ON tickets (status, deadline);
CREATE TABLE IF NOT EXISTS ticket_approvals (
    id          INTEGER PRIMARY KEY,
    ticket_id   TEXT NOT NULL REFERENCES tickets(ticket_id),
    round       INTEGER NOT NULL,
    officer     TEXT NOT NULL,
    decision    TEXT NOT NULL CHECK (decision IN ('approve', 'deny', 'reopen')),
    -- The role the officer acted in (from the node's roster).
    role        TEXT,
    note        TEXT,
    at          TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS ticket_approvals_by_ticket ON ticket_approvals (ticket_id, round);
CREATE TABLE IF NOT EXISTS disclosures_sent (
    disclosure_id     TEXT PRIMARY KEY,
    request_id        TEXT NOT NULL UNIQUE,
    peer              TEXT NOT NULL,
    match_id          TEXT,
    sent_at           TEXT NOT NULL,
    purpose           TEXT NOT NULL,
    legal_basis       TEXT NOT NULL,
    case_reference    TEXT NOT NULL,
    officer           TEXT NOT NULL,
    justification     TEXT NOT NULL,
    potential_charges TEXT NOT NULL,
    assurances        TEXT NOT NULL,
    requested_fields  TEXT NOT NULL,
    policy_digest     TEXT NOT NULL,
    checked_at        TEXT
);
CREATE TABLE IF NOT EXISTS disclosure_items_sent (
    disclosure_id   TEXT NOT NULL REFERENCES disclosures_sent(disclosure_id),
    item_id         TEXT NOT NULL,
    hit_id          INTEGER,
    record_id       TEXT,
    match_key       TEXT NOT NULL,
    key_type        TEXT NOT NULL,
    outcome         TEXT NOT NULL,
    reason_code     TEXT NOT NULL,
    ticket_id       TEXT,
    deadline        TEXT,
    overdue         INTEGER NOT NULL DEFAULT 0,
    fetched         INTEGER NOT NULL DEFAULT 0,
    updated_at      TEXT NOT NULL,
    PRIMARY KEY (disclosure_id, item_id)
);
CREATE TABLE IF NOT EXISTS disclosures_received (
    id                      INTEGER PRIMARY KEY,
    disclosure_id           TEXT NOT NULL,
    item_id                 TEXT NOT NULL,
    peer                    TEXT NOT NULL,
    record_id               TEXT,
    match_key               TEXT NOT NULL,
    fields                  TEXT NOT NULL,
    transforms              TEXT NOT NULL,
    handling_code           TEXT NOT NULL,
    use_limited_to_purpose  INTEGER NOT NULL,
    use_limited_to_case     INTEGER NOT NULL,
    purpose                 TEXT NOT NULL,
    case_reference          TEXT NOT NULL,
    onward_transfer         TEXT NOT NULL,
    judicial_use            TEXT NOT NULL,
    retention_days          INTEGER NOT NULL,
    received_at             TEXT NOT NULL,
    retain_until            TEXT NOT NULL,
    UNIQUE (disclosure_id, item_id)
);
CREATE INDEX IF NOT EXISTS disclosures_received_retention ON disclosures_received (retain_until);
CREATE TABLE IF NOT EXISTS officers (
    name       TEXT PRIMARY KEY,
    roles      TEXT NOT NULL,
    active     INTEGER NOT NULL DEFAULT 1,
    added_at   TEXT NOT NULL,
    changed_at TEXT NOT NULL
);
"""


def apply(conn: Connection) -> None:
    """Create missing tables and indexes, then bring older tables to this shape."""
    run_script(conn, SQL)
    legacy.reconcile(conn, SQL)
