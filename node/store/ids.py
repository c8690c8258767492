"""Ids by prefix: which stored ids of one kind are, or start with, what someone typed."""

from __future__ import annotations

from node.store.backend import Connection

#: Each kind of id people type and where it is kept: (table, column).
ID_COLUMNS: dict[str, tuple[str, str]] = {
    "record": ("records", "record_id"),
    "match": ("matches", "match_id"),
    "disclosure": ("disclosures_sent", "disclosure_id"),
    "ticket": ("tickets", "ticket_id"),
    "watchlist": ("watchlists", "watch_id"),
}


def _like(prefix: str) -> str:
    return prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def exact_or_prefixed(conn: Connection, kind: str, given: str, limit: int) -> list[str]:
    """``[given]`` when it is a stored id; else up to ``limit`` ids starting with it, sorted."""
    table, column = ID_COLUMNS[kind]
    exact = conn.execute(
        f"SELECT {column} FROM {table} WHERE {column} = ?",  # noqa: S608 (names from ID_COLUMNS)
        (given,),
    ).fetchone()
    if exact is not None:
        return [str(exact[0])]
    if not given:
        return []
    rows = conn.execute(
        f"SELECT DISTINCT {column} FROM {table} "  # noqa: S608 (names from ID_COLUMNS)
        f"WHERE {column} LIKE ? ESCAPE '\\' ORDER BY {column} LIMIT ?",
        (_like(given), limit),
    )
    return [str(r[0]) for r in rows]
