"""Writing records for analysts: CSV that spreadsheets open, XLSX, and i2 entity/link tables.

One value per cell: a field holding several values (names, phones, documents …)
is spread over numbered columns ``names_1``, ``names_2`` … as many as the
record with the most values needs, so a sheet sorts and filters per value and
``spoor records import`` reads the same file back. A document is written
``type:COUNTRY:number`` and a species ``Scientific name:population``, the
forms an import reads. CSV starts with a UTF-8 byte-order mark (spreadsheet
programs then read Thai, Vietnamese or Arabic names correctly); a cell that a
spreadsheet would run as a formula gets a leading apostrophe, which an import
removes again. XLSX cells are always text.

The i2 pair (``-entities.csv`` and ``-links.csv``) is the shape Analyst's
Notebook and similar link-analysis tools import: records and their identifiers
as entities; links from a record to each identifier it holds, and between two
records that share an identifier or a case reference.
"""

from __future__ import annotations

import csv
import os
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import combinations
from pathlib import Path
from typing import Any

from node.records.model import COMMON_FIELDS, KIND_FIELDS, RECORD_KINDS
from node.records.profiles import LIST_FIELDS

FORMATS = ("csv", "xlsx", "i2")
#: Spreadsheet programs run cells starting with these as formulas.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
#: Record columns in the order an export writes them.
RECORD_COLUMNS = tuple(
    dict.fromkeys([*COMMON_FIELDS, *(f for k in RECORD_KINDS for f in KIND_FIELDS[k])])
)
#: A case shared by more records than this is linked as a star, not every pair.
PAIRWISE_LIMIT = 50
ENTITY_COLUMNS = ("entity_id", "entity_type", "label", "case_reference", "identifier_type")
LINK_COLUMNS = ("from_id", "to_id", "link_type", "via")
#: Identifier fields of a record and the identifier type each gives.
IDENTIFIER_FIELDS = {
    "phones": "phone",
    "emails": "email",
    "registration_numbers": "registration_number",
    "containers": "container",
    "bills_of_lading": "bill_of_lading",
    "air_waybills": "air_waybill",
    "cites_permits": "cites_permit",
    "vessel_imo": "imo",
}
_SQUEEZE = re.compile(r"[\s\-./]+")


def item_text(value: object) -> str:  # noqa: PLR0911 (one return per kind of value)
    """One value as the text of one cell (documents and species in their import forms)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, Mapping):
        if "number" in value and "type" in value:
            return f"{value['type']}:{value.get('issuing_country') or ''}:{value['number']}"
        if "scientific_name" in value:
            pop = value.get("population")
            return f"{value['scientific_name']}:{pop}" if pop else str(value["scientific_name"])
        return "; ".join(f"{k}={item_text(v)}" for k, v in value.items())
    if isinstance(value, list | tuple):
        return "; ".join(item_text(v) for v in value)
    return str(value)


def safe_cell(text: str) -> str:
    """A CSV cell a spreadsheet shows as text, never runs."""
    return "'" + text if text.startswith(FORMULA_START) else text


def spread(
    rows: Sequence[Mapping[str, Any]],
    columns: Sequence[str],
    lists: Iterable[str] = LIST_FIELDS,
    keep: Iterable[str] = (),
) -> tuple[list[str], list[list[str]]]:
    """Header and cells with every list column spread over numbered columns (one value a cell).

    Columns no row uses are left out, except those in ``keep``.
    """
    many = set(lists)
    width: dict[str, int] = dict.fromkeys(keep, 1)
    for row in rows:
        for c in columns:
            value = row.get(c)
            if value in (None, "", [], ()):
                continue
            n = len(value) if c in many and isinstance(value, list | tuple) else 1
            width[c] = max(width.get(c, 0), n)
    header: list[str] = []
    plan: list[tuple[str, int | None]] = []
    for c in columns:
        if c not in width:
            continue
        if c in many:
            for n in range(width[c]):
                header.append(f"{c}_{n + 1}")
                plan.append((c, n))
        else:
            header.append(c)
            plan.append((c, None))
    cells: list[list[str]] = []
    for row in rows:
        line = []
        for c, i in plan:
            value = row.get(c)
            if i is not None:
                items = list(value) if isinstance(value, list | tuple) else [value]
                value = items[i] if i < len(items) else None
            line.append(item_text(value))
        cells.append(line)
    return header, cells


def open_private(path: Path, encoding: str = "utf-8") -> Any:
    """A new file only its owner can read (exports hold record contents)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.chmod(path, 0o600)
    return os.fdopen(fd, "w", encoding=encoding, newline="")


def write_csv(path: Path, header: Sequence[str], rows: Iterable[Sequence[str]]) -> None:
    """CSV with a UTF-8 byte-order mark, formula-like cells neutralised, mode 0600."""
    with open_private(path, encoding="utf-8-sig") as fh:
        writer = csv.writer(fh)
        writer.writerow(header)
        for row in rows:
            writer.writerow([safe_cell(c) for c in row])


def write_xlsx(
    path: Path, sheets: Sequence[tuple[str, Sequence[str], Iterable[Sequence[str]]]]
) -> None:
    """An XLSX workbook of (title, header, rows) sheets; every cell is text, mode 0600."""
    import openpyxl
    from openpyxl.cell import WriteOnlyCell

    book = openpyxl.Workbook(write_only=True)
    for title, header, rows in sheets:
        sheet = book.create_sheet(title[:31])
        sheet.append(list(header))
        for row in rows:
            line = []
            for text in row:
                cell = WriteOnlyCell(sheet, value=text)
                cell.data_type = "s"  # never a formula, whatever the text starts with
                line.append(cell)
            sheet.append(line)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.chmod(path, 0o600)
    with os.fdopen(fd, "wb") as fh:
        book.save(fh)


def _norm(kind: str, value: str) -> str:
    text = value.strip()
    if kind == "phone":
        return ("+" if text.startswith(("+", "00")) else "") + "".join(
            ch for ch in text.removeprefix("00") if ch.isdigit()
        )
    if kind == "email":
        return text.lower()
    return _SQUEEZE.sub("", text).upper()


def identifiers(data: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(identifier type, value) pairs a record's fields hold, lightly normalised for linking."""
    out: list[tuple[str, str]] = []
    for doc in data.get("documents") or ():
        if isinstance(doc, Mapping) and doc.get("number"):
            country = str(doc.get("issuing_country") or "")
            out.append(
                (str(doc.get("type") or "document"), f"{country}:{_norm('', doc['number'])}")
            )
        elif isinstance(doc, str) and doc:
            out.append(("document", _norm("", doc)))
    for column, kind in IDENTIFIER_FIELDS.items():
        value = data.get(column)
        values = value if isinstance(value, list | tuple) else [value]
        for v in values:
            if isinstance(v, str) and v.strip():
                out.append((kind, _norm(kind, v)))
    return list(dict.fromkeys(out))


@dataclass
class Item:
    """One record for the i2 tables, with the columns every row about it carries."""

    entity_id: str
    kind: str
    label: str
    case_reference: str
    data: Mapping[str, Any]
    extra: dict[str, str] = field(default_factory=dict)


Merge = Any  # a function (extra of one item, extra of another) -> extra of a link between them


def i2_tables(
    items: Sequence[Item], extra_columns: Sequence[str], merge: Merge | None = None
) -> tuple[list[str], list[list[str]], list[str], list[list[str]]]:
    """Entity and link tables: records, identifiers, holds / shares_identifier / same_case."""
    entities: list[list[str]] = []
    links: list[list[str]] = []
    seen_entities: set[tuple[str, ...]] = set()
    holders: dict[str, list[int]] = {}
    cases: dict[str, list[int]] = {}

    def extra(values: Mapping[str, str]) -> list[str]:
        return [values.get(c, "") for c in extra_columns]

    def entity(line: list[str]) -> None:
        if tuple(line) not in seen_entities:
            seen_entities.add(tuple(line))
            entities.append(line)

    for n, item in enumerate(items):
        entity([item.entity_id, item.kind, item.label, item.case_reference, "", *extra(item.extra)])
        for id_type, value in identifiers(item.data):
            ident = f"id:{id_type}:{value}"
            entity([ident, "identifier", value, "", id_type, *extra(item.extra)])
            links.append([item.entity_id, ident, "holds", id_type, *extra(item.extra)])
            holders.setdefault(ident, []).append(n)
        if item.case_reference:
            cases.setdefault(item.case_reference, []).append(n)

    def link(a: int, b: int, link_type: str, via: str) -> None:
        x, y = items[a], items[b]
        if x.entity_id == y.entity_id:
            return
        joined = merge(x.extra, y.extra) if merge is not None else x.extra
        links.append([x.entity_id, y.entity_id, link_type, via, *extra(joined)])

    for ident, group in holders.items():
        for a, b in _pairs(group):
            link(a, b, "shares_identifier", ident.removeprefix("id:"))
    for case, group in cases.items():
        for a, b in _pairs(group):
            link(a, b, "same_case", case)
    return (
        [*ENTITY_COLUMNS, *extra_columns],
        entities,
        [*LINK_COLUMNS, *extra_columns],
        links,
    )


def _pairs(group: list[int]) -> Iterator[tuple[int, int]]:
    members = list(dict.fromkeys(group))
    if len(members) <= PAIRWISE_LIMIT:
        yield from combinations(members, 2)
    else:
        yield from ((members[0], m) for m in members[1:])


def i2_paths(out: Path) -> tuple[Path, Path]:
    """``case.csv`` -> ``case-entities.csv`` and ``case-links.csv`` beside it."""
    stem = out.name.removesuffix(".csv")
    return out.with_name(f"{stem}-entities.csv"), out.with_name(f"{stem}-links.csv")


def record_label(data: Mapping[str, Any]) -> str:
    """What an analyst calls the record: its first name, organisation or container."""
    for column in ("names", "org_name", "containers", "air_waybills", "bills_of_lading"):
        value = data.get(column)
        if isinstance(value, list | tuple) and value:
            return item_text(value[0])
        if isinstance(value, str) and value:
            return value
    return str(data.get("record_id") or "")


@dataclass(frozen=True)
class RecordExport:
    """What ``spoor records export`` wrote."""

    paths: tuple[Path, ...]
    records: int


def export_records(records: Iterable[Mapping[str, Any]], fmt: str, out: Path) -> RecordExport:
    """Write records (their JSON form) as CSV, XLSX or the i2 pair; files are mode 0600."""
    if fmt not in FORMATS:
        raise ValueError(f"format must be one of {', '.join(FORMATS)}")
    rows = list(records)
    if fmt == "i2":
        items = [
            Item(
                f"record:{r['record_id']}",
                str(r.get("kind", "")),
                record_label(r),
                str(r.get("case_reference") or ""),
                r,
            )
            for r in rows
        ]
        e_head, e_rows, l_head, l_rows = i2_tables(items, ())
        ent, lnk = i2_paths(out)
        write_csv(ent, e_head, e_rows)
        write_csv(lnk, l_head, l_rows)
        return RecordExport((ent, lnk), len(rows))
    header, cells = spread(rows, RECORD_COLUMNS)
    if fmt == "xlsx":
        write_xlsx(out, [("records", header, cells)])
    else:
        write_csv(out, header, cells)
    return RecordExport((out,), len(rows))
