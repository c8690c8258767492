"""Numbered schema migrations and the runner that applies them.

The database records its schema version in ``meta`` (key ``schema_version``).
A home with no recorded version predates versioning (version 0, or a new
empty file). Opening a home applies every migration above its version in one
write transaction, after a backup copy of the file; a home of a newer version
than this code knows is refused and left untouched.

To change the schema, add ``mNNNN_<what>.py`` with ``NUMBER``, ``NAME`` and
``apply(conn)``, list it in :data:`MIGRATIONS`, and never edit a released one.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from types import ModuleType

from node.store.backend import Connection
from node.store.migrations import (
    m0001_baseline,
    m0002_match_requests,
    m0003_watchlists,
    m0004_used_request_ids,
    m0005_audit_witness,
    m0006_officer_credentials,
    m0007_console_sessions,
    m0008_held_replicas,
)

VERSION_KEY = "schema_version"


@dataclass(frozen=True)
class Migration:
    """One step of the schema's history."""

    number: int
    name: str
    apply: Callable[[Connection], None]


def _of(module: ModuleType) -> Migration:
    return Migration(int(module.NUMBER), str(module.NAME), module.apply)


MIGRATIONS: tuple[Migration, ...] = (
    _of(m0001_baseline),
    _of(m0002_match_requests),
    _of(m0003_watchlists),
    _of(m0004_used_request_ids),
    _of(m0005_audit_witness),
    _of(m0006_officer_credentials),
    _of(m0007_console_sessions),
    _of(m0008_held_replicas),
)

#: The schema version this code writes and reads.
LATEST = MIGRATIONS[-1].number


def recorded_version(conn: Connection, tables: set[str]) -> int:
    """The version recorded in the database; 0 for a home from before versions."""
    if "meta" not in tables:
        return 0
    row = conn.execute("SELECT value FROM meta WHERE key = ?", (VERSION_KEY,)).fetchone()
    return int(row[0]) if row else 0


def pending(version: int) -> list[Migration]:
    return [m for m in MIGRATIONS if m.number > version]


def record_version(conn: Connection, version: int) -> None:
    conn.execute(
        "INSERT INTO meta (key, value) VALUES (?, ?) "
        "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        (VERSION_KEY, str(version)),
    )
