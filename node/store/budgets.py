"""Budgets repository: elements each peer used per period."""

from __future__ import annotations

from node.store.backend import Connection


def used(conn: Connection, agency_id: str, period: str) -> int:
    row = conn.execute(
        "SELECT elements FROM budget_usage WHERE agency_id = ? AND period = ?",
        (agency_id, period),
    ).fetchone()
    return int(row[0]) if row else 0


def add_usage(conn: Connection, agency_id: str, period: str, elements: int) -> None:
    conn.execute(
        "INSERT INTO budget_usage (agency_id, period, elements) VALUES (?,?,?) "
        "ON CONFLICT (agency_id, period) "
        "DO UPDATE SET elements = budget_usage.elements + excluded.elements",
        (agency_id, period, elements),
    )
