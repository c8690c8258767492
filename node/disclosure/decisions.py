"""A past disclosure decision exactly as it was stored when it was sent.

``spoor policy explain --decision ID`` shows it (ID: the item id, the ticket
id, or the disclosure id for every item of one request): what the requester was sent
(outcome and reason code), the record it concerns, the guards that refused it
and the explanation written by the same evaluation that decided. Nothing is
re-evaluated, so a later policy or record change cannot alter what is shown.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from node.errors import DisclosureNotFound
from node.store import Connection
from node.store import tickets as tickets_repo


@dataclass(frozen=True)
class StoredDecision:
    """One item of a disclosure request, as decided."""

    item_id: str
    disclosure_id: str
    requester: str
    request_id: str
    received_at: str
    purpose: str
    legal_basis: str
    case_reference: str
    policy_digest: str
    record_id: str | None
    outcome: str
    reason_code: str
    denied_by: tuple[str, ...]
    fields: tuple[str, ...]
    explanation: str
    decided_at: str
    ticket_id: str | None
    ticket_status: str | None

    def as_dict(self) -> dict[str, Any]:
        return {
            "item_id": self.item_id,
            "disclosure_id": self.disclosure_id,
            "requester": self.requester,
            "request_id": self.request_id,
            "received_at": self.received_at,
            "purpose": self.purpose,
            "legal_basis": self.legal_basis,
            "case_reference": self.case_reference,
            "policy_digest": self.policy_digest,
            "record_id": self.record_id,
            "sent": {"outcome": self.outcome, "reason_code": self.reason_code},
            "denied_by": list(self.denied_by),
            "fields": list(self.fields),
            "explanation": self.explanation,
            "decided_at": self.decided_at,
            "ticket_id": self.ticket_id,
            "ticket_status": self.ticket_status,
        }


def stored_decisions(conn: Connection, reference: str) -> list[StoredDecision]:
    """The decisions ``reference`` names: an item id, a ticket id or a whole disclosure id.

    Raises :class:`DisclosureNotFound` when it names none.
    """
    ref = reference.strip()
    rows = tickets_repo.decisions_named(conn, ref)
    if not rows:
        raise DisclosureNotFound("disclosure decision", ref)
    return [_stored(row) for row in rows]


def _stored(row: Mapping[str, Any]) -> StoredDecision:
    return StoredDecision(
        item_id=str(row["item_id"]),
        disclosure_id=str(row["disclosure_id"]),
        requester=str(row["requester"]),
        request_id=str(row["request_id"]),
        received_at=str(row["received_at"]),
        purpose=str(row["purpose"]),
        legal_basis=str(row["legal_basis"]),
        case_reference=str(row["case_reference"]),
        policy_digest=str(row["policy_digest"]),
        record_id=row["record_id"],
        outcome=str(row["outcome"]),
        reason_code=str(row["reason_code"]),
        denied_by=tuple(json.loads(row["denied_by"])),
        fields=tuple(sorted(json.loads(row["fields"]))),
        explanation=str(row["explanation"]),
        decided_at=str(row["decided_at"]),
        ticket_id=row["ticket_id"],
        ticket_status=row["ticket_status"],
    )


def render_stored(d: StoredDecision) -> str:
    """Plain text: what was sent, then the explanation from the evaluation that decided it."""
    lines = [
        f"Decision {d.item_id} of disclosure {d.disclosure_id}, decided {d.decided_at}",
        f"Sent to {d.requester}: {d.outcome} {d.reason_code}",
        f"Record: {d.record_id or 'none (no record this request may see holds the key)'}",
        f"Refused by: {', '.join(d.denied_by) if d.denied_by else 'no guard'}",
        f"Policy digest at the time: {d.policy_digest}",
    ]
    if d.ticket_id:
        lines.append(f"Ticket {d.ticket_id}: {d.ticket_status or 'unknown'}")
    lines += ["", d.explanation]
    return "\n".join(lines)
