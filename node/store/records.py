"""Records repository: stored records and their match keys.

Writers run inside the caller's ``with node.store.transaction(conn):`` so an
import, a deletion or a purge commits together with its audit entry. Records
are upserted by ``record_id``: a record whose content is unchanged is
left alone, so importing the same file twice changes nothing.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from itertools import islice
from typing import NamedTuple

from node.records.facts import RecordFacts, facts
from node.records.keys import stored_match_keys
from node.records.model import Record
from node.store.backend import BACKEND, Connection
from node.store.timecodec import now_ts

BATCH = 5000
IMPORT_CACHE_KIB = 262_144
_BULK_INDEXES = {
    "match_keys_key": "CREATE INDEX IF NOT EXISTS match_keys_key ON match_keys (key)",
    "records_review_date": (
        "CREATE INDEX IF NOT EXISTS records_review_date ON records (review_date)"
    ),
}


class PreparedRecord(NamedTuple):
    """A validated record ready to store: its columns, canonical JSON and matchable keys."""

    record_id: str
    kind: str
    review_date: str
    content: str
    keys: tuple[str, ...]

    @classmethod
    def of(cls, record: Record) -> PreparedRecord:
        """Prepare ``record``: canonical JSON and matchable keys."""
        return PreparedRecord(
            record.record_id,
            record.kind,
            record.review_date,
            record.canonical_json(),
            stored_match_keys(record)[0],
        )


@dataclass(frozen=True, slots=True)
class UpsertCounts:
    """What an upsert did: new records, changed records, identical records, keys written."""

    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    keys: int = 0

    def __add__(self, other: UpsertCounts) -> UpsertCounts:
        return UpsertCounts(
            self.inserted + other.inserted,
            self.updated + other.updated,
            self.unchanged + other.unchanged,
            self.keys + other.keys,
        )


def _batches(items: Iterable[PreparedRecord], size: int) -> Iterator[list[PreparedRecord]]:
    it = iter(items)
    while batch := list(islice(it, size)):
        yield batch


def _existing(conn: Connection, ids: list[str]) -> dict[str, tuple[int, str]]:
    out: dict[str, tuple[int, str]] = {}
    for start in range(0, len(ids), 900):
        chunk = ids[start : start + 900]
        marks = ",".join("?" * len(chunk))
        rows = conn.execute(
            f"SELECT record_id, rid, content FROM records WHERE record_id IN ({marks})",  # noqa: S608
            chunk,
        )
        out.update({r[0]: (r[1], r[2]) for r in rows})
    return out


class Upserter:
    """Stores batches of prepared records for one import, inside the caller's transaction.

    When the store held no records at the start, every record is new (the
    reader already refused duplicate ids), so no lookups are needed.
    """

    def __init__(self, conn: Connection, unique_ids: bool = False) -> None:
        self.conn = conn
        self.now = now_ts()
        self.empty = conn.execute("SELECT 1 FROM records LIMIT 1").fetchone() is None
        self.next_rid = int(
            conn.execute("SELECT COALESCE(MAX(rid), 0) + 1 FROM records").fetchone()[0]
        )
        # Callers that already refused duplicate ids (the importer) need no second check.
        self.seen: set[str] | None = set() if self.empty and not unique_ids else None
        # A large cache keeps the indexes' hot pages in memory during a big import.
        BACKEND.prepare_bulk_load(conn, IMPORT_CACHE_KIB)
        self.bulk = False

    def begin_bulk(self) -> None:
        """For a large load into an empty store: build the key indexes once, at :meth:`finish`.

        Sorting all keys once is several times faster than keeping the index
        ordered row by row; it happens in the same transaction, so readers never
        see the store without its indexes.
        """
        if self.empty and not self.bulk:
            for name in _BULK_INDEXES:
                self.conn.execute(f"DROP INDEX IF EXISTS {name}")
            self.bulk = True

    def finish(self) -> None:
        """Rebuild indexes dropped by :meth:`begin_bulk` (call before the transaction commits)."""
        if self.bulk:
            for statement in _BULK_INDEXES.values():
                self.conn.execute(statement)
            self.bulk = False

    def add(self, batch: list[PreparedRecord]) -> UpsertCounts:
        """Insert new records, replace changed ones, skip identical ones; the counts."""
        conn = self.conn
        existing = {} if self.empty else _existing(conn, [p.record_id for p in batch])
        new_rows: list[tuple[object, ...]] = []
        changed_rows: list[tuple[object, ...]] = []
        key_rows: list[tuple[int, str]] = []
        drop: list[tuple[int]] = []
        unchanged = 0
        for p in batch:
            old = existing.get(p.record_id)
            if old is None and self.seen is not None and p.record_id in self.seen:
                # The same id twice in one call on an empty store: keep the last version.
                old = (-1, "")
            if old is None:
                rid = self.next_rid
                self.next_rid += 1
                new_rows.append((rid, p.record_id, p.kind, p.review_date, p.content))
                if self.seen is not None:
                    self.seen.add(p.record_id)
            elif old[1] == p.content:
                unchanged += 1
                continue
            else:
                rid = old[0] if old[0] >= 0 else self._rid_of(p.record_id)
                drop.append((rid,))
                changed_rows.append((p.kind, p.review_date, p.content, rid))
            existing[p.record_id] = (rid, p.content)
            key_rows.extend((rid, k) for k in p.keys)
        if new_rows:
            # The import time is one literal we made ourselves, not a value from the file.
            conn.executemany(
                f"INSERT INTO records VALUES (?,?,?,?,?,'{self.now}')",  # noqa: S608
                new_rows,
            )
        if changed_rows:
            conn.executemany(
                f"UPDATE records SET kind=?, review_date=?, content=?, imported_at='{self.now}'"  # noqa: S608
                " WHERE rid=?",
                changed_rows,
            )
            conn.executemany("DELETE FROM match_keys WHERE rid=?", drop)
        if key_rows:
            conn.executemany(
                "INSERT INTO match_keys (rid, key) VALUES (?,?) ON CONFLICT DO NOTHING", key_rows
            )
        return UpsertCounts(len(new_rows), len(changed_rows), unchanged, len(key_rows))

    def _rid_of(self, record_id: str) -> int:
        row = self.conn.execute("SELECT rid FROM records WHERE record_id=?", (record_id,))
        return int(row.fetchone()[0])


def upsert_prepared(
    conn: Connection, prepared: Iterable[PreparedRecord], batch_size: int = BATCH
) -> UpsertCounts:
    """Store prepared records (inside the caller's transaction); see :func:`upsert`."""
    upserter = Upserter(conn)
    total = UpsertCounts()
    for batch in _batches(prepared, batch_size):
        total = total + upserter.add(batch)
    return total


def upsert(conn: Connection, records: Iterable[Record]) -> UpsertCounts:
    """Insert new records, replace changed ones and leave identical ones alone (by record_id)."""
    return upsert_prepared(conn, (PreparedRecord.of(r) for r in records))


def get(conn: Connection, record_id: str) -> Record | None:
    """The stored record with this id, or None."""
    row = conn.execute("SELECT content FROM records WHERE record_id=?", (record_id,)).fetchone()
    return Record.from_json(json.loads(row[0])) if row else None


def keys_of(conn: Connection, record_id: str) -> list[str]:
    """The matchable key strings stored for a record."""
    rows = conn.execute(
        "SELECT k.key FROM match_keys k JOIN records r ON r.rid = k.rid"
        " WHERE r.record_id=? ORDER BY k.key",
        (record_id,),
    )
    return [r[0] for r in rows]


def ids_with_key(conn: Connection, key: str) -> list[str]:
    """Ids of the stored records holding the matchable ``key``, in id order."""
    rows = conn.execute(
        "SELECT DISTINCT r.record_id FROM match_keys k JOIN records r ON r.rid = k.rid "
        "WHERE k.key = ? ORDER BY r.record_id",
        (key,),
    )
    return [str(r[0]) for r in rows]


def count(conn: Connection, kind: str | None = None) -> int:
    """How many records are stored (of one kind, if given)."""
    if kind is None:
        return int(conn.execute("SELECT COUNT(*) FROM records").fetchone()[0])
    return int(conn.execute("SELECT COUNT(*) FROM records WHERE kind=?", (kind,)).fetchone()[0])


def list_records(
    conn: Connection, kind: str | None = None, limit: int = 100, offset: int = 0
) -> list[Record]:
    """Stored records in import order, optionally of one kind, one page at a time."""
    where, args = ("WHERE kind=?", [kind]) if kind else ("", [])
    rows = conn.execute(
        f"SELECT content FROM records {where} ORDER BY rid LIMIT ? OFFSET ?",  # noqa: S608
        [*args, limit, offset],
    )
    return [Record.from_json(json.loads(r[0])) for r in rows]


def delete(conn: Connection, record_id: str) -> bool:
    """Delete a record and its keys; False when no such record exists."""
    row = conn.execute("SELECT rid FROM records WHERE record_id=?", (record_id,)).fetchone()
    if row is None:
        return False
    conn.execute("DELETE FROM match_keys WHERE rid=?", (row[0],))
    conn.execute("DELETE FROM records WHERE rid=?", (row[0],))
    return True


def purge_expired(conn: Connection, today: dt.date) -> int:
    """Delete every record whose review/retention date is before ``today``; the number deleted."""
    cutoff = today.isoformat()
    conn.execute(
        "DELETE FROM match_keys WHERE rid IN (SELECT rid FROM records WHERE review_date < ?)",
        (cutoff,),
    )
    return int(conn.execute("DELETE FROM records WHERE review_date < ?", (cutoff,)).rowcount)


def eligible_keys(conn: Connection) -> Iterator[tuple[RecordFacts, list[str]]]:
    """Each stored record's policy facts with its matchable key strings, in import order.

    Keys were derived at import; nothing is normalized here. Records and keys
    are read by two ordered scans merged on the row id, streamed by the
    backend (:meth:`~node.store.backend.Backend.scans`), so memory stays flat.
    """
    with BACKEND.scans(
        conn,
        ("SELECT rid, content FROM records ORDER BY rid",
         "SELECT rid, key FROM match_keys ORDER BY rid"),
    ) as (records, keys):  # fmt: skip
        pending = next(keys, None)
        for rid, content in records:
            own: list[str] = []
            while pending is not None and pending[0] < rid:
                pending = next(keys, None)
            while pending is not None and pending[0] == rid:
                own.append(pending[1])
                pending = next(keys, None)
            yield facts(Record.from_json(json.loads(content))), own


def fingerprint(conn: Connection) -> tuple[object, ...]:
    """A cheap fingerprint that changes whenever a record is added, changed or deleted.

    (record count, highest row id, latest import time, sum of row ids, key count)
    """
    row = conn.execute(
        "SELECT COUNT(*), COALESCE(MAX(rid), 0), COALESCE(MAX(imported_at), ''), "
        "COALESCE(SUM(rid), 0) FROM records"
    ).fetchone()
    keys = conn.execute("SELECT COUNT(*) FROM match_keys").fetchone()
    return (int(row[0]), int(row[1]), str(row[2]), int(row[3]), int(keys[0]))


def only_appended(conn: Connection, old: tuple[object, ...]) -> bool:
    """True when every change since fingerprint ``old`` is new records (nothing changed or gone).

    Rows up to the old highest row id must be exactly the old rows: same count
    and same row-id sum, and none re-imported since the old latest import time.
    """
    count, max_rid, latest, rid_sum = old[0], old[1], old[2], old[3]
    row = conn.execute(
        "SELECT COUNT(*), COALESCE(SUM(rid), 0), COALESCE(MAX(imported_at), '') "
        "FROM records WHERE rid <= ?",
        (max_rid,),
    ).fetchone()
    return int(row[0]) == count and int(row[1]) == rid_sum and str(row[2]) <= str(latest)


def contents_after(conn: Connection, rid: int) -> Iterable[tuple[str, list[str]]]:
    """(content JSON, matchable keys) of every record with a row id above ``rid``."""
    rows = conn.execute(
        "SELECT rid, content FROM records WHERE rid > ? ORDER BY rid", (rid,)
    ).fetchall()
    for rid_value, content in rows:
        keys = [
            str(k[0])
            for k in conn.execute("SELECT key FROM match_keys WHERE rid = ?", (rid_value,))
        ]
        yield str(content), keys
