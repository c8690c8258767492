"""The analyst's round trip: export, re-import, profiles, every error at once, id prefixes."""

from __future__ import annotations

import csv
import json
import stat
from pathlib import Path

import openpyxl
import pytest
from click.testing import CliRunner, Result
from records_helpers import EXAMPLES

from node.app.config import NodeConfig, save_config
from node.app.home import NodeHome
from node.cli.records_cmd import records
from node.records.export import export_records
from node.records.io import read_records
from node.records.model import IdentityDocument
from node.records.profiles import ProfileError, load_profile_file, parse_profile

MULTILINGUAL = [
    {
        "record_id": "TH-1",
        "kind": "person",
        "subject_category": "suspect",
        "names": ["สมชาย ใจดี", "Somchai Jaidee"],
        "phones": ["+66 81 234 5678"],
        "documents": [{"type": "passport", "issuing_country": "THA", "number": "AA1234567"}],
        "case_reference": "TH-2026-9",
        "review_date": "2031-01-01",
    },
    {
        "record_id": "VN-1",
        "kind": "person",
        "subject_category": "associate",
        "names": ["Nguyễn Thị Lan"],
        "phones": ["+84 91 234 5678", "+84 98 765 4321"],
        "case_reference": "TH-2026-9",
        "review_date": "2031-01-01",
    },
    {
        "record_id": "AE-1",
        "kind": "person",
        "subject_category": "suspect",
        "names": ["عبد الله الهاشمي"],
        "phones": ["+66812345678"],
        "review_date": "2031-01-01",
    },
]


def run(home: Path, *args: str) -> Result:
    return CliRunner().invoke(records, [*args, "--home", str(home)])


def make_home(tmp_path: Path) -> Path:
    home = tmp_path / "home"
    home.mkdir()
    save_config(NodeHome(home), NodeConfig(agency_id="th-dnp", country="TH"))
    return home


def imported(tmp_path: Path) -> Path:
    home = make_home(tmp_path)
    src = tmp_path / "in.jsonl"
    src.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in MULTILINGUAL), "utf-8")
    result = run(home, "import", str(src))
    assert result.exit_code == 0, result.output
    return home


class TestExport:
    def test_xlsx_round_trip_keeps_thai_vietnamese_and_arabic_names(self, tmp_path: Path) -> None:
        """An XLSX export read back gives the same records, names in their own scripts."""
        home = imported(tmp_path)
        out = tmp_path / "records.xlsx"
        result = run(home, "export", "--format", "xlsx", "--out", str(out))
        assert result.exit_code == 0, result.output
        assert stat.S_IMODE(out.stat().st_mode) == 0o600
        back = read_records(out)
        assert back.ok, [str(e) for e in back.errors]
        by_id = {r.record_id: r for r in back.records}
        assert by_id["TH-1"].names == ("สมชาย ใจดี", "Somchai Jaidee")
        assert by_id["VN-1"].names == ("Nguyễn Thị Lan",)
        assert by_id["AE-1"].names == ("عبد الله الهاشمي",)
        assert by_id["VN-1"].phones == ("+84 91 234 5678", "+84 98 765 4321")
        assert by_id["TH-1"].documents == (IdentityDocument("passport", "AA1234567", "THA"),)
        again = run(home, "import", str(out))
        assert "0 new, 0 updated, 3 unchanged" in again.output

    def test_xlsx_cells_are_one_value_each_and_never_formulas(self, tmp_path: Path) -> None:
        """Each phone has its own numbered column, stored as text even though it starts with +."""
        home = imported(tmp_path)
        out = tmp_path / "records.xlsx"
        run(home, "export", "--format", "xlsx", "--out", str(out))
        sheet = openpyxl.load_workbook(out).worksheets[0]
        header = [c.value for c in sheet[1]]
        assert "phones_1" in header
        assert "phones_2" in header
        assert "phones" not in header
        vn = next(row for row in sheet.iter_rows(min_row=2) if row[0].value == "VN-1")
        phone = vn[header.index("phones_2")]
        assert phone.value == "+84 98 765 4321"
        assert phone.data_type == "s"

    def test_csv_starts_with_a_bom_and_reads_back(self, tmp_path: Path) -> None:
        """The CSV begins with the UTF-8 byte-order mark, has no JSON in cells, and re-imports."""
        home = imported(tmp_path)
        out = tmp_path / "records.csv"
        run(home, "export", "--format", "csv", "--out", str(out))
        data = out.read_bytes()
        assert data.startswith(b"\xef\xbb\xbf")
        assert "สมชาย ใจดี".encode() in data
        with out.open(encoding="utf-8-sig", newline="") as fh:
            rows = list(csv.DictReader(fh))
        th = next(r for r in rows if r["record_id"] == "TH-1")
        assert th["names_1"] == "สมชาย ใจดี"
        assert th["documents_1"] == "passport:THA:AA1234567"
        assert not any(cell.startswith(("[", "{")) for r in rows for cell in r.values())
        assert read_records(out).ok

    def test_i2_pair_links_records_through_identifiers_and_cases(self, tmp_path: Path) -> None:
        """Entities hold records and identifiers; links join records by shared phone or case."""
        home = imported(tmp_path)
        result = run(home, "export", "--format", "i2", "--out", str(tmp_path / "net.csv"))
        assert result.exit_code == 0, result.output
        with (tmp_path / "net-entities.csv").open(encoding="utf-8-sig") as fh:
            entities = list(csv.DictReader(fh))
        with (tmp_path / "net-links.csv").open(encoding="utf-8-sig") as fh:
            links = list(csv.DictReader(fh))
        ids = {e["entity_id"] for e in entities}
        assert {"record:TH-1", "record:VN-1", "record:AE-1"} <= ids
        assert "id:passport:THA:AA1234567" in ids
        kinds = {(x["from_id"], x["to_id"], x["link_type"]) for x in links}
        assert ("record:TH-1", "id:phone:+66812345678", "holds") in kinds
        assert ("record:TH-1", "record:AE-1", "shares_identifier") in kinds
        assert ("record:TH-1", "record:VN-1", "same_case") in kinds
        assert ("record:VN-1", "record:AE-1", "same_case") not in kinds

    def test_unknown_format_is_refused(self, tmp_path: Path) -> None:
        """Only the listed formats are written."""
        with pytest.raises(ValueError, match="format must be one of"):
            export_records([], "ods", tmp_path / "x.ods")


PROFILE = """
columns:
  รหัส: record_id
  ประเภท: kind
  สถานะ: subject_category
  ชื่อ: names
  ทบทวน: review_date
values:
  kind: {บุคคล: person}
  subject_category: {ผู้ต้องสงสัย: suspect, ผู้ร่วมขบวนการ: associate}
combine:
  - into: documents
    type: passport
    number: เลขหนังสือเดินทาง
    country: ประเทศที่ออก
  - into: phones
    number: โทรศัพท์
    country: ประเทศโทรศัพท์
"""
THAI_SHEET = (
    "รหัส,ประเภท,สถานะ,ชื่อ,ทบทวน,เลขหนังสือเดินทาง,ประเทศที่ออก,โทรศัพท์,ประเทศโทรศัพท์\n"
    "TH-7,บุคคล,ผู้ต้องสงสัย,สมชาย ใจดี,2031-01-01,AA1234567,THA,081 234 5678,TH\n"
    "TH-8,บุคคล,ผู้ร่วมขบวนการ,สมหญิง ใจดี,2031-01-01,,,,\n"
)


class TestProfiles:
    def test_value_maps_and_combined_columns(self, tmp_path: Path) -> None:
        """Thai kinds and categories map to Spoor's; passport + country and phone + country join."""
        (tmp_path / "p.yaml").write_text(PROFILE, "utf-8")
        profile = load_profile_file(tmp_path / "p.yaml")
        sheet = tmp_path / "th.csv"
        sheet.write_text(THAI_SHEET, "utf-8")
        result = read_records(sheet, mapping=profile)
        assert result.ok, [str(e) for e in result.errors]
        first, second = result.records
        assert (first.kind, first.subject_category) == ("person", "suspect")
        assert second.subject_category == "associate"
        assert first.documents == (IdentityDocument("passport", "AA1234567", "THA"),)
        assert first.phones == ("+66812345678",)
        assert second.documents == ()

    def test_unmapped_local_value_is_an_error_naming_the_cell(self, tmp_path: Path) -> None:
        """A local value the profile does not map is reported at its row and column."""
        (tmp_path / "p.yaml").write_text(PROFILE, "utf-8")
        sheet = tmp_path / "th.csv"
        sheet.write_text(THAI_SHEET.replace("ผู้ร่วมขบวนการ", "พยาน"), "utf-8")
        errors = read_records(sheet, mapping=load_profile_file(tmp_path / "p.yaml")).errors
        assert [(e.row, e.column, e.value) for e in errors] == [(3, "subject_category", "พยาน")]

    def test_bad_profile_names_every_bad_entry(self) -> None:
        """A profile mapping to unknown fields or values is refused with each problem named."""
        with pytest.raises(ProfileError) as caught:
            parse_profile(
                {
                    "columns": {"X": "nickname"},
                    "values": {"kind": {"บุคคล": "human"}},
                    "combine": [{"into": "emails", "number": "a", "country": "b"}],
                },
                "p.yaml",
            )
        text = str(caught.value)
        assert "'nickname' is not a record field" in text
        assert "'human' is not one of person" in text
        assert "use documents or phones" in text

    def test_saved_profile_is_used_by_import(self, tmp_path: Path) -> None:
        """'profile save' stores the profile in the home and 'import --profile' applies it."""
        home = make_home(tmp_path)
        (tmp_path / "p.yaml").write_text(PROFILE, "utf-8")
        saved = run(home, "profile", "save", "thai-dnp", "--map-file", str(tmp_path / "p.yaml"))
        assert saved.exit_code == 0, saved.output
        assert (home / "profiles" / "thai-dnp.yaml").is_file()
        assert "thai-dnp" in run(home, "profile", "list").output
        sheet = tmp_path / "th.csv"
        sheet.write_text(THAI_SHEET, "utf-8")
        result = run(home, "import", str(sheet), "--profile", "thai-dnp")
        assert result.exit_code == 0, result.output
        assert "2 new" in result.output
        shown = run(home, "show", "TH-7")
        assert "passport|THA|AA1234567" in shown.output

    def test_unknown_profile_is_refused_and_nothing_imported(self, tmp_path: Path) -> None:
        """Importing with a profile that was never saved fails before reading the file."""
        home = make_home(tmp_path)
        sheet = tmp_path / "th.csv"
        sheet.write_text(THAI_SHEET, "utf-8")
        result = run(home, "import", str(sheet), "--profile", "nope")
        assert result.exit_code != 0
        assert "no such profile" in result.output
        assert "0 of 0 records" in run(home, "list").output


class TestEveryError:
    def test_all_errors_of_all_rows_are_printed_at_once(self, tmp_path: Path) -> None:
        """Thirty bad rows with two problems each print sixty located lines; nothing is stored."""
        home = make_home(tmp_path)
        lines = ["record_id,kind,subject_category,names,review_date"]
        lines += [f"P-{i},person,suspectt,Ana,someday" for i in range(30)]
        bad = tmp_path / "bad.csv"
        bad.write_text("\n".join(lines) + "\n", "utf-8")
        result = run(home, "import", str(bad))
        assert result.exit_code == 1
        located = [line for line in result.output.splitlines() if line.startswith(f"{bad}:")]
        assert len(located) == 60
        assert f"{bad}:31:subject_category: not a subject category (suspectt)" in result.output
        assert f"{bad}:31:review_date: not a date (someday)" in result.output
        assert "0 of 0 records" in run(home, "list").output

    def test_unknown_column_and_bad_rows_are_reported_together(self, tmp_path: Path) -> None:
        """An unknown header column does not hide the rows' errors: both come in one attempt."""
        home = make_home(tmp_path)
        bad = tmp_path / "bad.csv"
        bad.write_text(
            "record_id,kind,subject_category,names,review_date,Nickname\n"
            "P-1,person,suspect,Ana,someday,Annie\n",
            "utf-8",
        )
        result = run(home, "import", str(bad))
        assert result.exit_code == 1
        assert f"{bad}:1:Nickname: unknown column (Nickname)" in result.output
        assert f"{bad}:2:review_date: not a date (someday)" in result.output
        assert "1 column(s) of the header cannot be read" in result.output

    def test_unknown_column_refuses_the_file_even_with_skip_invalid(self, tmp_path: Path) -> None:
        """A column no field takes would be lost from every row, so nothing is imported."""
        home = make_home(tmp_path)
        sheet = tmp_path / "s.xlsx"
        book = openpyxl.Workbook()
        book.active.append(["record_id", "kind", "review_date", "containers", "Colour"])
        book.active.append(["S-1", "shipment", "2031-01-01", "MSCU1234566", "red"])
        book.save(sheet)
        result = run(home, "import", str(sheet), "--skip-invalid")
        assert result.exit_code == 1
        assert f"{sheet}:1:Colour: unknown column" in result.output
        assert "0 of 0 records" in run(home, "list").output

    def test_skip_invalid_keeps_the_good_rows(self, tmp_path: Path) -> None:
        """With --skip-invalid the valid row is stored and each refused row is named."""
        home = make_home(tmp_path)
        bad = tmp_path / "bad.csv"
        bad.write_text(
            "record_id,kind,subject_category,names,review_date\n"
            "P-1,person,suspect,Ana,2031-01-01\nP-2,person,suspectt,Bo,someday\n",
            "utf-8",
        )
        result = run(home, "import", str(bad), "--skip-invalid")
        assert result.exit_code == 0
        assert "1 new" in result.output
        assert f"refused: {bad}:3:subject_category" in result.output
        assert f"refused: {bad}:3:review_date" in result.output


class TestIdPrefixes:
    def test_unique_prefix_shows_the_record(self, tmp_path: Path) -> None:
        """The start of exactly one record id is that record."""
        home = imported(tmp_path)
        result = run(home, "show", "AE")
        assert result.exit_code == 0, result.output
        assert '"record_id": "AE-1"' in result.output

    def test_ambiguous_prefix_is_an_error_naming_the_candidates(self, tmp_path: Path) -> None:
        """A prefix of several ids fails, lists them, and deletes nothing."""
        home = make_home(tmp_path)
        assert run(home, "import", str(EXAMPLES / "persons.csv")).exit_code == 0
        result = run(home, "delete", "VNC-P-000")
        assert result.exit_code == 1
        assert "VNC-P-0001, VNC-P-0002, VNC-P-0003" in result.output
        assert "3 of 3 records" in run(home, "list").output

    def test_unknown_id_is_an_error(self, tmp_path: Path) -> None:
        """An id that is no record's, nor the start of one, fails with exit code 1."""
        home = imported(tmp_path)
        result = run(home, "show", "ZZ")
        assert result.exit_code == 1
        assert "no record 'ZZ'" in result.output

    def test_wide_list_shows_long_ids_whole_in_a_narrow_terminal(self, tmp_path: Path) -> None:
        """--wide never cuts an id, even when the terminal is 80 columns wide."""
        home = make_home(tmp_path)
        long_id = "KE-KWS-2026-INTEL-SHIPMENT-000000000042-AMENDED"
        src = tmp_path / "s.jsonl"
        row = {"record_id": long_id, "kind": "shipment", "review_date": "2031-01-01"}
        src.write_text(json.dumps(row | {"containers": ["MSCU1234566"]}) + "\n", "utf-8")
        assert run(home, "import", str(src)).exit_code == 0
        runner = CliRunner(env={"COLUMNS": "80"})
        narrow = runner.invoke(records, ["list", "--home", str(home)])
        wide = runner.invoke(records, ["list", "--wide", "--home", str(home)])
        assert long_id not in narrow.output
        assert long_id in wide.output
