"""Import profiles: how one agency's spreadsheets become records, saved once and reused.

A profile is a YAML file in the node home (``profiles/NAME.yaml``) with three
parts, each optional::

    columns:            # file header -> record field
      รหัส: record_id
      ประเภท: kind
    values:             # record field -> {value as written -> value Spoor knows}
      kind: {บุคคล: person, นิติบุคคล: organisation, การขนส่ง: shipment}
      subject_category: {ผู้ต้องสงสัย: suspect}
    combine:            # two columns that together make one identifier
      - into: documents
        type: passport
        number: เลขหนังสือเดินทาง
        country: ประเทศที่ออก
      - into: phones
        number: โทรศัพท์
        country: ประเทศ

A combined passport becomes ``passport:THA:AA1234567``; a combined phone is
read in the country given beside it and stored in international form. Both
are added to any values the record already has in that field.

Besides profiles, every file may spread a list field over numbered columns
(``names_1``, ``names_2`` …), the form ``spoor records export`` writes.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from node.errors import SpoorError
from node.records.model import ALL_COLUMNS, DOCUMENT_TYPES, RECORD_KINDS, SUBJECT_CATEGORIES

#: Fields that hold several values (``;``-separated in one cell, or numbered columns).
LIST_FIELDS = (
    "handling_restrictions",
    "offence_classes",
    "names",
    "aliases",
    "nationality",
    "documents",
    "phones",
    "emails",
    "addresses",
    "registration_numbers",
    "containers",
    "bills_of_lading",
    "air_waybills",
    "cites_permits",
    "route",
    "species",
)
COMBINE_INTO = ("documents", "phones")
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
_NUMBERED = re.compile(r"^([a-z_]+?)_(\d{1,3})$")
#: Field names the reader gives to parts of combined columns and to numbered columns.
PART_MARK = "~"
#: The name of a column that is read as nothing (an unknown one, already reported).
IGNORED = "~?"
_CLOSED_VALUES: Mapping[str, tuple[str, ...]] = {
    "kind": RECORD_KINDS,
    "subject_category": SUBJECT_CATEGORIES,
}


class ProfileError(SpoorError):
    """A profile that cannot be used: each problem names the key and what to do."""

    FIELDS = ("source", "problems")

    def __init__(self, source: str, problems: list[str]) -> None:
        self.source = source
        self.problems = problems
        super().__init__(f"{source}: " + "; ".join(problems))


@dataclass(frozen=True, slots=True)
class Combine:
    """Two source columns that make one identifier (a document or a phone)."""

    into: str
    number: str
    country: str
    doc_type: str = "passport"


@dataclass(frozen=True, slots=True)
class Profile:
    """Header renames, value maps and combined columns; empty means "the file as it is"."""

    columns: Mapping[str, str] = field(default_factory=dict)
    values: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    combine: tuple[Combine, ...] = ()
    name: str = ""

    def with_columns(self, extra: Mapping[str, str]) -> Profile:
        """This profile with more header renames (given on the command line: they win)."""
        return Profile({**self.columns, **extra}, self.values, self.combine, self.name)

    def header_mapping(self) -> dict[str, str]:
        """File header -> field name, parts of combined columns included."""
        out = dict(self.columns)
        for i, c in enumerate(self.combine):
            out[c.number] = f"{PART_MARK}{i}.number"
            out[c.country] = f"{PART_MARK}{i}.country"
        return out

    def shape(self, cells: dict[str, Any]) -> dict[str, Any]:
        """A row's cells with numbered columns gathered, combined columns joined, values mapped."""
        if any(k.startswith(PART_MARK) for k in cells):
            cells = _gather(cells, self.combine)
        for column, table in self.values.items():
            if column in cells and table:
                cells[column] = _map_values(cells[column], table)
        return cells

    def to_yaml_data(self) -> dict[str, Any]:
        data: dict[str, Any] = {}
        if self.columns:
            data["columns"] = dict(self.columns)
        if self.values:
            data["values"] = {k: dict(v) for k, v in self.values.items()}
        if self.combine:
            data["combine"] = [
                {"into": c.into, "number": c.number, "country": c.country}
                | ({"type": c.doc_type} if c.into == "documents" else {})
                for c in self.combine
            ]
        return data


def numbered_target(header: str) -> str | None:
    """``names_2`` -> the reader's name for the second ``names`` column; None otherwise."""
    m = _NUMBERED.match(header)
    if m and m.group(1) in LIST_FIELDS:
        return f"{PART_MARK}{m.group(1)}#{int(m.group(2))}"
    return None


def _fold(text: str) -> str:
    return " ".join(text.split()).casefold()


def _map_values(cell: Any, table: Mapping[str, str]) -> Any:
    folded = {_fold(k): v for k, v in table.items()}
    if isinstance(cell, list | tuple):
        return [folded.get(_fold(str(v)), v) if v is not None else v for v in cell]
    if cell is None:
        return cell
    text = str(cell)
    if ";" in text:
        return ";".join(folded.get(_fold(p), p.strip()) for p in text.split(";"))
    return folded.get(_fold(text), cell)


def _as_list(value: Any) -> list[Any]:
    if value is None or value == "":
        return []
    if isinstance(value, list | tuple):
        return list(value)
    text = str(value)
    return [p for p in (s.strip() for s in re.split(r"[;\n]", text)) if p]


_NUMBERED_MARK = re.compile(re.escape(PART_MARK) + r"([^#]+)#([0-9]{1,6})")
_PART_MARK = re.compile(re.escape(PART_MARK) + r"([0-9]{1,6})\.(number|country)")


def _gather(cells: dict[str, Any], combine: tuple[Combine, ...]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    numbered: dict[str, list[tuple[int, Any]]] = {}
    parts: dict[int, dict[str, Any]] = {}
    for key, value in cells.items():
        if key.startswith(IGNORED):
            continue
        # Only the marks this profile wrote are gathered; a column of the file that merely
        # looks like one ("~", "~x#y", "~9.number") stays a column and is refused as unknown.
        numbered_mark = _NUMBERED_MARK.fullmatch(key)
        part_mark = _PART_MARK.fullmatch(key)
        if numbered_mark is not None:
            base, n = numbered_mark.groups()
            numbered.setdefault(base, []).append((int(n), value))
        elif part_mark is not None and int(part_mark.group(1)) < len(combine):
            number, part = part_mark.groups()
            parts.setdefault(int(number), {})[part] = value
        else:
            out[key] = value
    for base, items in numbered.items():
        values = [v for _, v in sorted(items, key=lambda t: t[0]) if v not in (None, "")]
        if values:
            out[base] = _as_list(out.get(base)) + values
    for position, got in sorted(parts.items()):
        c = combine[position]
        number = str(got.get("number") or "").strip()
        if not number:
            continue
        country = str(got.get("country") or "").strip()
        out[c.into] = [*_as_list(out.get(c.into)), _joined(c, number, country)]
    return out


def _joined(c: Combine, number: str, country: str) -> str:
    if c.into == "documents":
        # A missing or unknown country is reported by the document check, in its own words.
        return f"{c.doc_type}:{country or '?'}:{number}"
    return _phone_in(number, country)


def _phone_in(number: str, country: str) -> str:
    """A phone read in ``country`` (code or name), in E.164 when it is a valid number there."""
    if not country or number.startswith("+"):
        return number
    import phonenumbers

    from node.records.normalize.errors import InvalidIdentifierError
    from node.records.normalize.identifiers import country_alpha2

    try:
        region = country_alpha2(country)
        parsed = phonenumbers.parse(number, region)
    except (InvalidIdentifierError, phonenumbers.NumberParseException):
        return number
    if not phonenumbers.is_valid_number(parsed):
        return number
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def parse_profile(data: object, source: str, name: str = "") -> Profile:
    """A profile from its YAML data; raises :class:`ProfileError` naming every bad entry."""
    problems: list[str] = []
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ProfileError(source, ["a profile is a mapping with columns, values and combine"])
    unknown = sorted(set(data) - {"columns", "values", "combine"})
    if unknown:
        problems.append(
            f"unknown key(s) {', '.join(map(str, unknown))}: use columns, values, combine"
        )
    columns = _columns(data.get("columns"), problems)
    values = _values(data.get("values"), problems)
    combine = _combines(data.get("combine"), problems)
    if problems:
        raise ProfileError(source, problems)
    return Profile(columns, values, combine, name)


def _columns(raw: object, problems: list[str]) -> dict[str, str]:
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        problems.append("columns: map each file header to a record field, e.g. 'Nome: names'")
        return {}
    out: dict[str, str] = {}
    for header, target in raw.items():
        if not isinstance(target, str) or target not in ALL_COLUMNS:
            problems.append(
                f"columns.{header}: {target!r} is not a record field (fields: docs/records.md)"
            )
            continue
        out[str(header)] = target
    return out


def _values(raw: object, problems: list[str]) -> dict[str, dict[str, str]]:
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        problems.append("values: map each field to {value as written: value Spoor knows}")
        return {}
    out: dict[str, dict[str, str]] = {}
    for column, table in raw.items():
        if column not in ALL_COLUMNS:
            problems.append(f"values.{column}: not a record field")
            continue
        if not isinstance(table, dict):
            problems.append(f"values.{column}: write 'written value: known value' pairs")
            continue
        allowed = _CLOSED_VALUES.get(str(column))
        for local, known in table.items():
            if allowed is not None and known not in allowed:
                problems.append(
                    f"values.{column}.{local}: {known!r} is not one of {', '.join(allowed)}"
                )
        out[str(column)] = {str(k): str(v) for k, v in table.items()}
    return out


def _combines(raw: object, problems: list[str]) -> tuple[Combine, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list):
        problems.append("combine: a list of {into, number, country[, type]} entries")
        return ()
    out: list[Combine] = []
    for i, entry in enumerate(raw, start=1):
        where = f"combine[{i}]"
        if not isinstance(entry, dict):
            problems.append(f"{where}: write into, number and country")
            continue
        into, number, country = entry.get("into"), entry.get("number"), entry.get("country")
        doc_type = str(entry.get("type", "passport"))
        if into not in COMBINE_INTO:
            problems.append(f"{where}.into: {into!r} — use documents or phones")
            continue
        if not isinstance(number, str) or not isinstance(country, str):
            problems.append(f"{where}: name the number column and the country column")
            continue
        if into == "documents" and doc_type not in DOCUMENT_TYPES:
            problems.append(f"{where}.type: {doc_type!r} — use {', '.join(DOCUMENT_TYPES)}")
            continue
        out.append(Combine(str(into), number, country, doc_type))
    return tuple(out)


def load_profile_file(path: Path, name: str = "") -> Profile:
    """Read a profile (or a plain header mapping) from a YAML file."""
    import yaml

    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise ProfileError(str(path), [f"cannot be read ({type(exc).__name__}: {exc})"]) from exc
    if isinstance(data, dict) and data and not set(data) & {"columns", "values", "combine"}:
        # A plain header mapping (the --map-file form) is a profile of columns only.
        data = {"columns": data}
    return parse_profile(data, str(path), name)


class ProfileStore:
    """The profiles saved in one node home."""

    def __init__(self, home_root: Path) -> None:
        self.dir = home_root / "profiles"

    def path(self, name: str) -> Path:
        if not _NAME.match(name):
            raise ProfileError(name, ["a profile name is letters, digits and . _ - (max 64)"])
        return self.dir / f"{name}.yaml"

    def save(self, name: str, profile: Profile) -> Path:
        import yaml

        target = self.path(name)
        self.dir.mkdir(parents=True, exist_ok=True)
        text = yaml.safe_dump(profile.to_yaml_data(), allow_unicode=True, sort_keys=False)
        tmp = target.with_suffix(".tmp")
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(target)
        return target

    def load(self, name: str) -> Profile:
        target = self.path(name)
        if not target.is_file():
            known = ", ".join(self.names()) or "none saved yet"
            raise ProfileError(
                name,
                [f"no such profile (saved: {known}); save one with 'spoor records profile save'"],
            )
        return load_profile_file(target, name)

    def names(self) -> list[str]:
        if not self.dir.is_dir():
            return []
        return sorted(p.stem for p in self.dir.glob("*.yaml"))

    def remove(self, name: str) -> bool:
        target = self.path(name)
        if not target.is_file():
            return False
        target.unlink()
        return True
