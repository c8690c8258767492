"""The node's roster of officers who may decide disclosure tickets, and their roles.

A release policy says which roles must approve (``approval: roles: [...]``).
The roster gives those words meaning: only a registered, active officer
holding one of a ticket's roles may approve, refuse or reopen it, and the
audit trail records who acted. Officers are never deleted, only deactivated,
so past decisions keep naming someone the roster knows.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from node import audit
from node.errors import SpoorError
from node.store import officers as repo
from node.store.backend import Connection
from node.store.timecodec import now_ts
from policy.vocab import APPROVAL_ROLES

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


def add(conn: Connection, name: str, roles: Sequence[str], actor: str) -> Officer:
    """Register an officer or replace their roles (caller holds the transaction)."""
    name = _check_name(name)
    checked = _check_roles(roles)
    repo.upsert(conn, name, checked, now_ts())
    audit.append(
        conn,
        "config.changed",
        actor=actor,
        officer=name,
        status="OK",
        details={"change": "officer registered", "roles": list(checked)},
    )
    return get(conn, name)


def deactivate(conn: Connection, name: str, actor: str) -> None:
    """Withdraw an officer's authority (caller holds the transaction)."""
    name = _check_name(name)
    if not repo.deactivate(conn, name, now_ts()):
        raise RosterError(f"no active officer named {name!r} — see 'spoor officers list'")
    audit.append(
        conn,
        "config.changed",
        actor=actor,
        officer=name,
        status="OK",
        details={"change": "officer deactivated"},
    )


def get(conn: Connection, name: str) -> Officer:
    row = repo.get(conn, name.strip())
    if row is None:
        raise RosterError(f"no officer named {name!r} — see 'spoor officers list'")
    return Officer(**row)


def list_officers(conn: Connection) -> list[Officer]:
    return [Officer(**r) for r in repo.all_officers(conn)]


def authorize(
    conn: Connection,
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
    row = repo.get(conn, name)
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
    held: tuple[str, ...] = row["roles"]
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
