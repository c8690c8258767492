"""Tables owned by the governed follow-up (disclosure requests, tickets, approvals).

Responder side:

* ``disclosure_requests`` — one row per request a counterpart sent: who, why,
  on which legal basis, what was asked for. The requester's keys are never
  stored in clear: each item keeps only a SHA-256 of the key it answers, so a
  retried request (same ``request_id``) gets the same answer.
* ``disclosure_decisions`` — one row per item: the policy's decision on one
  record (or the denial given for a key leading to no releasable record), the
  released fields as decided (what the legal officer sees is what leaves),
  the obligations and the explanation text from the same evaluation pass.
* ``tickets`` — approval tickets for PENDING_APPROVAL items. ``status`` is
  ``pending`` until decided, then ``approved`` or ``denied``. A reopened ticket
  goes back to ``pending`` with a new ``deadline`` (ISO 8601 UTC) and a higher
  ``round``, so overdue counts keep reading one status; ``reopened`` and
  ``expired`` are accepted for tickets marked so by other tools (``expired``
  reads as a refusal, ``reopened`` as awaiting a decision). A ticket is
  overdue while it awaits a decision past its deadline.
* ``ticket_approvals`` — every officer action on a ticket (approve, deny,
  reopen) with the officer, the round, the note and the time. The two-person
  rule counts distinct officers approving in the current round.

Requester side:

* ``disclosures_sent`` / ``disclosure_items_sent`` — requests this node sent
  and the state of each item as last reported by the counterpart.
* ``disclosures_received`` — released details with the obligations that
  travel with them and the date after which they are purged (``retain_until``).
"""

from __future__ import annotations

SCHEMA = """
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
"""
