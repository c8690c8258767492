"""Migration 0003: standing watchlists, their runs and the hits they have reported.

``watchlists`` holds each watchlist with its validated rows (as record JSON);
``watch_runs`` one row per run per counterpart (done, skipped or failed, with
the reason and the budget the counterpart reported); ``watch_hits`` each
(record, counterpart, key type) once, with when it was reported on the
command line and by webhook.
"""

from __future__ import annotations

from node.store.backend import Connection
from node.store.migrations.script import run_script

NUMBER = 3
NAME = "watchlists"

SQL = """
CREATE TABLE watchlists (
    watch_id        TEXT PRIMARY KEY,
    source          TEXT NOT NULL,
    rows_json       TEXT NOT NULL,
    peers_json      TEXT NOT NULL,
    every_s         INTEGER NOT NULL,
    purpose         TEXT NOT NULL,
    legal_basis_json TEXT NOT NULL,
    case_reference  TEXT NOT NULL,
    officer         TEXT NOT NULL,
    webhook_url     TEXT,
    created_at      TEXT NOT NULL,
    last_run_at     TEXT
);
CREATE TABLE watch_runs (
    run_id           INTEGER PRIMARY KEY,
    watch_id         TEXT NOT NULL REFERENCES watchlists(watch_id) ON DELETE CASCADE,
    peer             TEXT NOT NULL,
    ran_at           TEXT NOT NULL,
    status           TEXT NOT NULL,
    reason           TEXT NOT NULL DEFAULT '',
    match_id         TEXT,
    elements         INTEGER NOT NULL DEFAULT 0,
    hits             INTEGER NOT NULL DEFAULT 0,
    new_hits         INTEGER NOT NULL DEFAULT 0,
    budget_remaining INTEGER
);
CREATE INDEX watch_runs_by_watch ON watch_runs(watch_id, run_id);
CREATE TABLE watch_hits (
    watch_id        TEXT NOT NULL REFERENCES watchlists(watch_id) ON DELETE CASCADE,
    peer            TEXT NOT NULL,
    record_id       TEXT NOT NULL,
    key_type        TEXT NOT NULL,
    match_id        TEXT NOT NULL,
    found_at        TEXT NOT NULL,
    cli_reported_at TEXT,
    webhook_sent_at TEXT,
    PRIMARY KEY (watch_id, peer, record_id, key_type)
);
"""


def apply(conn: Connection) -> None:
    run_script(conn, SQL)
