"""Bringing a home from before recorded schema versions to migration 0001's shape.

Such homes were made by ``CREATE ... IF NOT EXISTS`` alone, so a table made by
an older release keeps its old columns: ``records`` had a ``digest`` column
until it was dropped, ``ticket_approvals`` had no ``role`` and
``disclosure_decisions`` no ``ticket_id``. The actual shape of each table is
read from the file and compared with the baseline's: a missing column is
added, a table with a column the baseline no longer has is rebuilt with the
common columns copied. SQLite only: homes on other backends start versioned.
"""

from __future__ import annotations

import re
import sqlite3

from node.store.backend import BACKEND, Connection, backend_of
from node.store.migrations.script import run_script


class _Expected:
    """The baseline's tables as SQLite itself understands them (built in memory)."""

    def __init__(self, script: str) -> None:
        mem = sqlite3.connect(":memory:")
        try:
            run_script(mem, script)
            self.create: dict[str, str] = {}
            self.indexes: dict[str, list[str]] = {}
            for kind, name, table, sql in mem.execute(
                "SELECT type, name, tbl_name, sql FROM sqlite_master WHERE sql IS NOT NULL"
            ):
                if kind == "table":
                    self.create[name] = sql
                elif kind == "index":
                    self.indexes.setdefault(table, []).append(sql)
            self.columns = {
                t: [(r[1], r[2], r[3], r[4]) for r in mem.execute(f"PRAGMA table_info({t})")]
                for t in self.create
            }
        finally:
            mem.close()


def reconcile(conn: Connection, script: str) -> list[str]:
    """Bring every baseline table in ``conn`` to the baseline's columns; what was changed."""
    if backend_of(conn).name != "sqlite":
        return []  # only SQLite homes predate recorded versions
    expected = _Expected(script)
    changes: list[str] = []
    for table, wanted in expected.columns.items():
        have = BACKEND.columns(conn, table)
        names = [c[0] for c in wanted]
        extra = [c for c in have if c not in names]
        missing = [c for c in wanted if c[0] not in have]
        if extra:
            _rebuild(conn, table, expected, [c for c in have if c in names])
            changes.append(f"{table}: rebuilt without {', '.join(extra)}")
            continue
        for name, decl, notnull, default in missing:
            clause = f"ALTER TABLE {table} ADD COLUMN {name} {decl}"
            if default is not None:
                clause += f" DEFAULT {default}"
                if notnull:
                    clause += " NOT NULL"
            conn.execute(clause)
            changes.append(f"{table}: added {name}")
    return changes


def _rebuild(conn: Connection, table: str, expected: _Expected, common: list[str]) -> None:
    temp = f"{table}__rebuild"
    create = re.sub(
        rf"^CREATE TABLE\s+(IF NOT EXISTS\s+)?\"?{table}\"?",
        f"CREATE TABLE {temp}",
        expected.create[table],
        count=1,
    )
    cols = ", ".join(common)
    conn.execute(create)
    conn.execute(f"INSERT INTO {temp} ({cols}) SELECT {cols} FROM {table}")  # noqa: S608
    conn.execute(f"DROP TABLE {table}")
    conn.execute(f"ALTER TABLE {temp} RENAME TO {table}")
    for index in expected.indexes.get(table, []):
        conn.execute(index)
