"""Storing records: upsert by id, delete, purge, eligible keys, facts."""

from __future__ import annotations

import datetime as dt
import sqlite3
from pathlib import Path

import pytest
from records_helpers import person_row, shipment_row

from node import store
from node.records.facts import facts
from node.records.model import FIELD_GROUPS
from node.records.parse import parse_row
from node.store import postgres
from node.store import records as rs


def put(conn: sqlite3.Connection, *rows: dict[str, object]) -> rs.UpsertCounts:
    with store.transaction(conn):
        return rs.upsert(conn, [parse_row(r) for r in rows])


class TestUpsert:
    def test_reimport_changes_nothing(self, conn: sqlite3.Connection) -> None:
        """The same records twice: the second upsert reports them unchanged and writes no key."""
        first = put(conn, person_row(), shipment_row())
        second = put(conn, person_row(), shipment_row())
        assert (first.inserted, first.unchanged) == (2, 0)
        assert (second.inserted, second.updated, second.unchanged, second.keys) == (0, 0, 2, 0)
        assert rs.count(conn) == 2

    def test_changed_record_replaces_its_keys(self, conn: sqlite3.Connection) -> None:
        """An updated record loses its old keys and gains the new ones."""
        put(conn, shipment_row(containers="MSCU1234566"))
        counts = put(conn, shipment_row(containers="HLCU4815165"))
        assert counts.updated == 1
        # Keys are stored for every scheme a peer may ask in (the string carries its scheme).
        assert rs.keys_of(conn, "S-1") == ["v1|container|HLCU4815165", "v2|container|HLCU4815165"]

    def test_only_matchable_keys_are_stored(self, conn: sqlite3.Connection) -> None:
        """A bare name is not stored as a key; name and full date is."""
        put(conn, person_row())
        assert all("|name|" not in k for k in rs.keys_of(conn, "P-1"))
        assert "v1|name_dob|hung nguyen van|1979-03-02" in rs.keys_of(conn, "P-1")

    def test_get_returns_the_record_as_imported(self, conn: sqlite3.Connection) -> None:
        """Stored content round-trips, original script included."""
        put(conn, person_row(documents="passport:VNM:C1234567"))
        record = rs.get(conn, "P-1")
        assert record is not None
        assert record.names == ("Nguyễn Văn Hùng",)
        assert record.documents[0].number == "C1234567"
        assert rs.get(conn, "nope") is None


class TestRemoval:
    def test_delete_removes_record_and_keys(self, conn: sqlite3.Connection) -> None:
        """A deleted record leaves no key behind."""
        put(conn, person_row())
        with store.transaction(conn):
            assert rs.delete(conn, "P-1")
            assert not rs.delete(conn, "P-1")
        assert conn.execute("SELECT COUNT(*) FROM match_keys").fetchone()[0] == 0

    def test_purge_removes_only_records_past_review(self, conn: sqlite3.Connection) -> None:
        """Records reviewed before today are purged; later ones stay."""
        put(
            conn,
            person_row(record_id="OLD", review_date="2026-01-01"),
            person_row(record_id="NEW", review_date="2031-01-01"),
        )
        with store.transaction(conn):
            assert rs.purge_expired(conn, dt.date(2027, 1, 1)) == 1
        assert [r.record_id for r in rs.list_records(conn)] == ["NEW"]


class TestEligibleKeys:
    def test_each_record_comes_with_its_own_keys(self, conn: sqlite3.Connection) -> None:
        """eligible_keys pairs every record's facts with exactly its keys, keyless ones too."""
        put(conn, person_row(), shipment_row(), person_row(record_id="P-2", date_of_birth=""))
        got = {f["record_id"]: keys for f, keys in rs.eligible_keys(conn)}
        assert got["S-1"] == ["v1|container|MSCU1234566", "v2|container|MSCU1234566"]
        assert "v1|name_dob|hung nguyen van|1979-03-02" in got["P-1"]
        assert got["P-2"] == []

    def test_records_and_keys_pair_up_across_fetch_batches(
        self, conn: sqlite3.Connection, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """Read in small batches (PostgreSQL streams scans), every record still gets its keys."""
        monkeypatch.setattr(postgres, "SCAN_BATCH", 3)
        rows = [person_row(record_id=f"P-{i}", phones=f"+8491234{i:04d}") for i in range(20)]
        put(conn, *rows, shipment_row())
        got = {f["record_id"]: keys for f, keys in rs.eligible_keys(conn)}
        assert len(got) == 21
        for record_id, keys in got.items():
            assert keys == rs.keys_of(conn, record_id), record_id
        assert "v2|phone|+84912340007" in got["P-7"]

    def test_a_scan_reads_one_state_while_another_import_commits(
        self, conn: sqlite3.Connection, tmp_path: Path
    ) -> None:
        """A record stored while a view is being read is not half in it: it waits for the next."""
        put(conn, *(person_row(record_id=f"P-{i}") for i in range(5)))
        scan = rs.eligible_keys(conn)
        first = next(scan)
        other = store.open_store(tmp_path / "node.db")
        try:
            put(other, person_row(record_id="P-9"))
        finally:
            other.close()
        rest = list(scan)
        assert [f["record_id"] for f, _ in [first, *rest]] == [f"P-{i}" for i in range(5)]
        assert "P-9" in {f["record_id"] for f, _ in rs.eligible_keys(conn)}


class TestFacts:
    def test_facts_follow_the_architecture_contract(self) -> None:
        """Facts carry metadata, species and only releasable fields named in FIELD_GROUPS."""
        record = parse_row(
            shipment_row(
                species="Loxodonta africana:ZA; Manis spp.",
                handling_restrictions="H2; interpol_art3",
                offence_classes="wildlife_trafficking",
                case_reference="PGR/2025/1",
            )
        )
        f = facts(record)
        assert set(f) == {
            "record_id",
            "kind",
            "subject_category",
            "case_reference",
            "source",
            "review_date",
            "handling_restrictions",
            "offence_classes",
            "species",
            "fields",
        }
        assert f["species"][0] == {"scientific_name": "Loxodonta africana", "population": "ZA"}
        assert f["handling_restrictions"] == ["H2", "interpol_art3"]
        assert f["subject_category"] is None
        assert set(f["fields"]) <= set(FIELD_GROUPS)
        assert f["fields"]["containers"] == ["MSCU1234566"]

    def test_person_facts_carry_the_subject_category(self) -> None:
        """A witness is visible to the policy as a witness."""
        assert facts(parse_row(person_row(subject_category="witness")))["subject_category"] == (
            "witness"
        )
