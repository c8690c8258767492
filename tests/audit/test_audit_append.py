"""Appending entries: chaining, field validation, personal content, audit-or-nothing."""

from __future__ import annotations

import hashlib
import sqlite3

import pytest

from node import audit
from node.app.home import NodeHome
from node.audit.chain import GENESIS_HASH
from node.store import transaction
from tests.audit.helpers import act_and_audit, record, rows, stand_in_actions

OFFICER = "Inspector Wanjiru Kamau"
JUSTIFICATION = "Ivory consignment seized at Mombasa; suspect linked to broker"
CASE = "KWS/2026/0042"
ACTOR = "analyst.otieno"


class TestChaining:
    def test_entries_have_contiguous_sequence_and_link_to_the_previous_hash(
        self, conn: sqlite3.Connection
    ) -> None:
        """Each stored entry carries the next sequence number and the previous entry's hash."""
        for n in range(3):
            record(conn, "records.imported", actor="node", elements=n + 1)
        stored = rows(conn, "audit_entries")
        assert [r["seq"] for r in stored] == [1, 2, 3]
        assert stored[0]["prev_hash"] == GENESIS_HASH
        assert stored[1]["prev_hash"] == stored[0]["entry_hash"]
        assert stored[2]["prev_hash"] == stored[1]["entry_hash"]
        assert len({r["entry_hash"] for r in stored}) == 3

    def test_append_returns_what_was_stored(self, conn: sqlite3.Connection) -> None:
        """The returned entry matches the stored row, clear fields included."""
        with transaction(conn):
            entry = audit.append(
                conn,
                "match.requested",
                counterpart="vn-ems",
                purpose="investigation",
                key_types=["passport", "phone"],
                elements=12,
                hits=2,
                transcript_hash="ab" * 32,
            )
        row = rows(conn, "audit_entries")[0]
        assert row["entry_hash"] == entry.entry_hash
        assert row["counterpart"] == "vn-ems"
        assert row["elements"] == 12
        assert row["hits"] == 2
        assert row["key_types"] == '["passport", "phone"]'
        assert entry.fields["key_types"] == ["passport", "phone"]


class TestValidation:
    def test_outside_a_transaction_is_refused(self, conn: sqlite3.Connection) -> None:
        """An entry written without the caller's transaction is refused and nothing is stored."""
        with pytest.raises(audit.NotInTransactionError):
            audit.append(conn, "peer.added", counterpart="vn-ems")
        assert rows(conn, "audit_entries") == []

    @pytest.mark.parametrize(
        ("event", "fields", "bad"),
        [
            ("match.requested", {"counterparty": "x"}, "counterparty"),
            ("match.requested", {"elements": -1}, "elements"),
            ("match.requested", {"hits": True}, "hits"),
            ("match.requested", {"key_types": "passport"}, "key_types"),
            ("match.requested", {"officer": 42}, "officer"),
            ("match.requested", {"purpose": "p" * 600}, "purpose"),
            ("match.requested", {"key_types": ["passport", ""]}, "key_types"),
            ("match.requested", {"details": {"officer": "someone"}}, "details"),
            ("match.requested", {"details": {"identifiers": ["C1234567"]}}, "details"),
            ("match.requested", {"details": {"keys": "v1|phone|+84912345678"}}, "details"),
            ("match.requested", {"details": {"blob": b"\x01psi"}}, "details"),
            ("match.requested", {"details": {"n": "x" * 5000}}, "details"),
        ],
    )
    def test_bad_fields_are_refused_and_the_action_rolls_back(
        self, conn: sqlite3.Connection, event: str, fields: dict[str, object], bad: str
    ) -> None:
        """A bad field raises, names the field, and the caller's action is not committed."""
        with pytest.raises(audit.InvalidAuditFieldError) as caught:
            act_and_audit(conn, event, **fields)
        assert caught.value.field == bad
        assert stand_in_actions(conn) == []
        assert rows(conn, "audit_entries") == []

    def test_counts_and_empty_text_are_accepted(self, conn: sqlite3.Connection) -> None:
        """Counts under content-like names are fine, and empty text is recorded as absent."""
        entry = record(
            conn,
            "records.imported",
            officer="",
            purpose="",
            details={"keys": 120, "records": 40, "identifiers_not_keyed": 3},
        )
        assert entry.commitments == {}
        assert "purpose" not in entry.fields
        assert rows(conn, "audit_personal") == []
        assert audit.verify(conn).ok

    def test_unknown_event_is_refused(self, conn: sqlite3.Connection) -> None:
        """Event names come from a closed vocabulary; a typo is an error, not a new event."""
        with pytest.raises(audit.UnknownEventError), transaction(conn):
            audit.append(conn, "match.requsted")
        assert rows(conn, "audit_entries") == []

    def test_every_documented_event_is_accepted(self, conn: sqlite3.Connection) -> None:
        """Every event in the vocabulary can be recorded."""
        for event in audit.EVENTS:
            record(conn, event)
        assert [r["event"] for r in rows(conn, "audit_entries")] == list(audit.EVENTS)


class TestPersonalContent:
    def test_personal_content_is_not_in_the_chain(self, conn: sqlite3.Connection) -> None:
        """Officer, justification, case reference and actor appear only in the purgeable table."""
        record(
            conn,
            "disclosure.requested",
            counterpart="vn-ems",
            officer=OFFICER,
            justification=JUSTIFICATION,
            case_reference=CASE,
            actor=ACTOR,
        )
        dumped = " ".join(str(v) for r in rows(conn, "audit_entries") for v in r.values())
        for secret in (OFFICER, JUSTIFICATION, CASE, ACTOR, "Wanjiru", "KWS/2026"):
            assert secret not in dumped
        personal = {r["field"]: r["value"] for r in rows(conn, "audit_personal")}
        assert personal == {
            "officer": OFFICER,
            "justification": JUSTIFICATION,
            "case_reference": CASE,
            "actor": ACTOR,
        }

    def test_commitments_are_salted(self, conn: sqlite3.Connection) -> None:
        """The same officer in two entries gets two different commitments, neither a bare hash."""
        first = record(conn, "match.requested", officer=OFFICER)
        second = record(conn, "match.requested", officer=OFFICER)
        bare = hashlib.sha256(OFFICER.encode()).hexdigest()
        assert first.commitments["officer"] != second.commitments["officer"]
        assert bare not in (first.commitments["officer"], second.commitments["officer"])
        salts = {r["salt"] for r in rows(conn, "audit_personal")}
        assert len(salts) == 2


class TestAuditOrNothing:
    @pytest.mark.parametrize("table", ["audit_entries", "audit_personal"])
    @pytest.mark.sqlite
    def test_failed_audit_write_rolls_back_the_action(
        self, conn: sqlite3.Connection, table: str
    ) -> None:
        """If the entry cannot be stored (simulated disk error), the caller's action is undone."""
        conn.execute(
            f"CREATE TEMP TRIGGER fail_audit BEFORE INSERT ON {table} "
            "BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END"
        )
        with pytest.raises(sqlite3.Error, match="disk is full"):
            act_and_audit(conn, "config.changed", actor=ACTOR, details={"setting": "limits"})
        assert stand_in_actions(conn) == []
        assert rows(conn, "audit_entries") == []
        assert rows(conn, "audit_personal") == []

    @pytest.mark.sqlite
    def test_read_only_database_changes_nothing(
        self, conn: sqlite3.Connection, home: NodeHome
    ) -> None:
        """On a database that cannot be written, neither the action nor an entry is stored."""
        ro = sqlite3.connect(f"file:{home.db_path}?mode=ro", uri=True, isolation_level=None)
        try:
            with pytest.raises(sqlite3.OperationalError):
                act_and_audit(ro, "config.changed")
        finally:
            ro.close()
        assert stand_in_actions(conn) == []
        assert rows(conn, "audit_entries") == []
