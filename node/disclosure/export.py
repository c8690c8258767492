"""Released details leave the node only with their conditions attached, and not for long.

Every exported row carries the handling code (and what it means), the use
limits, onward-transfer and judicial-use conditions and the retention date,
so whoever opens the file sees the conditions beside the data. Details past
their retention are never exported and are purged by ``spoor disclose
purge-expired`` (the purge is audited without any content).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import policy as policy_lang
from node import audit, store
from node.disclosure.model import iso, now_utc
from node.records import export as tables
from node.store import Connection, disclosures
from policy.vocab import HANDLING_MEANINGS

#: csv: UTF-8 with BOM, one value per cell; i2: an entities and a links CSV.
FORMATS = ("csv", "xlsx", "jsonl", "i2")

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


@dataclass(frozen=True)
class ExportResult:
    """What an export wrote (``paths``: two files for i2, else ``path`` alone)."""

    path: Path
    rows: int
    skipped_expired: int
    paths: tuple[Path, ...] = ()


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


def _conditions(row: dict[str, Any]) -> dict[str, str]:
    return {c: tables.item_text(row[c]) for c in (*SOURCE_COLUMNS, *CONDITION_COLUMNS)}


def _stricter(a: dict[str, str], b: dict[str, str]) -> dict[str, str]:
    """Conditions of a link between two released items: both items' conditions at once."""
    out: dict[str, str] = {}
    for column in (*SOURCE_COLUMNS, *CONDITION_COLUMNS):
        x, y = a.get(column, ""), b.get(column, "")
        if x == y:
            out[column] = x
        elif column == "retain_until":
            out[column] = min(x, y)
        elif column == "retention_days":
            out[column] = str(min(int(x or 0), int(y or 0)))
        elif column.startswith("use_limited"):
            out[column] = "yes" if "yes" in (x, y) else "no"
        else:
            out[column] = f"{x} | {y}"
    return out


def write_export(
    conn: Connection,
    fmt: str,
    out: Path,
    now: datetime | None = None,
    case_reference: str | None = None,
) -> ExportResult:
    """Write released details with their conditions on every row (files mode 0600)."""
    if fmt not in FORMATS:
        raise ValueError(f"format must be one of {', '.join(FORMATS)}")
    rows, expired = released_rows(conn, now, case_reference)
    if fmt == "jsonl":
        with tables.open_private(out) as handle:
            for row in rows:
                handle.write(json.dumps(row, ensure_ascii=False, sort_keys=False) + "\n")
        return ExportResult(out, len(rows), expired, (out,))
    if fmt == "i2":
        items = [
            tables.Item(
                f"released:{row['counterpart']}:{row['item_id']}",
                str(row["fields"].get("kind") or "record"),
                tables.record_label(row["fields"]) or str(row["item_id"]),
                str(row["case_reference"] or ""),
                row["fields"],
                _conditions(row),
            )
            for row in rows
        ]
        extra = (*SOURCE_COLUMNS, *CONDITION_COLUMNS)
        e_head, e_rows, l_head, l_rows = tables.i2_tables(items, extra, _stricter)
        entities, links = tables.i2_paths(out)
        tables.write_csv(entities, e_head, e_rows)
        tables.write_csv(links, l_head, l_rows)
        return ExportResult(entities, len(rows), expired, (entities, links))
    field_names = [f for f in policy_lang.FIELD_GROUPS if any(f in row["fields"] for row in rows)]
    flat = [{**_conditions(row), **row["fields"]} for row in rows]
    fixed = (*SOURCE_COLUMNS, *CONDITION_COLUMNS)
    header, cells = tables.spread(flat, [*fixed, *field_names], keep=fixed)
    if fmt == "xlsx":
        tables.write_xlsx(out, [("released", header, cells)])
    else:
        tables.write_csv(out, header, cells)
    return ExportResult(out, len(rows), expired, (out,))


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
