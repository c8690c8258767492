"""Large text files in blocks of whole rows, so worker processes can parse them.

Sending raw bytes to a worker costs the importing process almost nothing,
whereas parsing CSV and shipping dictionaries would make it the bottleneck.
A CSV block ends at a newline outside any quoted cell: CSV quotes come in
pairs (an embedded quote is doubled), so a newline is a row boundary exactly
when the number of quotes before it is even. JSON Lines cannot hold a raw
newline inside a value, so every newline ends a row.

Rows are numbered by the physical line they start on (the header is line 1),
which is what a text editor shows and, without multi-line cells, the
spreadsheet row number as well.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from node.records.io import (
    RowError,
    Shape,
    UnreadableFileError,
    as_profile,
    canonical_header,
    map_headers,
)

BLOCK_BYTES = 1 << 20
_BOM = b"\xef\xbb\xbf"


def _cut(buf: bytes, quoted: bool) -> int:
    """Index just past the last row boundary in ``buf``, or 0 if there is none."""
    end = buf.rfind(b"\n")
    if not quoted:
        return end + 1
    while end >= 0:
        if buf.count(b'"', 0, end) % 2 == 0:
            return end + 1
        end = buf.rfind(b"\n", 0, end)
    return 0


def _first_cut(buf: bytes) -> int:
    """Index just past the first row boundary of a CSV buffer, or 0 if there is none."""
    end = buf.find(b"\n")
    while end >= 0:
        if buf.count(b'"', 0, end) % 2 == 0:
            return end + 1
        end = buf.find(b"\n", end + 1)
    return 0


def _unreadable(path: Path, line: int, what: str, hint: str) -> UnreadableFileError:
    return UnreadableFileError([RowError(str(path), line, "-", what, "", hint)])


def csv_header(
    path: Path, mapping: Shape, collect: list[RowError] | None = None
) -> tuple[list[str], int]:
    """The field names of a CSV file's header and the byte offset where its rows begin."""
    with path.open("rb") as fh:
        head = fh.read(BLOCK_BYTES)
        start = len(_BOM) if head.startswith(_BOM) else 0
        while not (cut := _first_cut(head[start:])) and (more := fh.read(BLOCK_BYTES)):
            head += more  # a header longer than one block
    raw = head[start : start + cut] if cut else head[start:]
    try:
        header = next(csv.reader(io.StringIO(raw.decode("utf-8"))), None)
    except UnicodeDecodeError as exc:
        raise _unreadable(path, 1, "not UTF-8 text", "save the file as UTF-8") from exc
    if not header:
        raise _unreadable(path, 1, "the file is empty", "export the sheet with its header row")
    return map_headers(str(path), header, mapping, collect), start + len(raw)


def split(path: Path, offset: int, first_line: int, quoted: bool) -> Iterator[tuple[int, bytes]]:
    """Yield (first line number, bytes of whole rows) from ``offset`` to the end of the file."""
    line = first_line
    carry = b""
    with path.open("rb") as fh:
        fh.seek(offset)
        while True:
            data = fh.read(BLOCK_BYTES)
            buf = carry + data
            if not data:
                if buf.strip():
                    yield line, buf
                return
            cut = _cut(buf, quoted)
            if cut == 0:
                carry = buf  # one row longer than a block: keep reading
                continue
            block, carry = buf[:cut], buf[cut:]
            yield line, block
            line += block.count(b"\n")


def parse_csv(
    path: str, names: list[str], first_line: int, data: bytes
) -> list[tuple[int, dict[str, Any]]]:
    """Rows of a CSV block as (line number, {field: cell}), blank rows skipped."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = first_line + data[: exc.start].count(b"\n")
        raise _unreadable(Path(path), line, "not UTF-8 text", "save the file as UTF-8") from exc
    reader = csv.reader(io.StringIO(text))
    out: list[tuple[int, dict[str, Any]]] = []
    start = first_line
    for cells in reader:
        # Empty cells are left out: a missing field and an empty one mean the same.
        row = {k: v for k, v in zip(names, cells, strict=False) if v}
        if any(v.strip() for v in row.values()):
            out.append((start, row))
        start = first_line + reader.line_num
    return out


def parse_jsonl(
    path: str, mapping: Shape, first_line: int, data: bytes
) -> list[tuple[int, dict[str, Any]]]:
    """Rows of a JSON Lines block; a line that is not an object becomes an error row."""
    mapping = as_profile(mapping).header_mapping()
    out: list[tuple[int, dict[str, Any]]] = []
    for i, raw in enumerate(data.split(b"\n")):
        if not raw.strip():
            continue
        n = first_line + i
        try:
            obj = json.loads(raw)
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            out.append((n, {"__error__": f"not valid JSON ({exc})"}))
            continue
        if not isinstance(obj, dict):
            out.append((n, {"__error__": "a line must hold one JSON object"}))
            continue
        out.append((n, {mapping.get(k) or canonical_header(k): v for k, v in obj.items()}))
    return out


def jsonl_offset(path: Path) -> int:
    """Where the rows of a JSON Lines file begin (after a byte-order mark, if any)."""
    with path.open("rb") as fh:
        return len(_BOM) if fh.read(len(_BOM)) == _BOM else 0
