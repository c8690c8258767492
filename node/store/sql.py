"""Small portable SQL helpers shared by the repositories."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from node.store.backend import PARAM, Connection


def insert(
    conn: Connection, table: str, values: Mapping[str, object], columns: Sequence[str]
) -> None:
    """Insert one row of ``values`` into ``table``; only names in ``columns`` are accepted."""
    unknown = set(values) - set(columns)
    if unknown:
        raise KeyError(f"{table} has no column(s) {', '.join(sorted(unknown))}")
    names = [c for c in columns if c in values]
    marks = ", ".join(PARAM for _ in names)
    conn.execute(
        f"INSERT INTO {table} ({', '.join(names)}) VALUES ({marks})",  # noqa: S608
        [values[c] for c in names],
    )


def marks(count: int) -> str:
    """``?, ?, ...`` for an ``IN (...)`` list of ``count`` values."""
    return ", ".join(PARAM for _ in range(count))
