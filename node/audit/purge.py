"""Retention purge of personal content in audit entries.

Officer names, justifications, case references and actors older than the
retention period are deleted together with their salts. The chain keeps only
the salted-hash commitments, which reveal nothing without the salt, so every
entry still verifies after the purge. The purge itself is an audit entry.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from node.audit.chain import AuditEntry, append_entry, format_ts
from node.audit.errors import AuditError

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
    conn: sqlite3.Connection,
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
    conn.execute("BEGIN IMMEDIATE")
    try:
        entries = conn.execute(
            "SELECT COUNT(DISTINCT p.seq) FROM audit_personal p"
            " JOIN audit_entries e ON e.seq = p.seq WHERE e.ts < ?",
            (cutoff,),
        ).fetchone()[0]
        values = conn.execute(
            "DELETE FROM audit_personal WHERE seq IN (SELECT seq FROM audit_entries WHERE ts < ?)",
            (cutoff,),
        ).rowcount
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
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")
    return PurgeReport(cutoff, retention_days, int(entries), int(values), entry)
