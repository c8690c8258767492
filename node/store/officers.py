"""Officers repository: the roster of officers and the roles they hold."""

from __future__ import annotations

import json
from typing import Any

from node.store.backend import Connection


def _row(row: Any) -> dict[str, Any]:
    out = dict(row)
    out["roles"] = tuple(str(r) for r in json.loads(out["roles"]))
    out["active"] = bool(out["active"])
    return out


def upsert(conn: Connection, name: str, roles: tuple[str, ...], now: str) -> None:
    """Register ``name`` (active) with ``roles``, replacing any earlier roles."""
    conn.execute(
        "INSERT INTO officers (name, roles, active, added_at, changed_at) VALUES (?,?,1,?,?) "
        "ON CONFLICT (name) DO UPDATE SET roles = excluded.roles, active = 1, "
        "changed_at = excluded.changed_at",
        (name, json.dumps(list(roles)), now, now),
    )


def deactivate(conn: Connection, name: str, now: str) -> bool:
    """Mark an active officer inactive; False when there was no active officer so named."""
    cur = conn.execute(
        "UPDATE officers SET active = 0, changed_at = ? WHERE name = ? AND active = 1",
        (now, name),
    )
    return int(cur.rowcount) > 0


def get(conn: Connection, name: str) -> dict[str, Any] | None:
    """``name``, ``roles`` (tuple), ``active`` (bool), ``added_at``; None when unknown."""
    row = conn.execute(
        "SELECT name, roles, active, added_at FROM officers WHERE name = ?", (name,)
    ).fetchone()
    return _row(row) if row else None


def all_officers(conn: Connection) -> list[dict[str, Any]]:
    rows = conn.execute("SELECT name, roles, active, added_at FROM officers ORDER BY name")
    return [_row(r) for r in rows]
