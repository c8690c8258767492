"""Released details leave the node only with their conditions attached, and not for long.

Every exported row carries the handling code (and what it means), the use
limits, onward-transfer and judicial-use conditions and the retention date,
so whoever opens the file sees the conditions beside the data. Details past
their retention are never exported and are purged by ``spoor disclose
purge-expired`` (the purge is audited without any content).
"""

from __future__ import annotations

import csv
import json
import os
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import policy as policy_lang
from node import audit, store
from node.disclosure.model import iso, now_utc
from node.store import Connection, disclosures
from policy.vocab import HANDLING_MEANINGS

FORMATS = ("csv", "jsonl")

#: Condition columns first, in this order, on every row.
CONDITION_COLUMNS = (
    "handling_code",
    "handling_meaning",
    "use_limited_to_purpose",
    "use_limited_to_case",
    "purpose",
    "case_reference",
    "onward_transfer",
    "judicial_use",
    "retention_days",
    "retain_until",
)
SOURCE_COLUMNS = ("counterpart", "disclosure_id", "item_id", "your_record_id", "received_at")

# Spreadsheet programs run cells starting with these as formulas.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


@dataclass(frozen=True)
class ExportResult:
    """What an export wrote."""

    path: Path
    rows: int
    skipped_expired: int


def released_rows(
    conn: Connection, now: datetime | None = None, case_reference: str | None = None
) -> tuple[list[dict[str, Any]], int]:
    """Released details still within retention, each with its conditions; and how many expired."""
    moment = iso(now or now_utc())
    rows: list[dict[str, Any]] = []
    expired = 0
    # Several matched keys of one row may reach the same counterpart record; the same
    # details under the same conditions are written once.
    seen: set[tuple[str, ...]] = set()
    for r in disclosures.received(conn):
        if str(r["retain_until"]) < moment:
            expired += 1
            continue
        if case_reference is not None and r["case_reference"] != case_reference:
            continue
        code = str(r["handling_code"])
        row: dict[str, Any] = {
            "counterpart": r["peer"],
            "disclosure_id": r["disclosure_id"],
            "item_id": r["item_id"],
            "your_record_id": r["record_id"],
            "received_at": r["received_at"],
            "handling_code": code,
            "handling_meaning": HANDLING_MEANINGS.get(code, ""),
            "use_limited_to_purpose": bool(r["use_limited_to_purpose"]),
            "use_limited_to_case": bool(r["use_limited_to_case"]),
            "purpose": r["purpose"],
            "case_reference": r["case_reference"],
            "onward_transfer": r["onward_transfer"],
            "judicial_use": r["judicial_use"],
            "retention_days": int(r["retention_days"]),
            "retain_until": r["retain_until"],
            "fields": json.loads(r["fields"]),
            "transforms": json.loads(r["transforms"]),
        }
        identity = (
            str(r["peer"]),
            str(r["disclosure_id"]),
            str(r["record_id"]),
            str(r["fields"]),
            str(r["handling_code"]),
            str(r["retain_until"]),
            str(r["onward_transfer"]),
            str(r["judicial_use"]),
        )
        if identity in seen:
            continue
        seen.add(identity)
        rows.append(row)
    return rows, expired


def _cell(value: object) -> str:
    if value is None:
        return ""
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    if isinstance(value, bool):
        text = "yes" if value else "no"
    return "'" + text if text.startswith(_FORMULA_START) else text


def _open_private(path: Path) -> Any:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.chmod(path, 0o600)
    return os.fdopen(fd, "w", encoding="utf-8", newline="")


def write_export(
    conn: Connection,
    fmt: str,
    out: Path,
    now: datetime | None = None,
    case_reference: str | None = None,
) -> ExportResult:
    """Write released details with their conditions on every row (file mode 0600)."""
    if fmt not in FORMATS:
        raise ValueError(f"format must be one of {', '.join(FORMATS)}")
    rows, expired = released_rows(conn, now, case_reference)
    field_names = [f for f in policy_lang.FIELD_GROUPS if any(f in row["fields"] for row in rows)]
    with _open_private(out) as handle:
        if fmt == "jsonl":
            for row in rows:
                handle.write(json.dumps(row, ensure_ascii=False, sort_keys=False) + "\n")
        else:
            writer = csv.writer(handle)
            header = [*SOURCE_COLUMNS, *CONDITION_COLUMNS, *field_names]
            writer.writerow(header)
            for row in rows:
                cells = [_cell(row[c]) for c in (*SOURCE_COLUMNS, *CONDITION_COLUMNS)]
                cells += [_cell(row["fields"].get(f)) for f in field_names]
                writer.writerow(cells)
    return ExportResult(out, len(rows), expired)


def purge_expired(conn: Connection, now: datetime | None = None) -> int:
    """Delete released details past their retention date; audited by count only."""
    moment = iso(now or now_utc())
    with store.transaction(conn):
        purged = disclosures.purge_received(conn, moment)
        if purged:
            audit.append(
                conn,
                "records.purged",
                actor="node",
                status="OK",
                details={"disclosures_received": purged, "reason": "retention"},
            )
    return int(purged)
