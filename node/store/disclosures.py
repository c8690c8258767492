"""Disclosures repository (requester side): requests sent, their items, details received."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from node.store.backend import Connection
from node.store.sql import insert


def add_sent(conn: Connection, values: Mapping[str, object]) -> None:
    """Record a request sent (``values`` keyed by the columns of ``disclosures_sent``)."""
    insert(conn, "disclosures_sent", values, _SENT_COLUMNS)


_SENT_COLUMNS = (
    "disclosure_id",
    "request_id",
    "peer",
    "match_id",
    "sent_at",
    "purpose",
    "legal_basis",
    "case_reference",
    "officer",
    "justification",
    "potential_charges",
    "assurances",
    "requested_fields",
    "policy_digest",
    "checked_at",
)
_ITEM_COLUMNS = (
    "disclosure_id",
    "item_id",
    "hit_id",
    "record_id",
    "match_key",
    "key_type",
    "outcome",
    "reason_code",
    "ticket_id",
    "deadline",
    "overdue",
    "updated_at",
)
_RECEIVED_COLUMNS = (
    "disclosure_id",
    "item_id",
    "peer",
    "record_id",
    "match_key",
    "fields",
    "transforms",
    "handling_code",
    "use_limited_to_purpose",
    "use_limited_to_case",
    "purpose",
    "case_reference",
    "onward_transfer",
    "judicial_use",
    "retention_days",
    "received_at",
    "retain_until",
)


def add_item(conn: Connection, values: Mapping[str, object]) -> None:
    """Record one item of a request sent, as the counterpart first answered it."""
    insert(conn, "disclosure_items_sent", values, _ITEM_COLUMNS)


def update_item(
    conn: Connection,
    disclosure_id: str,
    item_id: str,
    *,
    outcome: str,
    reason_code: str,
    ticket_id: str | None,
    deadline: str | None,
    overdue: bool,
    updated_at: str,
) -> None:
    conn.execute(
        "UPDATE disclosure_items_sent SET outcome = ?, reason_code = ?, ticket_id = ?, "
        "deadline = ?, overdue = ?, updated_at = ? WHERE disclosure_id = ? AND item_id = ?",
        (
            outcome,
            reason_code,
            ticket_id,
            deadline,
            int(overdue),
            updated_at,
            disclosure_id,
            item_id,
        ),
    )


def mark_checked(conn: Connection, disclosure_id: str, moment: str) -> None:
    conn.execute(
        "UPDATE disclosures_sent SET checked_at = ? WHERE disclosure_id = ?",
        (moment, disclosure_id),
    )


def item(conn: Connection, disclosure_id: str, item_id: str) -> dict[str, Any] | None:
    """``record_id``, ``match_key`` and ``fetched`` of one item sent, or None."""
    row = conn.execute(
        "SELECT record_id, match_key, fetched FROM disclosure_items_sent "
        "WHERE disclosure_id = ? AND item_id = ?",
        (disclosure_id, item_id),
    ).fetchone()
    return dict(row) if row else None


def item_outcomes(conn: Connection, disclosure_id: str) -> dict[str, str]:
    """Item id -> last reported outcome, for every item of a request sent."""
    rows = conn.execute(
        "SELECT item_id, outcome FROM disclosure_items_sent WHERE disclosure_id = ?",
        (disclosure_id,),
    )
    return {str(r[0]): str(r[1]) for r in rows}


def mark_fetched(conn: Connection, disclosure_id: str, item_id: str) -> None:
    conn.execute(
        "UPDATE disclosure_items_sent SET fetched = 1 WHERE disclosure_id = ? AND item_id = ?",
        (disclosure_id, item_id),
    )


def sent(conn: Connection, disclosure_id: str) -> dict[str, Any] | None:
    """``request_id`` and ``peer`` of a request sent, or None."""
    row = conn.execute(
        "SELECT request_id, peer FROM disclosures_sent WHERE disclosure_id = ?",
        (disclosure_id,),
    ).fetchone()
    return dict(row) if row else None


def sent_items(conn: Connection, disclosure_id: str | None = None) -> list[tuple[Any, ...]]:
    """Items of requests sent (all, or of one request), newest request first."""
    rows = conn.execute(
        "SELECT s.disclosure_id, s.peer, s.case_reference, i.item_id, i.hit_id, i.record_id, "
        "i.key_type, i.outcome, i.reason_code, i.ticket_id, i.deadline, i.overdue, i.fetched "
        "FROM disclosures_sent s JOIN disclosure_items_sent i "
        "ON i.disclosure_id = s.disclosure_id "
        "WHERE (? IS NULL OR s.disclosure_id = ?) ORDER BY s.sent_at DESC, i.rowid",
        (disclosure_id, disclosure_id),
    )
    return [tuple(r) for r in rows]


def open_requests(conn: Connection) -> list[tuple[str, str]]:
    """(disclosure id, peer) of requests with items pending or released but not fetched."""
    rows = conn.execute(
        "SELECT DISTINCT s.disclosure_id, s.peer, s.sent_at FROM disclosures_sent s "
        "JOIN disclosure_items_sent i ON i.disclosure_id = s.disclosure_id "
        "WHERE i.outcome = 'PENDING_APPROVAL' OR (i.outcome = 'RELEASE' AND i.fetched = 0) "
        "ORDER BY s.sent_at",
    )
    return [(str(r[0]), str(r[1])) for r in rows]


def add_received(conn: Connection, values: Mapping[str, object]) -> None:
    """Store released details with the obligations that travel with them."""
    insert(conn, "disclosures_received", values, _RECEIVED_COLUMNS)


def received(conn: Connection) -> list[dict[str, Any]]:
    """Every released detail stored, oldest first."""
    rows = conn.execute("SELECT * FROM disclosures_received ORDER BY received_at, id")
    return [dict(r) for r in rows]


def purge_received(conn: Connection, before: str) -> int:
    """Delete released details whose retention ended before ``before``; how many."""
    cur = conn.execute("DELETE FROM disclosures_received WHERE retain_until < ?", (before,))
    return int(cur.rowcount)
