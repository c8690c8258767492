"""Tables owned by node.records: stored records and their match keys.

Record content is kept as canonical JSON (``content``); a re-import compares it
as text to tell an unchanged record.
``match_keys`` holds only matchable keys; it is indexed by key so a lookup or a
setup build never scans records, and by record row so a delete or an update
removes a record's keys without a scan.
"""

from __future__ import annotations

SCHEMA = """
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
"""
