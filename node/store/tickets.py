"""Tickets repository (responder side): disclosure requests received, per-item decisions,
approval tickets and every officer action on them."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from node.store.backend import Connection
from node.store.sql import insert

_REQUEST_COLUMNS = (
    "disclosure_id",
    "requester",
    "request_id",
    "match_id",
    "received_at",
    "purpose",
    "legal_basis",
    "case_reference",
    "officer",
    "justification",
    "potential_charges",
    "assurances",
    "requested_fields",
    "policy_digest",
    "keys_count",
)
_DECISION_COLUMNS = (
    "item_id",
    "disclosure_id",
    "position",
    "key_digest",
    "record_id",
    "outcome",
    "reason_code",
    "fields",
    "transforms",
    "obligations",
    "denied_by",
    "explanation",
    "decided_at",
    "ticket_id",
)
_TICKET_COLUMNS = (
    "ticket_id",
    "item_id",
    "disclosure_id",
    "counterpart",
    "record_id",
    "status",
    "created_at",
    "deadline",
    "roles",
    "two_person",
)

# -- requests and decisions -------------------------------------------------------


def add_request(conn: Connection, values: Mapping[str, object]) -> None:
    insert(conn, "disclosure_requests", values, _REQUEST_COLUMNS)


def add_decision(conn: Connection, values: Mapping[str, object]) -> None:
    insert(conn, "disclosure_decisions", values, _DECISION_COLUMNS)


def request(conn: Connection, disclosure_id: str) -> dict[str, Any] | None:
    row = conn.execute(
        "SELECT * FROM disclosure_requests WHERE disclosure_id = ?", (disclosure_id,)
    ).fetchone()
    return dict(row) if row else None


def request_of(conn: Connection, requester: str, request_id: str) -> str | None:
    """The disclosure id given to ``requester``'s request ``request_id``, or None."""
    row = conn.execute(
        "SELECT disclosure_id FROM disclosure_requests WHERE requester = ? AND request_id = ?",
        (requester, request_id),
    ).fetchone()
    return str(row[0]) if row else None


def request_id_for(conn: Connection, disclosure_id: str, requester: str) -> str | None:
    """The requester's request id of a disclosure it made, or None (unknown or foreign)."""
    row = conn.execute(
        "SELECT request_id FROM disclosure_requests WHERE disclosure_id = ? AND requester = ?",
        (disclosure_id, requester),
    ).fetchone()
    return str(row[0]) if row else None


def decision(conn: Connection, item_id: str) -> dict[str, Any] | None:
    row = conn.execute(
        "SELECT * FROM disclosure_decisions WHERE item_id = ?", (item_id,)
    ).fetchone()
    return dict(row) if row else None


def decisions_named(conn: Connection, reference: str) -> list[dict[str, Any]]:
    """Decisions (with their request and ticket state) an item, ticket or disclosure id names."""
    rows = conn.execute(
        "SELECT d.*, r.requester, r.request_id, r.received_at, r.purpose, r.legal_basis, "
        "r.case_reference, r.policy_digest, t.status AS ticket_status "
        "FROM disclosure_decisions d "
        "JOIN disclosure_requests r ON r.disclosure_id = d.disclosure_id "
        "LEFT JOIN tickets t ON t.ticket_id = d.ticket_id "
        "WHERE d.item_id = ? OR d.ticket_id = ? OR d.disclosure_id = ? "
        "ORDER BY d.disclosure_id, d.position",
        (reference, reference, reference),
    )
    return [dict(r) for r in rows]


def key_digests(conn: Connection, disclosure_id: str) -> dict[str, str]:
    """Item id -> digest of the key it answers, for one request."""
    rows = conn.execute(
        "SELECT item_id, key_digest FROM disclosure_decisions WHERE disclosure_id = ?",
        (disclosure_id,),
    )
    return {str(r[0]): str(r[1]) for r in rows}


def current_items(conn: Connection, disclosure_id: str) -> list[dict[str, Any]]:
    """Each item of a request with its ticket's state, in request order."""
    rows = conn.execute(
        "SELECT d.item_id, d.outcome, d.reason_code, d.fields, d.transforms, d.obligations, "
        "d.decided_at, t.ticket_id, t.status, t.deadline, t.decided_at AS ticket_decided "
        "FROM disclosure_decisions d LEFT JOIN tickets t ON t.ticket_id = d.ticket_id "
        "WHERE d.disclosure_id = ? ORDER BY d.position",
        (disclosure_id,),
    )
    return [dict(r) for r in rows]


def items_answered(conn: Connection, ticket_id: str) -> int:
    """How many items of its request a ticket answers."""
    row = conn.execute(
        "SELECT COUNT(*) FROM disclosure_decisions WHERE ticket_id = ?", (ticket_id,)
    ).fetchone()
    return int(row[0])


# -- tickets ------------------------------------------------------------------------


def add_ticket(conn: Connection, values: Mapping[str, object]) -> None:
    insert(conn, "tickets", {"status": "pending", **values}, _TICKET_COLUMNS)


def ticket(conn: Connection, ticket_id: str) -> dict[str, Any] | None:
    row = conn.execute("SELECT * FROM tickets WHERE ticket_id = ?", (ticket_id,)).fetchone()
    return dict(row) if row else None


def all_tickets(conn: Connection) -> list[dict[str, Any]]:
    rows = conn.execute("SELECT * FROM tickets ORDER BY deadline, ticket_id")
    return [dict(r) for r in rows]


def decide(
    conn: Connection,
    ticket_id: str,
    status: str,
    decided_at: str,
    decided_by: str,
    note: str | None,
) -> None:
    """Mark a ticket ``approved`` or ``denied``."""
    conn.execute(
        "UPDATE tickets SET status = ?, decided_at = ?, decided_by = ?, decision_note = ? "
        "WHERE ticket_id = ?",
        (status, decided_at, decided_by, note, ticket_id),
    )


def reopen(conn: Connection, ticket_id: str, deadline: str, round_: int) -> None:
    """Send a ticket back to ``pending`` for a new round with a new deadline."""
    conn.execute(
        "UPDATE tickets SET status = 'pending', deadline = ?, round = ?, decided_at = NULL, "
        "decided_by = NULL, decision_note = NULL WHERE ticket_id = ?",
        (deadline, round_, ticket_id),
    )


def add_action(
    conn: Connection,
    ticket_id: str,
    round_: int,
    officer: str,
    decision: str,
    role: str | None,
    note: str | None,
    at: str,
) -> None:
    """Record one officer action (approve, deny, reopen) on a ticket."""
    conn.execute(
        "INSERT INTO ticket_approvals (ticket_id, round, officer, decision, role, note, at) "
        "VALUES (?,?,?,?,?,?,?)",
        (ticket_id, round_, officer, decision, role, note, at),
    )


def actions(conn: Connection, ticket_id: str) -> list[dict[str, Any]]:
    """Every officer action on a ticket, oldest first."""
    rows = conn.execute(
        "SELECT round, officer, decision, note, at, role FROM ticket_approvals "
        "WHERE ticket_id = ? ORDER BY id",
        (ticket_id,),
    )
    return [dict(r) for r in rows]


def statuses(conn: Connection) -> list[dict[str, Any]]:
    """``counterpart``, ``status`` and ``deadline`` of every ticket (for statistics)."""
    rows = conn.execute("SELECT counterpart, status, deadline FROM tickets")
    return [dict(r) for r in rows]


def decisions_on_record(conn: Connection, record_id: str) -> list[Any]:
    """Every decision on ``record_id`` with its request and ticket state, newest first."""
    return list(
        conn.execute(
            "SELECT r.disclosure_id, r.requester, r.received_at, r.purpose, r.legal_basis, "
            "r.case_reference, d.outcome, d.reason_code, d.fields, d.obligations, d.ticket_id, "
            "t.status AS ticket_status FROM disclosure_decisions d "
            "JOIN disclosure_requests r ON r.disclosure_id = d.disclosure_id "
            "LEFT JOIN tickets t ON t.ticket_id = d.ticket_id "
            "WHERE d.record_id = ? ORDER BY r.received_at DESC, d.position",
            (record_id,),
        ).fetchall()
    )
