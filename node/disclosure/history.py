"""What this node has decided and disclosed about one of its records, and on what basis."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from node.store import tickets as repo
from node.store.backend import Connection


@dataclass(frozen=True)
class RecordDisclosure:
    """One decision on one record: to whom, why, what left (or not) and under which terms."""

    disclosure_id: str
    requester: str
    received_at: str
    purpose: str
    legal_basis: str
    case_reference: str
    outcome: str
    reason_code: str
    fields: dict[str, Any]
    obligations: dict[str, Any] | None
    ticket_id: str | None
    ticket_status: str | None

    @property
    def released(self) -> bool:
        return self.outcome == "RELEASE" or self.ticket_status == "approved"


def disclosures_of_record(conn: Connection, record_id: str) -> list[RecordDisclosure]:
    """Every decision on ``record_id``, newest first, with the ticket's state if any."""
    rows = repo.decisions_on_record(conn, record_id)
    return [
        RecordDisclosure(
            str(r["disclosure_id"]),
            str(r["requester"]),
            str(r["received_at"]),
            str(r["purpose"]),
            str(r["legal_basis"]),
            str(r["case_reference"]),
            str(r["outcome"]),
            str(r["reason_code"]),
            json.loads(r["fields"]),
            json.loads(r["obligations"]) if r["obligations"] else None,
            r["ticket_id"],
            r["ticket_status"],
        )
        for r in rows
    ]
