"""Approval tickets: what the responder's legal officers list, read and decide.

Rules (fixed):

* approve — only a ticket awaiting a decision and within its deadline; an
  overdue ticket must be reopened first. Where the policy asks for two
  persons, two *different* officers must approve in the same round; the same
  officer approving twice is refused and changes nothing.
* deny — any ticket awaiting a decision, overdue or not (refusing never
  releases anything). The officer's reason stays on this node.
* reopen — an overdue, denied or expired ticket gets a new deadline and a new
  round (earlier approvals no longer count). An approved ticket cannot be
  reopened: its details have been released.

Every action and its audit entry commit together.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from node import audit, officers, store
from node.disclosure.model import iso, now_utc, parse_iso
from node.errors import DisclosureNotFound, InvalidRequest, TicketStateConflict
from node.officers.credentials import AuthenticatedOfficer
from node.store import Connection
from node.store import records as record_store
from node.store import tickets as repo

AWAITING = ("pending", "reopened")
MAX_REOPEN_HOURS = 24 * 30
MAX_NAME = 128
MAX_NOTE = 2000


@dataclass(frozen=True)
class OfficerAction:
    """One officer's action on a ticket."""

    round: int
    officer: str
    decision: str
    note: str | None
    at: str
    role: str | None = None


@dataclass(frozen=True)
class Ticket:
    """A ticket as legal officers see it."""

    ticket_id: str
    disclosure_id: str
    item_id: str
    counterpart: str
    record_id: str
    status: str
    created_at: str
    deadline: str
    roles: tuple[str, ...]
    two_person: bool
    round: int
    decided_at: str | None
    decided_by: str | None
    overdue: bool
    history: tuple[OfficerAction, ...] = ()

    @property
    def approvals_needed(self) -> int:
        """Two for the two-person rule, and at least one approver per role the policy names."""
        return max(2 if self.two_person else 1, len(self.roles))

    @property
    def roles_covered(self) -> tuple[str, ...]:
        """Roles the current round's approvers acted in."""
        return tuple(
            a.role
            for a in self.history
            if a.round == self.round and a.decision == "approve" and a.role is not None
        )

    @property
    def approvers(self) -> tuple[str, ...]:
        """Officers who approved in the current round, in order."""
        return tuple(
            a.officer for a in self.history if a.round == self.round and a.decision == "approve"
        )

    @property
    def state(self) -> str:
        """Status as shown to people: ``overdue`` for a pending ticket past its deadline."""
        return "overdue" if self.overdue else self.status

    def as_dict(self) -> dict[str, Any]:
        return {
            "ticket_id": self.ticket_id,
            "disclosure_id": self.disclosure_id,
            "counterpart": self.counterpart,
            "record_id": self.record_id,
            "status": self.status,
            "state": self.state,
            "overdue": self.overdue,
            "created_at": self.created_at,
            "deadline": self.deadline,
            "roles": list(self.roles),
            "two_person": self.two_person,
            "approvals_needed": self.approvals_needed,
            "approved_by": list(self.approvers),
            "round": self.round,
            "decided_at": self.decided_at,
            "decided_by": self.decided_by,
            "history": [a.__dict__ for a in self.history],
        }


@dataclass(frozen=True)
class TicketDetail:
    """Everything ``spoor approvals show`` prints: the request, the decision, the record."""

    ticket: Ticket
    request: dict[str, Any]
    decision: dict[str, Any]
    record: dict[str, Any] | None = field(default=None)


def _ticket(conn: Connection, row: Mapping[str, Any], moment: datetime) -> Ticket:
    history = tuple(
        OfficerAction(
            int(r["round"]),
            str(r["officer"]),
            str(r["decision"]),
            r["note"],
            str(r["at"]),
            r["role"],
        )
        for r in repo.actions(conn, str(row["ticket_id"]))
    )
    status = str(row["status"])
    return Ticket(
        ticket_id=str(row["ticket_id"]),
        disclosure_id=str(row["disclosure_id"]),
        item_id=str(row["item_id"]),
        counterpart=str(row["counterpart"]),
        record_id=str(row["record_id"]),
        status=status,
        created_at=str(row["created_at"]),
        deadline=str(row["deadline"]),
        roles=tuple(json.loads(row["roles"])),
        two_person=bool(row["two_person"]),
        round=int(row["round"]),
        decided_at=row["decided_at"],
        decided_by=row["decided_by"],
        overdue=status in AWAITING and parse_iso(str(row["deadline"])) < moment,
        history=history,
    )


def list_tickets(
    conn: Connection,
    *,
    include_decided: bool = False,
    overdue_only: bool = False,
    now: datetime | None = None,
) -> list[Ticket]:
    """Tickets awaiting a decision (or all), earliest deadline first."""
    moment = now or now_utc()
    out = [_ticket(conn, r, moment) for r in repo.all_tickets(conn)]
    if not include_decided:
        out = [t for t in out if t.status in AWAITING]
    if overdue_only:
        out = [t for t in out if t.overdue]
    return out


def get_ticket(conn: Connection, ticket_id: str, now: datetime | None = None) -> Ticket:
    """One ticket; :class:`DisclosureNotFound` if there is none by that id."""
    row = repo.ticket(conn, ticket_id.strip())
    if row is None:
        raise DisclosureNotFound("ticket", ticket_id.strip())
    return _ticket(conn, row, now or now_utc())


def ticket_detail(conn: Connection, ticket_id: str, now: datetime | None = None) -> TicketDetail:
    """The ticket with its request, the policy's decision and explanation, and the record."""
    ticket = get_ticket(conn, ticket_id, now)
    req = repo.request(conn, ticket.disclosure_id) or {}
    dec = repo.decision(conn, ticket.item_id) or {}
    request = {
        "requester": req["requester"],
        "received_at": req["received_at"],
        "purpose": req["purpose"],
        "legal_basis": req["legal_basis"],
        "case_reference": req["case_reference"],
        "officer": req["officer"],
        "justification": req["justification"],
        "potential_charges": json.loads(req["potential_charges"]),
        "assurances": json.loads(req["assurances"]),
        "requested_fields": json.loads(req["requested_fields"]),
        "match_id": req["match_id"],
    }
    decision = {
        "outcome": dec["outcome"],
        "reason_code": dec["reason_code"],
        "fields": json.loads(dec["fields"]),
        "transforms": json.loads(dec["transforms"]),
        "obligations": json.loads(dec["obligations"]) if dec["obligations"] else None,
        "explanation": dec["explanation"],
        "policy_digest": req["policy_digest"],
    }
    record = record_store.get(conn, ticket.record_id)
    return TicketDetail(ticket, request, decision, record.to_json() if record else None)


def _name(field_name: str, value: str) -> str:
    value = value.strip()
    if not value:
        raise InvalidRequest(field_name, "is required: say who is accountable for this decision")
    if len(value) > MAX_NAME:
        raise InvalidRequest(field_name, f"is longer than {MAX_NAME} characters")
    return value


def _note(field_name: str, value: str | None, *, required: bool = False) -> str | None:
    value = (value or "").strip()
    if required and not value:
        raise InvalidRequest(field_name, "is required: give the reason for the record")
    if len(value) > MAX_NOTE:
        raise InvalidRequest(field_name, f"is longer than {MAX_NOTE} characters")
    return value or None


def _request_id(conn: Connection, disclosure_id: str) -> str:
    row = repo.request(conn, disclosure_id) or {}
    return str(row.get("request_id"))


def _items_of(conn: Connection, ticket_id: str) -> int:
    """How many items of the request this ticket answers (keys reaching one record)."""
    return max(repo.items_answered(conn, ticket_id), 1)


def _uncovered(ticket: Ticket) -> tuple[str, ...]:
    """Roles the policy names that no approver of the current round has acted in yet."""
    covered = set(ticket.roles_covered)
    return tuple(r for r in ticket.roles if r not in covered)


def _record_action(
    conn: Connection,
    ticket: Ticket,
    *,
    round_: int,
    officer: str,
    decision: str,
    note: str | None,
    moment: datetime,
    role: str | None = None,
) -> None:
    repo.add_action(conn, ticket.ticket_id, round_, officer, decision, role, note, iso(moment))


def approve(
    conn: Connection,
    ticket_id: str,
    signed_in: AuthenticatedOfficer,
    *,
    note: str | None = None,
    now: datetime | None = None,
) -> Ticket:
    """Record one officer's approval; the ticket is approved once enough officers agree."""
    moment = now or now_utc()
    officer = _name("officer", signed_in.name)
    note = _note("note", note)
    with store.transaction(conn):
        ticket = get_ticket(conn, ticket_id, moment)
        if ticket.status not in AWAITING:
            raise TicketStateConflict(
                ticket.ticket_id,
                ticket.status,
                "it has already been decided",
                "reopen it with 'spoor approvals reopen' if it must be decided again",
            )
        if ticket.overdue:
            raise TicketStateConflict(
                ticket.ticket_id,
                "overdue",
                f"its deadline {ticket.deadline} has passed",
                "reopen it with 'spoor approvals reopen TICKET --officer NAME --deadline-hours N' "
                "before approving; nothing was released",
            )
        role = officers.authorize(conn, officer, ticket.roles, still_needed=_uncovered(ticket))
        if officer in ticket.approvers:
            raise TicketStateConflict(
                ticket.ticket_id,
                ticket.status,
                f"{officer} has already approved it",
                "the two-person rule needs a second, different officer; nothing was released",
            )
        _record_action(
            conn,
            ticket,
            round_=ticket.round,
            officer=officer,
            decision="approve",
            note=note,
            moment=moment,
            role=role,
        )
        approvers = (*ticket.approvers, officer)
        final = len(approvers) >= ticket.approvals_needed
        if final:
            repo.decide(conn, ticket.ticket_id, "approved", iso(moment), ", ".join(approvers), note)
        waited = (moment - parse_iso(ticket.created_at)).total_seconds()
        audit.append(
            conn,
            "disclosure.approved",
            counterpart=ticket.counterpart,
            request_id=_request_id(conn, ticket.disclosure_id),
            officer=officer,
            status="APPROVED" if final else "APPROVAL_RECORDED",
            details={
                "ticket_id": ticket.ticket_id,
                "officer_id": signed_in.officer_id,
                "disclosure_id": ticket.disclosure_id,
                "round": ticket.round,
                "approvals": len(approvers),
                "approvals_needed": ticket.approvals_needed,
                "role": role,
                "items": _items_of(conn, ticket.ticket_id),
                "final": final,
                **({"waited_seconds": max(waited, 0.0)} if final else {}),
            },
        )
        return get_ticket(conn, ticket.ticket_id, moment)


def deny(
    conn: Connection,
    ticket_id: str,
    signed_in: AuthenticatedOfficer,
    *,
    reason: str,
    now: datetime | None = None,
) -> Ticket:
    """Refuse a ticket; the requester sees only ``NOT_RELEASABLE``, never the reason."""
    moment = now or now_utc()
    officer = _name("officer", signed_in.name)
    why = _note("reason", reason, required=True)
    with store.transaction(conn):
        ticket = get_ticket(conn, ticket_id, moment)
        if ticket.status not in AWAITING:
            raise TicketStateConflict(
                ticket.ticket_id,
                ticket.status,
                "it has already been decided",
                "nothing was changed",
            )
        role = officers.authorize(conn, officer, ticket.roles)
        _record_action(
            conn,
            ticket,
            round_=ticket.round,
            officer=officer,
            decision="deny",
            note=why,
            moment=moment,
            role=role,
        )
        repo.decide(conn, ticket.ticket_id, "denied", iso(moment), officer, why)
        audit.append(
            conn,
            "disclosure.refused",
            counterpart=ticket.counterpart,
            request_id=_request_id(conn, ticket.disclosure_id),
            officer=officer,
            justification=why,
            status="DENIED",
            details={
                "ticket_id": ticket.ticket_id,
                "officer_id": signed_in.officer_id,
                "disclosure_id": ticket.disclosure_id,
                "round": ticket.round,
                "role": role,
                "items": _items_of(conn, ticket.ticket_id),
                "waited_seconds": max((moment - parse_iso(ticket.created_at)).total_seconds(), 0),
            },
        )
        return get_ticket(conn, ticket.ticket_id, moment)


def reopen(
    conn: Connection,
    ticket_id: str,
    signed_in: AuthenticatedOfficer,
    *,
    deadline_hours: int,
    note: str | None = None,
    now: datetime | None = None,
) -> Ticket:
    """Give an overdue, denied or expired ticket a new deadline and a fresh round."""
    moment = now or now_utc()
    officer = _name("officer", signed_in.name)
    note = _note("note", note)
    if not 1 <= deadline_hours <= MAX_REOPEN_HOURS:
        raise InvalidRequest("deadline_hours", f"must be between 1 and {MAX_REOPEN_HOURS}")
    with store.transaction(conn):
        ticket = get_ticket(conn, ticket_id, moment)
        if ticket.status == "approved":
            raise TicketStateConflict(
                ticket.ticket_id,
                "approved",
                "its details have already been released",
                "an approved ticket cannot be reopened",
            )
        if ticket.status in AWAITING and not ticket.overdue:
            raise TicketStateConflict(
                ticket.ticket_id,
                ticket.status,
                f"it is still within its deadline {ticket.deadline}",
                "decide it with 'spoor approvals approve' or 'spoor approvals deny'",
            )
        officers.authorize(conn, officer, ticket.roles)
        new_round = ticket.round + 1
        deadline = iso(moment + timedelta(hours=deadline_hours))
        _record_action(
            conn,
            ticket,
            round_=new_round,
            officer=officer,
            decision="reopen",
            note=note,
            moment=moment,
        )
        # Back to 'pending': a reopened ticket awaits a decision like any other, and
        # overdue counts (node.audit.stats) read pending tickets past their deadline.
        repo.reopen(conn, ticket.ticket_id, deadline, new_round)
        audit.append(
            conn,
            "ticket.reopened",
            counterpart=ticket.counterpart,
            request_id=_request_id(conn, ticket.disclosure_id),
            officer=officer,
            status="REOPENED",
            details={
                "ticket_id": ticket.ticket_id,
                "officer_id": signed_in.officer_id,
                "disclosure_id": ticket.disclosure_id,
                "round": new_round,
                "previous_status": ticket.state,
                "deadline_hours": deadline_hours,
                "items": _items_of(conn, ticket.ticket_id),
            },
        )
        return get_ticket(conn, ticket.ticket_id, moment)
