"""Reading record files: CSV, JSON Lines and XLSX, with column mapping.

Agencies live in spreadsheets whose headers are in their own language, so
headers are matched loosely ("Record ID" → ``record_id``) and a mapping renames
foreign ones (``{"Número do passaporte": "documents"}``). Every row is validated;
each error reads ``file:row:column: what is wrong (value) — what to do``.
Row numbers are the ones the analyst sees: the header is row 1 in CSV and XLSX,
and JSON Lines counts lines.
"""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from node.errors import SpoorError
from node.records.model import ALL_COLUMNS, Record
from node.records.parse import FieldProblem, InvalidRowError, parse_row
from node.records.profiles import IGNORED, PART_MARK, Profile, numbered_target

#: How a file's columns are read: a header mapping, or a whole import profile.
Shape = Mapping[str, str] | Profile | None

FORMATS = ("csv", "jsonl", "xlsx")
_EXTENSIONS = {".csv": "csv", ".jsonl": "jsonl", ".ndjson": "jsonl", ".xlsx": "xlsx"}
_HEADER_SPACE = re.compile(r"[\s\-]+")
_KNOWN = frozenset(ALL_COLUMNS)
_MISSING = "required column is missing"
csv.field_size_limit(1 << 24)


@dataclass(frozen=True, slots=True)
class RowError:
    """One problem in an input file, located by file, row and column."""

    file: str
    row: int
    column: str
    message: str
    value: str = ""
    hint: str = ""

    def __str__(self) -> str:
        value = f" ({self.value})" if self.value else ""
        hint = f" — {self.hint}" if self.hint else ""
        return f"{self.file}:{self.row}:{self.column}: {self.message}{value}{hint}"


@dataclass(slots=True)
class ReadResult:
    """Valid records, errors of refused rows, and identifiers that will not be keyed."""

    records: list[Record] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)
    problems: list[RowError] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors


class UnreadableFileError(SpoorError):
    """The file as a whole cannot be read (missing, wrong format, bad header)."""

    FIELDS = ("errors",)

    def __init__(self, errors: list[RowError]) -> None:
        super().__init__("\n".join(str(e) for e in errors))
        self.errors = errors

    def __reduce__(self) -> tuple[type[UnreadableFileError], tuple[list[RowError]]]:
        # Raised in worker processes too: pickle the errors, not the message.
        return (type(self), (self.errors,))


def detect_format(path: Path, fmt: str | None) -> str:
    """The file format: as given, else from the file extension."""
    if fmt:
        if fmt not in FORMATS:
            raise UnreadableFileError(
                [
                    RowError(
                        str(path), 0, "-", f"unknown format {fmt!r}", "", "use csv, jsonl or xlsx"
                    )
                ]
            )
        return fmt
    found = _EXTENSIONS.get(path.suffix.lower())
    if found is None:
        raise UnreadableFileError(
            [
                RowError(
                    str(path),
                    0,
                    "-",
                    "cannot tell the file format from its name",
                    path.suffix,
                    "pass --format csv, jsonl or xlsx",
                )
            ]
        )
    return found


def canonical_header(name: str) -> str:
    """A header as a field name: trimmed, lower case, spaces and dashes as underscores."""
    return _HEADER_SPACE.sub("_", name.strip().lower())


def as_profile(shape: Shape) -> Profile:
    """The profile a header mapping (or nothing) stands for."""
    if isinstance(shape, Profile):
        return shape
    return Profile(columns=dict(shape or {}))


def map_headers(
    file: str, headers: list[str], shape: Shape, collect: list[RowError] | None = None
) -> list[str]:
    """Field names for the file's headers; raises :class:`UnreadableFileError` for unknown ones.

    Numbered columns of a list field (``names_1``, ``names_2``) and the parts of a
    profile's combined columns get names the row shaping gathers again. With
    ``collect``, unknown and repeated columns are added to it instead and read as
    nothing, so the rows are still checked and every error is reported at once
    (a missing required column still raises: every row would fail on it).
    """
    profile = as_profile(shape)
    mapping = profile.header_mapping()
    loose = {canonical_header(k): v for k, v in mapping.items()}
    out: list[str] = []
    errors: list[RowError] = []
    for i, header in enumerate(headers):
        raw = (header or "").strip()
        target = mapping.get(raw) or loose.get(canonical_header(raw)) or canonical_header(raw)
        target = numbered_target(target) or target
        if target.startswith(PART_MARK) and target not in out:
            out.append(target)
            continue
        problem = _header_problem(file, i, raw, target, out)
        if problem is not None:
            errors.append(problem)
            target = f"{IGNORED}{i}"  # read as nothing when errors are collected
        out.append(target)
    for missing in ("record_id", "kind", "review_date"):
        if missing not in out:
            errors.append(
                RowError(
                    file,
                    1,
                    missing,
                    _MISSING,
                    "",
                    f"add a {missing} column or map one to it",
                )
            )
    if errors and (collect is None or any(e.message == _MISSING for e in errors)):
        raise UnreadableFileError(errors)
    if collect is not None:
        collect.extend(errors)
    return out


def _header_problem(file: str, i: int, raw: str, target: str, seen: list[str]) -> RowError | None:
    if target not in _KNOWN:
        where = raw or f"column {i + 1}"
        return RowError(
            file,
            1,
            where,
            "unknown column",
            raw,
            f"rename it to a record field or map it with --map '{where}=FIELD'"
            " (fields: docs/records.md)",
        )
    if target in seen:
        return RowError(
            file,
            1,
            raw,
            f"second column for {target}",
            raw,
            "keep one column per field; separate several values with ';' or number"
            f" the columns ({target}_1, {target}_2)",
        )
    return None


def _csv_rows(
    path: Path, mapping: Shape, collect: list[RowError] | None = None
) -> Iterator[tuple[int, dict[str, Any]]]:
    with path.open(newline="", encoding="utf-8-sig") as fh:
        reader = csv.reader(fh)
        header = next(reader, None)
        if header is None:
            raise UnreadableFileError(
                [
                    RowError(
                        str(path),
                        1,
                        "-",
                        "the file is empty",
                        "",
                        "export the sheet with its header row",
                    )
                ]
            )
        names = map_headers(str(path), header, mapping, collect)
        start = reader.line_num + 1
        for cells in reader:
            # Rows are numbered by the line they start on (header = line 1).
            if any(c.strip() for c in cells):
                yield start, dict(zip(names, cells, strict=False))
            start = reader.line_num + 1


def _jsonl_rows(
    path: Path, mapping: Shape, collect: list[RowError] | None = None
) -> Iterator[tuple[int, dict[str, Any]]]:
    renames = as_profile(mapping).header_mapping()
    with path.open(encoding="utf-8-sig") as fh:
        for n, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as exc:
                yield n, {"__error__": f"not valid JSON ({exc.msg} at character {exc.pos})"}
                continue
            if not isinstance(obj, dict):
                yield n, {"__error__": "a line must hold one JSON object"}
                continue
            out: dict[str, Any] = {}
            for key, value in obj.items():
                target = renames.get(key) or canonical_header(key)
                out[target] = value
            yield n, out


def _xlsx_rows(
    path: Path, mapping: Shape, collect: list[RowError] | None = None
) -> Iterator[tuple[int, dict[str, Any]]]:
    import openpyxl

    try:
        book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many unrelated types for a bad file
        raise UnreadableFileError(
            [
                RowError(
                    str(path),
                    0,
                    "-",
                    "not a readable XLSX workbook",
                    type(exc).__name__,
                    "save the sheet as .xlsx",
                )
            ]
        ) from exc
    try:
        sheet = book.worksheets[0]
        rows = sheet.iter_rows(values_only=True)
        header = next(rows, None)
        if header is None:
            raise UnreadableFileError(
                [
                    RowError(
                        str(path),
                        1,
                        "-",
                        "the first sheet is empty",
                        "",
                        "put the records on the first sheet, headers in row 1",
                    )
                ]
            )
        width = max((i + 1 for i, h in enumerate(header) if h not in (None, "")), default=0)
        names = map_headers(str(path), [str(h or "") for h in header[:width]], mapping, collect)
        for n, cells in enumerate(rows, start=2):
            values = list(cells[:width])
            if all(v is None or (isinstance(v, str) and not v.strip()) for v in values):
                continue
            yield n, dict(zip(names, values, strict=False))
    finally:
        book.close()


def iter_rows(
    path: Path,
    fmt: str | None = None,
    mapping: Shape = None,
    collect: list[RowError] | None = None,
) -> Iterator[tuple[int, dict[str, Any]]]:
    """Yield (row number, {field: cell}) for every non-empty row of a record file.

    With ``collect``, unknown header columns are added to it and the rows still read.
    """
    if not path.is_file():
        raise UnreadableFileError(
            [RowError(str(path), 0, "-", "no such file", "", "check the path")]
        )
    kind = detect_format(path, fmt)
    reader = {"csv": _csv_rows, "jsonl": _jsonl_rows, "xlsx": _xlsx_rows}[kind]
    try:
        yield from reader(path, mapping, collect)
    except UnicodeDecodeError as exc:
        raise UnreadableFileError(
            [
                RowError(
                    str(path),
                    0,
                    "-",
                    "not UTF-8 text",
                    str(exc.reason),
                    "save the file as UTF-8 (CSV UTF-8 in spreadsheet programs)",
                )
            ]
        ) from exc


def row_errors(file: str, row: int, problems: list[FieldProblem]) -> list[RowError]:
    """Field problems of one row as located errors."""
    return [RowError(file, row, p.column, p.message, p.value, p.hint) for p in problems]


_AS_IS = Profile()
_GUARDED = ("'=", "'+", "'-", "'@")


def check_row(
    file: str, row: int, cells: dict[str, Any], profile: Profile | None = None
) -> Record | list[RowError]:
    """The row's record (after the profile's value maps and combined columns), or its errors."""
    if "__error__" in cells:
        return [RowError(file, row, "-", str(cells["__error__"]), "", "fix or remove the line")]
    try:
        # An export puts an apostrophe before a cell a spreadsheet would run as a formula.
        unguarded = {
            k: v[1:] if type(v) is str and v.startswith(_GUARDED) else v for k, v in cells.items()
        }
        shaped = (profile or _AS_IS).shape(unguarded)
        return parse_row(shaped)
    except InvalidRowError as exc:
        return row_errors(file, row, exc.problems)


def duplicate_error(file: str, row: int, record_id: str, first: int) -> RowError:
    """The error for a record id that an earlier row of the same file already used."""
    return RowError(
        file,
        row,
        "record_id",
        f"same record_id as row {first}",
        record_id,
        "give every record its own id",
    )


def read_records(path: str | Path, fmt: str | None = None, mapping: Shape = None) -> ReadResult:
    """Read and validate a whole record file into memory (for query files and small imports).

    File-level problems (missing file, unknown columns) come back as errors too;
    large imports stream through :func:`node.records.importer.import_file` instead.
    """
    from node.records.keys import derive_keys

    p = Path(path)
    result = ReadResult()
    seen: dict[str, int] = {}
    profile = as_profile(mapping)
    header: list[RowError] = []
    try:
        for n, cells in iter_rows(p, fmt, profile, header):
            got = check_row(str(p), n, cells, profile)
            if isinstance(got, list):
                result.errors.extend(got)
                continue
            if got.record_id in seen:
                result.errors.append(duplicate_error(str(p), n, got.record_id, seen[got.record_id]))
                continue
            seen[got.record_id] = n
            for problem in derive_keys(got).problems:
                column, _, message = problem.partition(": ")
                result.problems.append(RowError(str(p), n, column, message))
            result.records.append(got)
    except UnreadableFileError as exc:
        result.errors.extend(exc.errors)
    result.errors[:0] = header  # the header's problems first, then every row's
    return result
