"""The 'spoor records' commands."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner, Result
from records_helpers import EXAMPLES

from node.app.config import NodeConfig, save_config
from node.app.home import NodeHome
from node.cli.records_cmd import records


def run(home: Path, *args: str) -> Result:
    return CliRunner().invoke(records, [*args, "--home", str(home)])


def make_home(tmp_path: Path) -> Path:
    home = tmp_path / "home"
    home.mkdir()
    save_config(NodeHome(home), NodeConfig(agency_id="ke-kws", country="KE"))
    return home


class TestHome:
    def test_directory_without_a_node_is_refused(self, tmp_path: Path) -> None:
        """A --home that is not a node home is refused and no database appears there."""
        stray = tmp_path / "stray"
        stray.mkdir()
        src = tmp_path / "p.jsonl"
        src.write_text('{"record_id": "A", "kind": "shipment", "review_date": "2030-01-01"}\n')
        result = CliRunner().invoke(records, ["import", str(src), "--home", str(stray)])
        assert result.exit_code == 1
        assert "not a node home" in result.output
        assert not (stray / "node.db").exists()


class TestImportCommand:
    def test_import_then_reimport_changes_nothing(self, tmp_path: Path) -> None:
        """The second import of a file reports every record unchanged."""
        home = make_home(tmp_path)
        first = run(home, "import", str(EXAMPLES / "persons.csv"))
        assert first.exit_code == 0, first.output
        assert "3 new, 0 updated, 0 unchanged, 0 refused" in first.output
        second = run(home, "import", str(EXAMPLES / "persons.csv"))
        assert "0 new, 0 updated, 3 unchanged" in second.output

    def test_bad_row_is_located_and_nothing_imported(self, tmp_path: Path) -> None:
        """An invalid row fails the command with its location; the list stays empty."""
        home = make_home(tmp_path)
        bad = tmp_path / "bad.csv"
        bad.write_text(
            "record_id,kind,review_date,containers\nS-1,shipment,tomorrow,X\n", encoding="utf-8"
        )
        result = run(home, "import", str(bad))
        assert result.exit_code == 1
        assert f"{bad}:2:review_date: not a date (tomorrow)" in result.output
        assert "nothing was imported" in result.output
        assert "0 of 0 records" in run(home, "list").output

    def test_map_option_reads_foreign_headers(self, tmp_path: Path) -> None:
        """--map-file and --map rename the spreadsheet's headers."""
        home = make_home(tmp_path)
        result = run(
            home,
            "import",
            str(EXAMPLES / "organisations.xlsx"),
            "--map-file",
            str(EXAMPLES / "organisations-map.yaml"),
        )
        assert result.exit_code == 0, result.output
        assert "3 new" in result.output
        bad_map = run(home, "import", str(EXAMPLES / "organisations.xlsx"), "--map", "nonsense")
        assert bad_map.exit_code == 2
        assert "SOURCE=FIELD" in bad_map.output

    def test_rejects_requires_skip_invalid(self, tmp_path: Path) -> None:
        """Asking for a rejects file without --skip-invalid is a usage error."""
        home = make_home(tmp_path)
        result = run(home, "import", str(EXAMPLES / "persons.csv"), "--rejects", "r.csv")
        assert result.exit_code == 2

    def test_unkeyed_identifiers_are_warned(self, tmp_path: Path) -> None:
        """A failed check digit is shown as a warning with its row."""
        home = make_home(tmp_path)
        f = tmp_path / "s.csv"
        f.write_text(
            "record_id,kind,review_date,containers\nS-1,shipment,2030-01-01,MSCU1234565\n",
            encoding="utf-8",
        )
        result = run(home, "import", str(f))
        assert result.exit_code == 0
        assert f"warning: {f}:2:containers: 'MSCU1234565' check digit does not match" in (
            result.output
        )


class TestManagementCommands:
    def test_show_prints_record_and_keys(self, tmp_path: Path) -> None:
        """show prints the record in its script and marks low-entropy keys."""
        home = make_home(tmp_path)
        run(home, "import", str(EXAMPLES / "persons.csv"))
        result = run(home, "show", "VNC-P-0003")
        assert "Trần Thị Mai" in result.output
        assert "v2|name_yob|mai thi tran|1990  (low entropy: never matched alone)" in result.output

    def test_delete_and_purge(self, tmp_path: Path) -> None:
        """delete removes one record; purge-expired removes those past review."""
        home = make_home(tmp_path)
        run(home, "import", str(EXAMPLES / "persons.csv"))
        assert run(home, "delete", "VNC-P-0001").exit_code == 0
        assert run(home, "delete", "VNC-P-0001").exit_code == 1
        purged = run(home, "purge-expired", "--today", "2028-01-01")
        assert "purged 1 record(s)" in purged.output
        assert "1 of 1 records" in run(home, "list").output

    def test_list_json(self, tmp_path: Path) -> None:
        """list --json prints one record per line."""
        home = make_home(tmp_path)
        run(home, "import", str(EXAMPLES / "shipments.jsonl"))
        lines = run(home, "list", "--json").output.strip().splitlines()
        assert len(lines) == 2
        assert '"MZP-S-0001"' in lines[0]


class TestQualityCommand:
    def test_quality_prints_recall_and_false_matches(self, tmp_path: Path) -> None:
        """The quality command reports recall and false matches of the labeled set."""
        result = CliRunner().invoke(records, ["quality"])
        assert result.exit_code == 0, result.output
        assert "recall: 292/293" in result.output
        assert "false matches: 0" in result.output

    def test_quality_fails_below_the_bar(self, tmp_path: Path) -> None:
        """A set where a hard negative matches makes the command fail."""
        bad = tmp_path / "bad.jsonl"
        pair = {
            "id": "x",
            "label": "different",
            "a": {"kind": "shipment", "containers": "MSCU1234566"},
            "b": {"kind": "shipment", "containers": "MSCU 123456-6"},
        }
        bad.write_text(json.dumps(pair) + "\n", encoding="utf-8")
        result = CliRunner().invoke(records, ["quality", str(bad)])
        assert result.exit_code == 1
        assert "false matches: 1" in result.output
