"""Retention purge of personal content in audit entries.

Officer names, justifications, case references and actors older than the
retention period are deleted together with their salts. The chain keeps only
the salted-hash commitments, which reveal nothing without the salt, so every
entry still verifies after the purge. The purge itself is an audit entry.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from node import store
from node.audit.chain import AuditEntry, append_entry, format_ts
from node.audit.errors import AuditError
from node.store import audit as repo
from node.store.backend import Connection

DEFAULT_RETENTION_DAYS = 3 * 365


@dataclass(frozen=True)
class PurgeReport:
    """What a purge removed: entries touched and personal values deleted, before ``cutoff``."""

    cutoff: str
    retention_days: int
    entries: int
    values: int
    entry: AuditEntry


def purge_personal(
    conn: Connection,
    *,
    retention_days: int = DEFAULT_RETENTION_DAYS,
    actor: str | None = None,
    now: datetime | None = None,
) -> PurgeReport:
    """Delete personal content of entries older than ``retention_days``; log the purge.

    Runs in its own transaction: the deletion and its ``audit.purged`` entry
    commit together.
    """
    if isinstance(retention_days, bool) or retention_days < 1:
        raise AuditError(
            f"retention of {retention_days!r} days refused: it must be at least 1 day; "
            "nothing was purged"
        )
    moment = now or datetime.now(UTC)
    cutoff = format_ts(moment - timedelta(days=retention_days))
    with store.transaction(conn):
        entries = repo.entries_with_personal_before(conn, cutoff)
        values = repo.delete_personal_before(conn, cutoff)
        entry = append_entry(
            conn,
            "audit.purged",
            {
                "actor": actor,
                "status": "purged" if values else "nothing to purge",
                "details": {
                    "entries_purged": int(entries),
                    "values_deleted": int(values),
                    "retention_days": retention_days,
                    "cutoff": cutoff,
                },
            },
            now=moment,
        )
    return PurgeReport(cutoff, retention_days, int(entries), int(values), entry)
