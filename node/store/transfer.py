"""Moving a home's SQLite database to PostgreSQL (``spoor store migrate --to URL``).

The source is brought to the current schema first, the target is created at
the same schema by the same migrations, and every row of every table is
copied in one write transaction on the target: an interrupted move leaves
the target empty and the source untouched. Audit entries are copied as they
are (their hashes cover their own text), so the chain verifies on the
target exactly as it did on the source.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from node.errors import SpoorError
from node.store import migrations
from node.store.backend import SQLITE, Connection

#: Tables in an order that satisfies their foreign keys; tables added later come after.
ORDER = (
    "meta",
    "peers",
    "budget_usage",
    "matches",
    "match_requests",
    "match_hits",
    "records",
    "match_keys",
    "audit_entries",
    "audit_personal",
    "audit_checkpoints",
    "disclosure_requests",
    "disclosure_decisions",
    "tickets",
    "ticket_approvals",
    "disclosures_sent",
    "disclosure_items_sent",
    "disclosures_received",
    "officers",
)
#: Tables whose rows mean the target already holds an agency's data.
DATA_TABLES = ("records", "audit_entries", "peers", "matches", "officers")
BATCH = 5_000


class TargetNotEmpty(SpoorError):
    """The target database already holds a node's data."""

    FIELDS = ("table",)

    def __init__(self, table: str) -> None:
        self.table = table
        super().__init__(
            f"the target already holds a node's data ({table} is not empty); "
            "migrate into a new, empty database"
        )


@dataclass
class Moved:
    """Rows copied per table."""

    rows: dict[str, int] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return sum(self.rows.values())


def _tables_in_order(tables: set[str]) -> list[str]:
    return [t for t in ORDER if t in tables] + sorted(tables - set(ORDER))


def copy_all(source: Connection, target: Connection, target_tables: set[str]) -> Moved:
    """Copy every row of ``source`` into ``target`` (caller holds the target's transaction)."""
    for table in DATA_TABLES:
        if table in target_tables and target.execute(f"SELECT 1 FROM {table} LIMIT 1").fetchone():  # noqa: S608
            raise TargetNotEmpty(table)
    from node.store.backend import backend_of

    moved = Moved()
    for table in _tables_in_order(SQLITE.tables(source) & target_tables):
        have = set(backend_of(target).columns(target, table))
        cols = [c for c in SQLITE.columns(source, table) if c in have]
        names = ", ".join(cols)
        marks = ", ".join("?" for _ in cols)
        if table == "meta":  # the target recorded its own schema version already
            insert = (
                f"INSERT INTO meta ({names}) VALUES ({marks}) "  # noqa: S608
                "ON CONFLICT (key) DO UPDATE SET value = excluded.value"
            )
        else:
            insert = f"INSERT INTO {table} ({names}) VALUES ({marks})"  # noqa: S608
        cur = source.execute(f"SELECT {names} FROM {table}")  # noqa: S608
        count = 0
        while batch := cur.fetchmany(BATCH):
            target.executemany(insert, [tuple(r) for r in batch])
            count += len(batch)
        moved.rows[table] = count
    return moved


def source_version(path: Path) -> int:
    conn = SQLITE.connect(path)
    try:
        return migrations.recorded_version(conn, SQLITE.tables(conn))
    finally:
        conn.close()


def move(sqlite_path: Path, url: str) -> Moved:
    """Copy the SQLite database at ``sqlite_path`` into the empty PostgreSQL database ``url``."""
    from node import store
    from node.store import postgres

    source = SQLITE.connect(sqlite_path)
    try:
        store.upgrade(source, sqlite_path)
        target = postgres.connect(url)
        try:
            store.upgrade(target, sqlite_path)
            tables = postgres.POSTGRES.tables(target)
            with store.transaction(target):
                moved = copy_all(source, target, tables)
                postgres.POSTGRES.reset_identities(target)
        finally:
            target.close()
    finally:
        source.close()
    return moved
