"""Export of audit entries as JSON Lines, with what an auditor needs to verify them.

Line 1 describes the export (node, public key, filter, how hashes are built);
then one line per entry carrying the exact hashed ``body``, ``prev_hash`` and
``entry_hash`` plus the clear personal content and salts not yet purged; the
last line is a fresh checkpoint signed by the node over the whole chain. The
file holds personal content, so it is written with mode 0600.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from node import store
from node.app.home import NodeHome, write_private
from node.audit.chain import (
    GENESIS_HASH,
    append_entry,
    format_ts,
    row_body,
)
from node.audit.checkpoint import CHECKPOINT_TYPE, Checkpoint, write_checkpoint
from node.audit.errors import AuditError
from node.audit.export_verify import EXPORT_TYPE
from node.store import audit as repo
from node.store.backend import Connection

EXPORT_VERSION = 1
HASH_RULE = (
    "entry_hash = sha256(bytes.fromhex(prev_hash) + sha256(canonical_json(body))) "
    "when body.v == 2; sha256(bytes.fromhex(prev_hash) + canonical_json(body)) when body.v == 1"
)
COMMITMENT_RULE = (
    "commitment = sha256(b'spoor-audit-personal-v1\\x00' + field + b'\\x00' "
    "+ bytes.fromhex(salt) + value)"
)
CANONICAL_RULE = "canonical_json: UTF-8 JSON, keys sorted, separators (',', ':'), no ASCII escaping"


@dataclass(frozen=True)
class ExportSummary:
    """Where the export went, how many entries it holds and the checkpoint that closes it."""

    path: Path
    entries: int
    checkpoint: Checkpoint


def export_lines(
    conn: Connection,
    home: NodeHome,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    counterpart: str | None = None,
    actor: str | None = None,
    now: datetime | None = None,
) -> tuple[list[str], int, Checkpoint]:
    """The export as JSON lines (``until`` is exclusive), the entry count and its checkpoint.

    The export is itself recorded (``audit.exported``) and a checkpoint signed
    over the chain including that entry, all in one transaction.
    """
    moment = now or datetime.now(UTC)
    window = (
        format_ts(since) if since else None,
        format_ts(until) if until else None,
        counterpart,
    )
    with store.transaction(conn):
        before = sum(1 for _ in repo.entries(conn, *window))
        append_entry(
            conn,
            "audit.exported",
            {
                "actor": actor,
                "counterpart": counterpart,
                "details": {
                    "entries": before,
                    "since": format_ts(since) if since else None,
                    "until": format_ts(until) if until else None,
                },
            },
            now=moment,
        )
        checkpoint = write_checkpoint(conn, home, now=moment)
        # Selected after the export's own entry, so an unfiltered export runs from
        # the first entry to exactly the head the closing checkpoint signs.
        rows = list(repo.entries(conn, *window))
        personal_rows = repo.personal(conn)
    header = {
        "type": EXPORT_TYPE,
        "v": EXPORT_VERSION,
        "exported_at": format_ts(moment),
        "agency_id": checkpoint.agency_id,
        "algorithm": "Ed25519",
        "public_key": checkpoint.public_key,
        "filter": {
            "since": format_ts(since) if since else None,
            "until": format_ts(until) if until else None,
            "counterpart": counterpart,
        },
        "genesis_hash": GENESIS_HASH,
        "hash_rule": HASH_RULE,
        "commitment_rule": COMMITMENT_RULE,
        "canonical_json": CANONICAL_RULE,
    }
    lines = [json.dumps(header, sort_keys=True, ensure_ascii=False)]
    personal: dict[int, dict[str, dict[str, str]]] = {}
    for seq, name, value, salt in personal_rows:
        personal.setdefault(int(seq), {})[str(name)] = {"value": str(value), "salt": str(salt)}
    for row in rows:
        seq = int(row["seq"])
        commitments = json.loads(row["commitments"])
        body = row_body(row)
        held = personal.get(seq, {})
        line: dict[str, Any] = {
            "type": "entry",
            "seq": seq,
            "body": body,
            "prev_hash": row["prev_hash"],
            "entry_hash": row["entry_hash"],
            "personal": held,
            "purged": sorted(set(commitments) - set(held)),
        }
        lines.append(json.dumps(line, sort_keys=True, ensure_ascii=False))
    lines.append(
        json.dumps(
            {"type": CHECKPOINT_TYPE, "v": 1, "algorithm": "Ed25519", **asdict(checkpoint)},
            sort_keys=True,
        )
    )
    return lines, len(rows), checkpoint


def export_jsonl(
    conn: Connection,
    home: NodeHome,
    out: Path,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    counterpart: str | None = None,
    actor: str | None = None,
    now: datetime | None = None,
) -> ExportSummary:
    """Write the export to ``out`` (mode 0600) and return a summary."""
    lines, count, checkpoint = export_lines(
        conn, home, since=since, until=until, counterpart=counterpart, actor=actor, now=now
    )
    try:
        write_private(out, ("\n".join(lines) + "\n").encode("utf-8"))
    except OSError as exc:
        raise AuditError(f"{out}: cannot write the audit export: {exc}") from exc
    return ExportSummary(out, count, checkpoint)
