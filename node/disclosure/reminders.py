"""Reminders before ticket deadlines, by e-mail (SMTP) and/or a webhook.

A reminder says which ticket, for which counterpart, and when its deadline
falls; never the record, the justification or any requested detail, since
mail and chat systems are outside the node. Each ticket round is reminded
once: what was sent is kept in ``reminders-sent.json`` in the node home.
"""

from __future__ import annotations

import json
import smtplib
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage
from pathlib import Path

from node.disclosure import tickets
from node.disclosure.model import now_utc, parse_iso
from node.store import Connection

SENT_FILE = "reminders-sent.json"


@dataclass(frozen=True)
class ReminderSettings:
    """Where reminders go (see ``[console]`` in spoor.toml)."""

    hours_before: int
    webhook: str = ""
    smtp_host: str = ""
    smtp_port: int = 25
    mail_from: str = ""
    mail_to: str = ""

    @property
    def enabled(self) -> bool:
        return bool(self.webhook or (self.smtp_host and self.mail_to))


def due(conn: Connection, hours_before: int, now: datetime | None = None) -> list[tickets.Ticket]:
    """Tickets awaiting a decision whose deadline falls within ``hours_before`` hours."""
    moment = now or now_utc()
    horizon = moment + timedelta(hours=hours_before)
    return [
        t
        for t in tickets.list_tickets(conn, include_decided=False, now=moment)
        if not t.overdue and parse_iso(t.deadline) <= horizon
    ]


def _text(agency: str, ticket: tickets.Ticket) -> str:
    return (
        f"Spoor ({agency}): disclosure ticket {ticket.ticket_id} from {ticket.counterpart} "
        f"awaits a decision; its deadline is {ticket.deadline} "
        f"({len(ticket.approvers)}/{ticket.approvals_needed} approvals). "
        "Open the approvals inbox of the console to decide it."
    )


def send(
    conn: Connection,
    agency: str,
    settings: ReminderSettings,
    home_root: Path,
    *,
    now: datetime | None = None,
    smtp: Callable[[str, int], smtplib.SMTP] = smtplib.SMTP,
) -> list[str]:
    """Send the reminders that are due and not yet sent; the ticket ids reminded."""
    if not settings.enabled:
        return []
    sent_path = home_root / SENT_FILE
    sent: dict[str, str] = (
        json.loads(sent_path.read_text(encoding="utf-8")) if sent_path.is_file() else {}
    )
    reminded = []
    for ticket in due(conn, settings.hours_before, now):
        key = f"{ticket.ticket_id}#{ticket.round}"
        if key in sent:
            continue
        text = _text(agency, ticket)
        if settings.webhook:
            _post(settings.webhook, {"text": text, "ticket_id": ticket.ticket_id,
                                     "deadline": ticket.deadline})  # fmt: skip
        if settings.smtp_host and settings.mail_to:
            message = EmailMessage()
            message["Subject"] = f"Ticket {ticket.ticket_id} due {ticket.deadline}"
            message["From"] = settings.mail_from or f"spoor@{agency}"
            message["To"] = settings.mail_to
            message.set_content(text)
            with smtp(settings.smtp_host, settings.smtp_port) as client:
                client.send_message(message)
        sent[key] = (now or now_utc()).isoformat()
        reminded.append(ticket.ticket_id)
    if reminded:
        tmp = sent_path.with_suffix(".tmp")
        tmp.write_text(json.dumps(sent, indent=2), encoding="utf-8")
        tmp.replace(sent_path)
    return reminded


def _post(url: str, body: dict[str, str]) -> None:
    if not url.startswith(("https://", "http://127.0.0.1", "http://localhost")):
        raise ValueError("a reminder webhook must be https:// (or on this machine)")
    request = urllib.request.Request(  # noqa: S310 - scheme checked above
        url,
        data=json.dumps(body).encode("utf-8"),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=10):  # noqa: S310 - scheme checked above
        pass
