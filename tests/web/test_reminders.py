"""Reminders before ticket deadlines, delivered to a local SMTP sink (aiosmtpd on 127.0.0.1)."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from datetime import timedelta
from email import message_from_bytes
from email.message import Message
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from node.disclosure import reminders
from node.disclosure.model import now_utc
from tests.disclosure.helpers import SUSPECT, key_of
from tests.web.support import ConsoleHome


class Sink:
    """Keeps every message the node sends."""

    def __init__(self) -> None:
        self.messages: list[Message] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(message_from_bytes(envelope.content))
        return "250 OK"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def smtp_sink() -> Iterator[tuple[Sink, int]]:
    sink = Sink()
    port = free_port()
    controller = Controller(sink, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield sink, port
    finally:
        controller.stop()


class TestReminders:
    def test_reminder_mailed_once_before_the_deadline(
        self, home: ConsoleHome, smtp_sink: tuple[Sink, int]
    ) -> None:
        """A ticket due within the window is mailed once, naming the ticket but no record data."""
        sink, port = smtp_sink
        (item,) = home.node.disclose((key_of(SUSPECT, "passport"),)).items
        settings = reminders.ReminderSettings(
            hours_before=12, smtp_host="127.0.0.1", smtp_port=port, mail_to="legal@kws.example"
        )
        conn = home.node.conn
        early = reminders.send(conn, "ke-kws", settings, home.root)
        assert early == []  # 48 h deadline: not yet within 12 h
        later = now_utc() + timedelta(hours=40)
        sent = reminders.send(conn, "ke-kws", settings, home.root, now=later)
        assert sent == [item.ticket_id]
        (message,) = sink.messages
        body = str(message.get_payload())
        assert item.ticket_id in body
        assert "Nguyen" not in body
        assert "ivory" not in body.lower()  # the justification stays on the node
        assert reminders.send(conn, "ke-kws", settings, home.root, now=later) == []
        assert len(sink.messages) == 1

    def test_overdue_and_decided_tickets_are_not_reminded(
        self, home: ConsoleHome, smtp_sink: tuple[Sink, int]
    ) -> None:
        """Past its deadline a ticket is no longer reminded (the inbox marks it overdue)."""
        sink, port = smtp_sink
        home.node.disclose((key_of(SUSPECT, "passport"),))
        settings = reminders.ReminderSettings(
            hours_before=12, smtp_host="127.0.0.1", smtp_port=port, mail_to="legal@kws.example"
        )
        past = now_utc() + timedelta(hours=49)
        assert reminders.send(home.node.conn, "ke-kws", settings, home.root, now=past) == []
        assert sink.messages == []
