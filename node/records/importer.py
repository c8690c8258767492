"""Importing a record file into the node: validate, derive keys, store, audit — atomically.

The default is all-or-nothing: every row is checked, and one bad row means
nothing is stored (the errors say where and why). With ``skip_invalid`` the
good rows are stored and the refused ones written, with their reasons, to a
rejects file (mode 0600: it holds record contents).

Validation and key derivation run in worker processes for large files, while
this process reads the file and stages the prepared records in large batches
(:mod:`node.store.staging`) without taking the store's write lock, so every
other command, a starting ``spoor serve`` and counterparts' matches carry on
meanwhile. The staged records are then merged in one short write transaction
together with the audit entry, so an interrupted or refused import leaves the
node exactly as it was.
"""

from __future__ import annotations

import csv
import gc
import json
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from node import store as node_store
from node.errors import SpoorError
from node.records.io import RowError, Shape, UnreadableFileError, duplicate_error
from node.records.pipeline import Checked, checked
from node.store.backend import Connection
from node.store.records import UpsertCounts
from node.store.staging import StagedImport, StagedRecord

PARALLEL_FROM_BYTES = 4_000_000
#: Errors and warnings kept for the report; every one of them is shown (the rest are counted).
MAX_REPORTED = 10_000

Progress = Callable[[int], None]


class ImportRefusedError(SpoorError):
    """Rows were invalid and the import was all-or-nothing: nothing was stored."""

    FIELDS = ("report",)

    def __init__(self, report: ImportReport) -> None:
        super().__init__(
            f"{report.error_count} invalid row(s) in {report.file}; nothing was imported"
        )
        self.report = report


@dataclass(slots=True)
class ImportReport:
    """What an import did. ``errors`` and ``problems`` hold the first few of each."""

    file: str
    rows: int = 0
    counts: UpsertCounts = field(default_factory=UpsertCounts)
    refused: int = 0
    #: Problems of the header row (unknown or repeated columns), first in ``errors``.
    header_errors: int = 0
    errors: list[RowError] = field(default_factory=list)
    error_count: int = 0
    problems: list[RowError] = field(default_factory=list)
    problem_count: int = 0
    rejects: Path | None = None

    def add_error(self, error: RowError) -> None:
        self.error_count += 1
        if len(self.errors) < MAX_REPORTED:
            self.errors.append(error)

    def add_problem(self, problem: RowError) -> None:
        self.problem_count += 1
        if len(self.problems) < MAX_REPORTED:
            self.problems.append(problem)


def estimate_rows(path: Path) -> int:
    """Roughly how many rows a file holds (lines for text files), for the progress bar."""
    if path.suffix.lower() == ".xlsx":
        return 0
    count = 0
    with path.open("rb") as fh:
        while block := fh.read(1 << 20):
            count += block.count(b"\n")
    return count


class _Rejects:
    """Refused rows and their reasons, as CSV (or JSON Lines when the name ends .jsonl)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        self.fh: TextIO = os.fdopen(fd, "w", encoding="utf-8", newline="")
        self.jsonl = path.suffix.lower() in (".jsonl", ".ndjson")
        self.writer: Any = None

    def write(self, row: int, errors: list[RowError], cells: dict[str, Any]) -> None:
        reasons = "; ".join(
            f"{e.column}: {e.message}" + (f" ({e.value})" if e.value else "") for e in errors
        )
        if self.jsonl:
            self.fh.write(
                json.dumps(
                    {"row": row, "errors": reasons, "record": cells},
                    ensure_ascii=False,
                    default=str,
                )
                + "\n"
            )
            return
        if self.writer is None:
            self.writer = csv.writer(self.fh)
            self.writer.writerow(["row", "errors", "record"])
        self.writer.writerow([row, reasons, json.dumps(cells, ensure_ascii=False, default=str)])

    def close(self) -> None:
        self.fh.close()


def default_workers() -> int:
    """Worker processes for a large import: one per core (at most four).

    On two cores, two workers beside the process writing SQLite finish sooner
    than one: the writer waits on its workers most of the time.
    """
    return max(1, min(4, os.cpu_count() or 1))


def import_file(
    conn: Connection,
    path: Path,
    fmt: str | None = None,
    mapping: Shape = None,
    *,
    skip_invalid: bool = False,
    rejects: Path | None = None,
    workers: int | None = None,
    progress: Progress | None = None,
    default_region: str | None = None,
) -> ImportReport:
    """Import a record file, stored in one short transaction with its audit entry.

    Raises :class:`UnreadableFileError` for a file that cannot be read at all and
    :class:`ImportRefusedError` (nothing stored) when rows are invalid and
    ``skip_invalid`` is false. ``default_region`` (alpha-2, the agency's
    country) reads local phone numbers of records without a country or nationality.
    """
    report = ImportReport(file=str(path))
    if workers is None:
        big = path.is_file() and path.stat().st_size > PARALLEL_FROM_BYTES
        workers = default_workers() if big else 0
    sink = _Rejects(rejects) if skip_invalid and rejects is not None else None
    report.rejects = rejects if sink else None
    sorter = _Sorter(report, sink)
    # No reference cycles are made here; full collections over the growing id
    # index would cost more than the whole SQLite work (see pipeline).
    collecting = gc.isenabled()
    gc.disable()
    try:
        with StagedImport(conn) as staged:
            with staged.writing():
                header: list[RowError] = []
                for chunk in checked(path, fmt, mapping, workers, default_region, header):
                    good = sorter.sort(chunk)
                    if (report.error_count == 0 or skip_invalid) and not header:
                        staged.add(good)
                    if progress is not None:
                        progress(len(chunk))
                if header:
                    # A column nobody can read would be dropped from every row: the whole
                    # file is refused, even with skip_invalid, after every row was checked.
                    report.errors[:0] = header
                    report.error_count += len(header)
                    report.header_errors = len(header)
                    raise ImportRefusedError(report)
                if report.error_count and not skip_invalid:
                    raise ImportRefusedError(report)
            with node_store.transaction(conn):
                report.counts = staged.merge(bulk=workers > 0)
                _audit(conn, report)
    finally:
        if collecting:
            gc.enable()
        if sink is not None:
            sink.close()
    return report


class _Sorter:
    """Separates a checked chunk into records to store and rows refused, in file order."""

    def __init__(self, report: ImportReport, sink: _Rejects | None) -> None:
        self.report = report
        self.sink = sink
        self.seen: dict[str, int] = {}

    def sort(self, chunk: list[Checked]) -> list[StagedRecord]:
        report, file = self.report, self.report.file
        good: list[StagedRecord] = []
        for n, prepared, errors, problems, cells in chunk:
            report.rows += 1
            first = self.seen.get(prepared[0]) if prepared is not None else None
            if prepared is None or first is not None:
                refusal = errors
                if prepared is not None and first is not None:
                    refusal = [duplicate_error(file, n, prepared[0], first)]
                report.refused += 1
                for e in refusal:
                    report.add_error(e)
                if self.sink is not None:
                    self.sink.write(n, refusal, cells or {})
                continue
            self.seen[prepared[0]] = n
            for p in problems:
                column, _, message = p.partition(": ")
                report.add_problem(RowError(file, n, column, message))
            good.append(prepared)
        return good


def _audit(conn: Connection, report: ImportReport) -> None:
    from node import audit

    c = report.counts
    audit.append(
        conn,
        "records.imported",
        elements=c.keys,
        details={
            "rows": report.rows,
            "inserted": c.inserted,
            "updated": c.updated,
            "unchanged": c.unchanged,
            "refused": report.refused,
            "keys": c.keys,
            "identifiers_not_keyed": report.problem_count,
        },
    )


__all__ = ["ImportRefusedError", "ImportReport", "UnreadableFileError", "import_file"]
