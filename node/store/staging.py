"""Staged imports: records written aside without the write lock, merged in one short transaction.

A long import must not hold the store's write lock while it reads, checks
and keys a large file: every other writer (a counterpart's match charging
its budget, an officer's approval, ``spoor serve`` starting up) would wait
for it. So :class:`StagedImport` writes the prepared records and their keys
into a temporary table of the import's own connection (SQLite keeps it in a
private temporary database attached for the import, PostgreSQL in the
session's temporary schema), in a plain transaction that takes no write lock, and
:meth:`StagedImport.merge` then upserts them into ``records`` and
``match_keys`` with a few set-based statements, inside the caller's
:func:`node.store.transaction` together with the import's audit entry.

Nothing is visible before the merge commits, so an interrupted or refused
import still leaves the node exactly as it was; the write lock is held only
for the merge, a small part of the import's time.

A staged row carries its record's keys as one JSON array (encoded by the
worker process that derived them, see :func:`pack_keys`), which the merge
unpacks in SQL: one row per record to write and to send between processes
instead of one per key.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Final

from node.store.backend import BACKEND, Connection, backend_of
from node.store.records import _BULK_INDEXES, IMPORT_CACHE_KIB, UpsertCounts
from node.store.timecodec import now_ts

#: A record ready to stage: (record_id, kind, review_date, canonical JSON content,
#: its matchable keys as a JSON array (:func:`pack_keys`), how many keys that is).
#: A plain tuple: it crosses from a worker process for every row, and tuples pickle
#: several times faster than named ones.
StagedRecord = tuple[str, str, str, str, str, int]

#: SQLite: the staging database's name. Detaching it discards the staged rows at
#: once, where dropping a table of a million rows frees its pages one by one.
_ATTACHED = "spoor_staging"
_COLUMNS = (
    "(seq INTEGER PRIMARY KEY, record_id TEXT NOT NULL,"
    " kind TEXT NOT NULL, review_date TEXT NOT NULL, content TEXT NOT NULL,"
    " key_list TEXT NOT NULL, key_count INTEGER NOT NULL, old_rid INTEGER, changed INTEGER)"
)
_KEYS_JSON: Final = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))
#: The staged keys, one row per key with its staged row: SQLite's json_each and
#: PostgreSQL's json_array_elements_text both keep the array's order.
_UNPACK: Final = {
    "sqlite": "staged_records s, json_each(s.key_list) k",
    "postgresql": "staged_records s CROSS JOIN LATERAL json_array_elements_text(s.key_list::json)"
    " AS k(value)",
}


def pack_keys(keys: Sequence[str]) -> str:
    """A record's key strings as the JSON array a staged row carries."""
    # A tuple encodes as an array as a list does, without the copy.
    return _KEYS_JSON.encode(keys if isinstance(keys, tuple | list) else list(keys))


class StagedImport:
    """One import's staging tables on ``conn``; use as a context manager (drops them after)."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self.staged = 0
        self.keys = 0
        self.sqlite = backend_of(conn).name == "sqlite"
        self._drop()
        if self.sqlite:
            # An empty name: a private temporary file, deleted when detached.
            conn.execute(f"ATTACH DATABASE '' AS {_ATTACHED}")
            # Unqualified, the name still finds it: no table of temp or main has it.
            conn.execute(f"CREATE TABLE {_ATTACHED}.staged_records {_COLUMNS}")
        else:
            conn.execute(f"CREATE TEMP TABLE staged_records {_COLUMNS}")

    def _drop(self) -> None:
        if not self.sqlite:
            self.conn.execute("DROP TABLE IF EXISTS staged_records")
            return
        attached = {str(r[1]) for r in self.conn.execute("PRAGMA database_list")}
        if _ATTACHED in attached:
            self.conn.execute(f"DETACH DATABASE {_ATTACHED}")

    def __enter__(self) -> StagedImport:
        return self

    def __exit__(self, *exc: object) -> None:
        if self.conn.in_transaction:
            self.conn.execute("ROLLBACK")
        self._drop()

    @contextmanager
    def writing(self) -> Iterator[StagedImport]:
        """One plain transaction for the staging writes (no write lock on the store)."""
        self.conn.execute("BEGIN")
        try:
            yield self
        except BaseException:
            self.conn.execute("ROLLBACK")
            raise
        self.conn.execute("COMMIT")

    def add(self, batch: list[StagedRecord]) -> None:
        """Stage ``batch`` (record ids unique across the import, as the importer ensures)."""
        first = self.staged + 1
        self.conn.executemany(
            "INSERT INTO staged_records"
            " (seq, record_id, kind, review_date, content, key_list, key_count)"
            " VALUES (?,?,?,?,?,?,?)",
            [(first + n, *p) for n, p in enumerate(batch)],
        )
        self.staged += len(batch)
        self.keys += sum(p[5] for p in batch)

    def merge(self, *, bulk: bool = False) -> UpsertCounts:
        """Upsert the staged records into the store (inside the caller's write transaction).

        New records get row ids above every stored one, in file order; changed
        ones keep theirs and get their keys replaced; identical ones are left
        alone. ``bulk`` into an empty store rebuilds the key indexes once at
        the end instead of row by row.
        """
        conn, now = self.conn, now_ts()
        BACKEND.prepare_bulk_load(conn, IMPORT_CACHE_KIB)
        empty = conn.execute("SELECT 1 FROM records LIMIT 1").fetchone() is None
        base = int(conn.execute("SELECT COALESCE(MAX(rid), 0) FROM records").fetchone()[0])
        if not empty:
            conn.execute(
                "UPDATE staged_records SET old_rid = r.rid,"
                " changed = CASE WHEN r.content = staged_records.content THEN 0 ELSE 1 END"
                " FROM records r WHERE r.record_id = staged_records.record_id"
            )
        row = conn.execute(
            "SELECT COUNT(*) - COUNT(old_rid), COALESCE(SUM(changed), 0),"
            " COUNT(old_rid) - COALESCE(SUM(changed), 0) FROM staged_records"
        ).fetchone()
        inserted, updated, unchanged = int(row[0]), int(row[1]), int(row[2])
        keys = self.keys
        if not empty:
            keys = int(
                conn.execute(
                    "SELECT COALESCE(SUM(key_count), 0) FROM staged_records"
                    " WHERE old_rid IS NULL OR changed = 1"
                ).fetchone()[0]
            )
        bulk = bulk and empty
        if bulk:
            for name in _BULK_INDEXES:
                conn.execute(f"DROP INDEX IF EXISTS {name}")
        conn.execute(
            "INSERT INTO records (rid, record_id, kind, review_date, content, imported_at)"
            " SELECT ? + seq, record_id, kind, review_date, content, ?"
            " FROM staged_records WHERE old_rid IS NULL ORDER BY seq",
            (base, now),
        )
        if updated:
            conn.execute(
                "UPDATE records SET kind = s.kind, review_date = s.review_date,"
                " content = s.content, imported_at = ?"
                " FROM staged_records s WHERE s.changed = 1 AND records.rid = s.old_rid",
                (now,),
            )
            conn.execute(
                "DELETE FROM match_keys WHERE rid IN"
                " (SELECT old_rid FROM staged_records WHERE changed = 1)"
            )
        conn.execute(
            "INSERT INTO match_keys (rid, key)"  # noqa: S608 - a constant of this module
            f" SELECT COALESCE(s.old_rid, ? + s.seq), k.value FROM {_UNPACK[backend_of(conn).name]}"
            " WHERE s.old_rid IS NULL OR s.changed = 1 ORDER BY s.seq"
            " ON CONFLICT DO NOTHING",
            (base,),
        )
        if bulk:
            for statement in _BULK_INDEXES.values():
                conn.execute(statement)
        return UpsertCounts(inserted, updated, unchanged, keys)
