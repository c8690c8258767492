"""The node's roster of officers who may decide disclosure tickets, and their roles.

A release policy says which roles must approve (``approval: roles: [...]``).
The roster gives those words meaning: only a registered, active officer
holding one of a ticket's roles may approve, refuse or reopen it, and the
audit trail records who acted. Officers are never deleted, only deactivated,
so past decisions keep naming someone the roster knows.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from node import audit
from node.errors import SpoorError
from policy.vocab import APPROVAL_ROLES

SCHEMA = """
CREATE TABLE IF NOT EXISTS officers (
    name       TEXT PRIMARY KEY,
    roles      TEXT NOT NULL,
    active     INTEGER NOT NULL DEFAULT 1,
    added_at   TEXT NOT NULL,
    changed_at TEXT NOT NULL
);
"""

MAX_NAME = 120


class OfficerNotAuthorized(SpoorError):
    """The named officer may not decide this ticket."""

    FIELDS = ("name", "reason", "hint")

    def __init__(self, name: str, reason: str, hint: str) -> None:
        self.name = name
        self.reason = reason
        self.hint = hint
        super().__init__(f"{name!r} {reason}; nothing was changed. {hint}")


class RosterError(SpoorError):
    """A roster change was refused (bad name or role, unknown officer)."""

    FIELDS = ("reason",)

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(reason)


@dataclass(frozen=True)
class Officer:
    """One registered officer."""

    name: str
    roles: tuple[str, ...]
    active: bool
    added_at: str


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _check_name(name: str) -> str:
    name = name.strip()
    if not name:
        raise RosterError("an officer needs a name")
    if len(name) > MAX_NAME:
        raise RosterError(f"officer names are at most {MAX_NAME} characters")
    return name


def _check_roles(roles: Sequence[str]) -> tuple[str, ...]:
    if not roles:
        raise RosterError("give at least one --role (" + ", ".join(APPROVAL_ROLES) + ")")
    unknown = [r for r in roles if r not in APPROVAL_ROLES]
    if unknown:
        raise RosterError(
            f"unknown role(s): {', '.join(unknown)}; roles are: {', '.join(APPROVAL_ROLES)}"
        )
    return tuple(dict.fromkeys(roles))


def add(conn: sqlite3.Connection, name: str, roles: Sequence[str], actor: str) -> Officer:
    """Register an officer or replace their roles (caller holds the transaction)."""
    name = _check_name(name)
    checked = _check_roles(roles)
    now = _now()
    conn.execute(
        "INSERT INTO officers(name, roles, active, added_at, changed_at) VALUES (?,?,1,?,?) "
        "ON CONFLICT(name) DO UPDATE SET roles=excluded.roles, active=1, "
        "changed_at=excluded.changed_at",
        (name, json.dumps(list(checked)), now, now),
    )
    audit.append(
        conn,
        "config.changed",
        actor=actor,
        officer=name,
        status="OK",
        details={"change": "officer registered", "roles": list(checked)},
    )
    return get(conn, name)


def deactivate(conn: sqlite3.Connection, name: str, actor: str) -> None:
    """Withdraw an officer's authority (caller holds the transaction)."""
    name = _check_name(name)
    cur = conn.execute(
        "UPDATE officers SET active=0, changed_at=? WHERE name=? AND active=1", (_now(), name)
    )
    if cur.rowcount == 0:
        raise RosterError(f"no active officer named {name!r} — see 'spoor officers list'")
    audit.append(
        conn,
        "config.changed",
        actor=actor,
        officer=name,
        status="OK",
        details={"change": "officer deactivated"},
    )


def get(conn: sqlite3.Connection, name: str) -> Officer:
    row = conn.execute("SELECT * FROM officers WHERE name=?", (name.strip(),)).fetchone()
    if row is None:
        raise RosterError(f"no officer named {name!r} — see 'spoor officers list'")
    return _officer(row)


def list_officers(conn: sqlite3.Connection) -> list[Officer]:
    rows = conn.execute("SELECT * FROM officers ORDER BY name").fetchall()
    return [_officer(r) for r in rows]


def _officer(row: sqlite3.Row) -> Officer:
    roles = tuple(str(r) for r in json.loads(row["roles"]))
    return Officer(str(row["name"]), roles, bool(row["active"]), str(row["added_at"]))


def authorize(
    conn: sqlite3.Connection,
    name: str,
    allowed_roles: Sequence[str],
    *,
    still_needed: Sequence[str] = (),
) -> str:
    """The role in which ``name`` may decide a ticket needing ``allowed_roles``.

    Raises :class:`OfficerNotAuthorized` when the officer is unknown, inactive,
    or holds none of the roles. When ``still_needed`` lists roles no approver
    has covered yet, the officer must hold one of them: a ticket that needs a
    legal officer *and* a head of unit is not released by two legal officers.
    A ticket whose policy named no role may be decided by any active officer.
    """
    row = conn.execute("SELECT roles, active FROM officers WHERE name=?", (name,)).fetchone()
    if row is None:
        raise OfficerNotAuthorized(
            name,
            "is not on this node's roster of officers",
            "Register officers with 'spoor officers add NAME --role ROLE'.",
        )
    if not row["active"]:
        raise OfficerNotAuthorized(
            name, "has been deactivated", "Ask an administrator to reinstate them if right."
        )
    held = tuple(str(r) for r in json.loads(row["roles"]))
    if not allowed_roles:
        return held[0]
    for role in still_needed:
        if role in held:
            return role
    if still_needed and any(role in held for role in allowed_roles):
        raise OfficerNotAuthorized(
            name,
            f"acts as {', '.join(r for r in held if r in allowed_roles)}, a role another "
            f"officer already covered; this ticket still needs: {', '.join(still_needed)}",
            "Ask an officer holding that role to approve it.",
        )
    for role in allowed_roles:
        if role in held:
            return role
    raise OfficerNotAuthorized(
        name,
        f"holds {', '.join(held)}, but this ticket needs one of: {', '.join(allowed_roles)}",
        "Ask an officer with one of those roles to decide it.",
    )
