"""Reading CSV, JSON Lines and XLSX record files."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import openpyxl
import pytest
from records_helpers import EXAMPLES

from node.records.io import read_records


def write_csv(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


class TestFormats:
    def test_documented_examples_read_without_errors(self) -> None:
        """The example files of docs/examples are valid in every format."""
        mapping = {
            "Company name": "org_name",
            "Country": "org_country",
            "Registration number": "registration_numbers",
        }
        for name, m in (
            ("persons.csv", None),
            ("shipments.jsonl", None),
            ("organisations.xlsx", mapping),
        ):
            result = read_records(EXAMPLES / name, mapping=m)
            assert result.ok, [str(e) for e in result.errors]
            assert result.records

    def test_jsonl_lists_and_objects(self, tmp_path: Path) -> None:
        """JSON Lines rows may carry lists and document objects."""
        path = tmp_path / "p.jsonl"
        path.write_text(
            json.dumps(
                {
                    "record_id": "P-1",
                    "kind": "person",
                    "subject_category": "suspect",
                    "names": ["陈明华", "Chen Minghua"],
                    "review_date": "2030-01-01",
                    "documents": [
                        {"type": "passport", "number": "E12345678", "issuing_country": "CN"}
                    ],
                },
                ensure_ascii=False,
            )
            + "\n",
            encoding="utf-8",
        )
        record = read_records(path).records[0]
        assert record.names == ("陈明华", "Chen Minghua")
        assert record.documents[0].issuing_country == "CHN"

    def test_xlsx_dates_and_numbers_are_read(self, tmp_path: Path) -> None:
        """Excel date cells and numeric cells become ISO dates and text."""
        book = openpyxl.Workbook()
        sheet = book.active
        sheet.append(
            [
                "record_id",
                "kind",
                "subject_category",
                "names",
                "date_of_birth",
                "review_date",
                "phones",
                "country",
            ]
        )
        sheet.append(
            [
                "P-9",
                "person",
                "suspect",
                "John Kamau",
                dt.datetime(1974, 3, 22),
                dt.date(2030, 1, 1),
                722123456,
                "KE",
            ]
        )
        path = tmp_path / "s.xlsx"
        book.save(path)
        result = read_records(path)
        assert result.ok, [str(e) for e in result.errors]
        assert result.records[0].date_of_birth == "1974-03-22"
        assert result.records[0].phones == ("722123456",)


class TestErrors:
    def test_error_names_file_row_column_value_and_remedy(self, tmp_path: Path) -> None:
        """A bad cell is reported as file:row:column: what (value) — what to do."""
        path = write_csv(
            tmp_path / "p.csv",
            "record_id,kind,subject_category,names,review_date\n"
            "P-1,person,suspect,Ana,2030-01-01\n"
            "P-2,person,suspect,Bo,31/12/2030\n",
        )
        result = read_records(path)
        assert len(result.records) == 1
        assert str(result.errors[0]) == (
            f"{path}:3:review_date: not a date (31/12/2030) — write dates as YYYY-MM-DD "
            "(e.g. 2027-06-30)"
        )

    def test_unknown_column_names_the_mapping_option(self, tmp_path: Path) -> None:
        """A foreign header is refused with a hint to map it."""
        path = write_csv(tmp_path / "p.csv", "record_id,kind,review_date,Passaporte\n")
        result = read_records(path)
        assert "--map 'Passaporte=FIELD'" in str(result.errors[0])

    @pytest.mark.parametrize("field", ["~", "~0.number", "~x#y", "~names#2"])
    def test_a_field_shaped_like_an_internal_mark_is_an_error_not_a_crash(
        self, tmp_path: Path, field: str
    ) -> None:
        """A JSONL field named like the reader's own marks (fuzz finding '{"~": null}', which
        raised ValueError) is refused as a row error; the good row is still read."""
        path = tmp_path / "r.jsonl"
        good = {
            "record_id": "P-1",
            "kind": "person",
            "subject_category": "suspect",
            "names": ["Ana"],
            "review_date": "2030-01-01",
        }
        path.write_text(json.dumps({field: None}) + "\n" + json.dumps(good) + "\n")
        result = read_records(path)
        assert [r.record_id for r in result.records] == ["P-1"]
        assert result.errors
        assert {e.row for e in result.errors} == {1}

    def test_mapping_renames_foreign_headers(self, tmp_path: Path) -> None:
        """Mapped headers are read as the named fields."""
        path = write_csv(
            tmp_path / "p.csv",
            "Identificador,Tipo,Categoria,Nome,Revisão\n"
            "MZ-1,person,suspect,João Tembe,2030-01-01\n",
        )
        mapping = {
            "Identificador": "record_id",
            "Tipo": "kind",
            "Categoria": "subject_category",
            "Nome": "names",
            "Revisão": "review_date",
        }
        result = read_records(path, mapping=mapping)
        assert result.ok
        assert result.records[0].names == ("João Tembe",)

    def test_duplicate_record_ids_are_refused(self, tmp_path: Path) -> None:
        """Two rows with one record id: the second is refused and points at the first."""
        path = write_csv(
            tmp_path / "p.csv",
            "record_id,kind,subject_category,names,review_date\n"
            "P-1,person,suspect,Ana,2030-01-01\n"
            "P-1,person,suspect,Bo,2030-01-01\n",
        )
        assert "same record_id as row 2" in str(read_records(path).errors[0])

    @pytest.mark.parametrize(
        ("column", "value", "message"),
        [
            ("kind", "vessel", "not a record kind"),
            ("subject_category", "suspectt", "not a subject category"),
            ("handling_restrictions", "SECRET", "not a known value"),
            ("nationality", "Atlantis", "not a country"),
            ("documents", "passport C123", "not type:country:number"),
            ("date_of_birth", "1979-02-30", "not a date"),
        ],
    )
    def test_each_invalid_cell_is_named(
        self, tmp_path: Path, column: str, value: str, message: str
    ) -> None:
        """Vocabulary, country, document and date errors name the column."""
        cols = {
            "record_id": "P-1",
            "kind": "person",
            "subject_category": "suspect",
            "names": "Ana",
            "review_date": "2030-01-01",
        }
        cols[column] = value
        path = tmp_path / "p.jsonl"
        path.write_text(json.dumps(cols) + "\n", encoding="utf-8")
        errors = read_records(path).errors
        assert [(e.column, e.message) for e in errors][:1] == [(column, message)]

    def test_field_of_another_kind_is_refused(self, tmp_path: Path) -> None:
        """A shipment row with a person's field is an error, not silently ignored."""
        path = write_csv(
            tmp_path / "s.csv",
            "record_id,kind,review_date,containers,names\n"
            "S-1,shipment,2030-01-01,MSCU1234566,Ana\n",
        )
        assert read_records(path).errors[0].message == "does not apply to a shipment record"

    def test_missing_file_and_unknown_extension(self, tmp_path: Path) -> None:
        """A missing file and an unknown format are file-level errors."""
        assert "no such file" in str(read_records(tmp_path / "nope.csv").errors[0])
        odd = tmp_path / "x.txt"
        odd.write_text("a", encoding="utf-8")
        assert "--format" in str(read_records(odd).errors[0])

    def test_identifier_problems_are_warnings(self, tmp_path: Path) -> None:
        """A failed check digit keeps the record but is reported with its row."""
        path = write_csv(
            tmp_path / "s.csv",
            "record_id,kind,review_date,containers\nS-1,shipment,2030-01-01,MSCU1234565\n",
        )
        result = read_records(path)
        assert result.ok
        assert len(result.records) == 1
        assert str(result.problems[0]).startswith(f"{path}:2:containers:")
