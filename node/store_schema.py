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
