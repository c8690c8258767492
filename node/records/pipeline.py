"""The parallel part of an import: rows in, validated records with their keys out.

The importing process cuts the file into blocks of whole rows (see
:mod:`node.records.blocks`) and hands them to worker processes, which parse,
validate, normalize and derive keys; results come back in file order. Only a
bounded number of blocks is in flight, so memory stays flat however large the
file is. Spreadsheets (XLSX) are read in this process and sent as rows.

Workers run with the cyclic garbage collector off: rows make no reference
cycles, reference counting frees them, and collections over millions of young
objects would otherwise cost a third of the time.
"""

from __future__ import annotations

import gc
import multiprocessing
from collections import deque
from collections.abc import Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from itertools import islice
from pathlib import Path
from typing import Any

from node.records import blocks
from node.records.io import RowError, Shape, as_profile, check_row, detect_format, iter_rows
from node.records.keys import stored_match_keys
from node.records.profiles import Profile
from node.store.staging import StagedRecord, pack_keys

ROWS_PER_TASK = 2000
IN_FLIGHT_PER_WORKER = 3

Row = tuple[int, dict[str, Any]]
#: (row, the record ready to stage or None, errors, identifier problems "column: message",
#: the row's cells when it was refused — for the rejects file)
Checked = tuple[int, StagedRecord | None, list[RowError], list[str], dict[str, Any] | None]
#: ("rows", rows) | ("csv", field names, first line, bytes) | ("jsonl", mapping, first line, bytes)
Task = tuple[Any, ...]


def check_rows(
    file: str,
    rows: list[Row],
    default_region: str | None = None,
    profile: Profile | None = None,
) -> list[Checked]:
    """Validate rows (shaped by the import profile) and derive their keys.

    Local phones are read in ``default_region``.
    """
    out: list[Checked] = []
    for n, cells in rows:
        got = check_row(file, n, cells, profile)
        if isinstance(got, list):
            out.append((n, None, got, [], cells))
            continue
        keys, problems = stored_match_keys(got, default_region=default_region)
        staged = (
            got.record_id,
            got.kind,
            got.review_date,
            got.canonical_json(),
            pack_keys(keys),
            len(keys),
        )
        out.append((n, staged, [], problems, None))
    return out


def run_task(
    file: str, task: Task, default_region: str | None = None, profile: Profile | None = None
) -> list[Checked]:
    """Parse (for text blocks) and check one task; runs in a worker process."""
    kind = task[0]
    if kind == "csv":
        rows = blocks.parse_csv(file, task[1], task[2], task[3])
    elif kind == "jsonl":
        rows = blocks.parse_jsonl(file, task[1], task[2], task[3])
    else:
        rows = task[1]
    return check_rows(file, rows, default_region, profile)


def tasks(
    path: Path, fmt: str | None, mapping: Shape, collect: list[RowError] | None = None
) -> Iterator[Task]:
    """The file as tasks; raises :class:`UnreadableFileError` for a bad file or header.

    With ``collect``, unknown header columns are added to it and the rows still checked.
    """
    kind = detect_format(path, fmt)
    profile = as_profile(mapping)
    if kind == "csv":
        names, offset = blocks.csv_header(path, profile, collect)
        for line, data in blocks.split(path, offset, 2, quoted=True):
            yield ("csv", names, line, data)
    elif kind == "jsonl":
        for line, data in blocks.split(path, blocks.jsonl_offset(path), 1, quoted=False):
            yield ("jsonl", profile, line, data)
    else:
        rows = iter_rows(path, kind, profile, collect)
        while chunk := list(islice(rows, ROWS_PER_TASK)):
            yield ("rows", chunk)


def checked(
    path: Path,
    fmt: str | None,
    mapping: Shape,
    workers: int,
    default_region: str | None = None,
    collect: list[RowError] | None = None,
) -> Iterator[list[Checked]]:
    """Checked rows of the file, task by task in file order.

    ``workers`` is the number of worker processes; 0 checks in this process.
    ``default_region`` (the agency's country) reads local phone numbers of
    records without a country or nationality.
    """
    file = str(path)
    profile = as_profile(mapping)
    work = tasks(path, fmt, profile, collect)
    if workers <= 0:
        for task in work:
            yield run_task(file, task, default_region, profile)
        return
    first = next(work, None)  # header errors surface here, before any process starts
    if first is None:
        return
    ctx = multiprocessing.get_context("fork")
    with ProcessPoolExecutor(max_workers=workers, mp_context=ctx, initializer=gc.disable) as pool:
        pending: deque[Future[list[Checked]]] = deque(
            [pool.submit(run_task, file, first, default_region, profile)]
        )
        for task in work:
            pending.append(pool.submit(run_task, file, task, default_region, profile))
            if len(pending) >= IN_FLIGHT_PER_WORKER * workers:
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()
