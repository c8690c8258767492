"""Importing files atomically, with skip-invalid, rejects, workers and audit."""

from __future__ import annotations

import csv
import sqlite3
from pathlib import Path

import pytest

from node import store
from node.records.importer import ImportRefusedError, import_file
from node.store import records as rs
from spoor_dev import generate


def audit_events(conn: sqlite3.Connection) -> list[str]:
    return [r[0] for r in conn.execute("SELECT event FROM audit_entries ORDER BY seq")]


def bad_file(tmp_path: Path) -> Path:
    path = tmp_path / "mixed.csv"
    path.write_text(
        "record_id,kind,subject_category,names,review_date\n"
        "P-1,person,suspect,Ana Lima,2030-01-01\n"
        "P-2,person,boss,Bo,2030-01-01\n"
        "P-3,person,suspect,Chen Li,2030-01-01\n",
        encoding="utf-8",
    )
    return path


class TestAtomicImport:
    def test_one_bad_row_imports_nothing(self, conn: sqlite3.Connection, tmp_path: Path) -> None:
        """By default an invalid row refuses the whole file and leaves the store unchanged."""
        with pytest.raises(ImportRefusedError) as info:
            import_file(conn, bad_file(tmp_path))
        assert info.value.report.error_count == 1
        assert info.value.report.errors[0].row == 3
        assert rs.count(conn) == 0
        assert "records.imported" not in audit_events(conn)

    def test_skip_invalid_writes_rejects_with_reasons(
        self, conn: sqlite3.Connection, tmp_path: Path
    ) -> None:
        """Good rows are stored, refused ones go to a private rejects file with reasons."""
        rejects = tmp_path / "rejects.csv"
        report = import_file(conn, bad_file(tmp_path), skip_invalid=True, rejects=rejects)
        assert (report.counts.inserted, report.refused) == (2, 1)
        rows = list(csv.DictReader(rejects.open(encoding="utf-8")))
        assert rows[0]["row"] == "3"
        assert "subject_category: not a subject category (boss)" in rows[0]["errors"]
        assert '"names": "Bo"' in rows[0]["record"]
        assert rejects.stat().st_mode & 0o777 == 0o600

    def test_import_is_audited_with_counts(self, conn: sqlite3.Connection, tmp_path: Path) -> None:
        """A successful import writes one records.imported audit entry."""
        path = tmp_path / "g.csv"
        generate.write(path, generate.rows(30, seed=3))
        import_file(conn, path)
        assert audit_events(conn) == ["records.imported"]
        details = conn.execute("SELECT details FROM audit_entries").fetchone()[0]
        assert '"inserted":30' in details.replace(" ", "")


class TestParallelImport:
    @pytest.mark.sqlite
    def test_workers_give_the_same_store_as_one_process(self, tmp_path: Path) -> None:
        """Importing with two worker processes stores exactly the same keys."""
        path = tmp_path / "g.jsonl"
        generate.write(path, generate.rows(3000, seed=5))
        stores = []
        for workers in (0, 2):
            c = store.open_store(tmp_path / f"n{workers}.db")
            report = import_file(c, path, workers=workers)
            assert report.counts.inserted == 3000
            rows = c.execute(
                "SELECT r.record_id, k.key FROM match_keys k JOIN records r USING (rid)"
            )
            stores.append(sorted((r[0], r[1]) for r in rows))
            indexes = {r[0] for r in c.execute("SELECT name FROM sqlite_master WHERE type='index'")}
            assert "match_keys_key" in indexes
            c.close()
        assert stores[0] == stores[1]


class TestGenerator:
    def test_generated_rows_are_valid_and_keyed(
        self, conn: sqlite3.Connection, tmp_path: Path
    ) -> None:
        """Synthetic rows in every format import cleanly and every identifier is keyed."""
        for fmt in ("csv", "jsonl", "xlsx"):
            path = tmp_path / f"g.{fmt}"
            generate.write(path, generate.rows(200, seed=7, agency=f"A{fmt}"))
            report = import_file(conn, path)
            assert report.counts.inserted == 200
            assert report.problem_count == 0, [str(p) for p in report.problems]
        kinds = {r.kind for r in rs.list_records(conn, limit=600)}
        assert kinds == {"person", "organisation", "shipment"}


class TestOversizedCells:
    def test_overlong_name_is_refused_quickly_and_named(self, tmp_path: Path) -> None:
        """A pasted blob in a name cell is refused with its own message, not normalized."""
        from node.records.parse import InvalidRowError, parse_row

        row = {"record_id": "X-1", "kind": "person", "subject_category": "suspect",
               "names": "A" * 100_000, "review_date": "2030-01-01"}  # fmt: skip
        with pytest.raises(InvalidRowError) as info:
            parse_row(row)
        messages = [(p.column, p.message) for p in info.value.problems]
        assert messages == [("names", "an entry is longer than 1000 characters")]


def _write_people(path: Path, rows: list[tuple[str, str, str]]) -> Path:
    """A CSV of person records: (record id, names, emails)."""
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["record_id", "kind", "subject_category", "names", "date_of_birth",
                         "emails", "review_date"])  # fmt: skip
        for record_id, names, emails in rows:
            writer.writerow([record_id, "person", "suspect", names, "1980-02-03", emails,
                             "2030-01-01"])  # fmt: skip
    return path


def _derived(conn: sqlite3.Connection, record_id: str) -> list[str]:
    from node.records.keys import derive_stored_keys

    record = rs.get(conn, record_id)
    assert record is not None
    return sorted(derive_stored_keys(record).matchable())


class TestStagedKeys:
    def test_keys_with_quotes_backslashes_and_other_scripts_are_stored_exactly(
        self, conn: sqlite3.Connection, tmp_path: Path
    ) -> None:
        """Key strings that need escaping in transit come out of the import byte for byte."""
        path = _write_people(
            tmp_path / "odd.csv",
            [
                ("P-1", "陈明华", 'o"brien\\x@example.com'),
                ("P-2", "Nguyễn Văn Hùng; Вадим Петров", "a.b+tag@gmail.com"),
            ],
        )
        report = import_file(conn, path)
        assert report.counts.inserted == 2
        for record_id in ("P-1", "P-2"):
            assert rs.keys_of(conn, record_id) == _derived(conn, record_id)
        assert 'v1|email|o"brien\\x@example.com' in rs.keys_of(conn, "P-1")
        assert report.counts.keys == len(rs.keys_of(conn, "P-1")) + len(rs.keys_of(conn, "P-2"))

    def test_imports_one_after_another_on_one_connection_replace_changed_keys(
        self, conn: sqlite3.Connection, tmp_path: Path
    ) -> None:
        """A second import on the same connection updates changed records and their keys only."""
        first = [("P-1", "Ana Lima", "ana@example.com"), ("P-2", "Chen Li", "chen@example.com")]
        import_file(conn, _write_people(tmp_path / "a.csv", first))
        changed = [first[0], ("P-2", "Chen Li", "li.chen@example.org")]
        report = import_file(conn, _write_people(tmp_path / "b.csv", changed))
        c = report.counts
        assert (c.inserted, c.updated, c.unchanged) == (0, 1, 1)
        assert c.keys == len(rs.keys_of(conn, "P-2"))
        assert "v2|email|li.chen@example.org" in rs.keys_of(conn, "P-2")
        assert not any("chen@example.com" in k for k in rs.keys_of(conn, "P-2"))
        again = import_file(conn, _write_people(tmp_path / "c.csv", changed)).counts
        assert (again.inserted, again.updated, again.unchanged, again.keys) == (0, 0, 2, 0)

    def test_a_refused_import_leaves_the_connection_ready_for_the_next(
        self, conn: sqlite3.Connection, tmp_path: Path
    ) -> None:
        """After an all-or-nothing refusal the same connection imports a good file normally."""
        with pytest.raises(ImportRefusedError):
            import_file(conn, bad_file(tmp_path))
        good = _write_people(tmp_path / "good.csv", [("P-9", "Ana Lima", "ana@example.com")])
        assert import_file(conn, good).counts.inserted == 1
        assert rs.keys_of(conn, "P-9") == _derived(conn, "P-9")
