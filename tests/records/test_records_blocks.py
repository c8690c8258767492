"""Cutting text files into blocks of whole rows for the worker processes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from node.records import blocks, pipeline


def csv_rows(path: Path) -> list[tuple[int, dict[str, str]]]:
    names, offset = blocks.csv_header(path, None)
    out: list[tuple[int, dict[str, str]]] = []
    for line, data in blocks.split(path, offset, 2, quoted=True):
        out.extend(blocks.parse_csv(str(path), names, line, data))
    return out


class TestCsvBlocks:
    def test_quoted_newlines_never_split_a_row(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """A cell with line breaks stays whole even when a block boundary falls inside it."""
        monkeypatch.setattr(blocks, "BLOCK_BYTES", 16)
        path = tmp_path / "p.csv"
        path.write_text(
            "record_id,kind,review_date,addresses\n"
            'P-1,person,2030-01-01,"12 Lê Lợi\nHải Phòng, ""Old Quarter"""\n'
            "P-2,person,2030-01-01,Mombasa\n"
            "\n"
            "P-3,person,2030-01-01,Maputo\n",
            encoding="utf-8",
        )
        rows = csv_rows(path)
        assert [(n, r["record_id"]) for n, r in rows] == [(2, "P-1"), (4, "P-2"), (6, "P-3")]
        assert rows[0][1]["addresses"] == '12 Lê Lợi\nHải Phòng, "Old Quarter"'

    def test_byte_order_mark_and_crlf_are_accepted(self, tmp_path: Path) -> None:
        """Spreadsheet exports with a BOM and Windows line ends read like plain files."""
        path = tmp_path / "p.csv"
        path.write_bytes(
            b"\xef\xbb\xbfrecord_id,kind,review_date\r\nP-1,person,x\r\nP-2,person,x\r\n"
        )
        assert [r["kind"] for _, r in csv_rows(path)] == ["person", "person"]

    def test_invalid_utf8_names_its_line(self, tmp_path: Path) -> None:
        """A block that is not UTF-8 is refused with the line it starts on."""
        path = tmp_path / "p.csv"
        path.write_bytes(b"record_id,kind,review_date\nP-1,person,x\nP-2,pers\xe9n,x\n")
        with pytest.raises(blocks.UnreadableFileError) as info:
            csv_rows(path)
        assert info.value.errors[0].row == 3


class TestJsonlBlocks:
    def test_lines_are_numbered_and_bad_json_is_a_row_error(self, tmp_path: Path) -> None:
        """Each JSON line is a row numbered by its line; a broken line becomes an error row."""
        path = tmp_path / "r.jsonl"
        path.write_text(
            json.dumps({"record_id": "A"}) + "\n\n{broken\n" + json.dumps([1]) + "\n",
            encoding="utf-8",
        )
        rows = []
        for line, data in blocks.split(path, blocks.jsonl_offset(path), 1, quoted=False):
            rows.extend(blocks.parse_jsonl(str(path), None, line, data))
        assert [n for n, _ in rows] == [1, 3, 4]
        assert rows[0][1] == {"record_id": "A"}
        assert "__error__" in rows[1][1]
        assert "__error__" in rows[2][1]


class TestPipeline:
    def test_refused_rows_carry_their_cells(self, tmp_path: Path) -> None:
        """A refused row comes back with its errors and its cells for the rejects file."""
        path = tmp_path / "p.csv"
        path.write_text("record_id,kind,review_date\nP-1,person,2030-01-01\n", encoding="utf-8")
        (checked,) = list(pipeline.checked(path, None, None, workers=0))
        n, prepared, errors, _, cells = checked[0]
        assert n == 2
        assert prepared is None
        assert {e.column for e in errors} == {"subject_category", "names"}
        assert cells == {"record_id": "P-1", "kind": "person", "review_date": "2030-01-01"}
