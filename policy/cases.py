"""Test-case tables: reading ``*.cases.yaml`` files into concrete cases.

A case table is YAML::

    spoor_cases: 1
    defaults:                 # merged into every case (mappings merge, lists replace)
      stage: release
      request: {requester: vn-customs, purpose: criminal_investigation, ...}
      record: {record_id: r1, kind: person, ...}
    cases:
      - name: protected person {category} is never released
        parameters: {category: [victim, witness, informant]}   # one case per value
        record: {subject_category: "{category}"}
        expect: {outcome: DENY, reason_code: NOT_RELEASABLE, denied_by: [protected-persons]}

``parameters`` is either a mapping of name to list of values (every
combination) or a list of mappings (one case per row). ``{name}`` is replaced
in every text of the case; a text that is exactly ``{name}`` takes the value
itself (so lists and numbers keep their type).
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from policy.context import FACT_KEYS, RequestContext
from policy.errors import Problem
from policy.loader import is_case_file
from policy.schema import Reader
from policy.source import Node, SourceError, parse

REQUEST_KEYS = (
    "requester",
    "purpose",
    "legal_basis",
    "case_reference",
    "officer",
    "now",
    "justification",
    "potential_charges",
    "assurances",
    "requested_fields",
)
EXPECT_KEYS = (
    "outcome",
    "reason_code",
    "denied_by",
    "matched",
    "fields",
    "obligations",
    "approval",
)
CASE_KEYS = ("name", "stage", "parameters", "request", "record", "expect")
OUTCOMES = ("RELEASE", "DENY", "PENDING_APPROVAL")


@dataclass(frozen=True)
class Case:
    """One concrete case (parameters already substituted)."""

    name: str
    stage: str
    request: RequestContext
    record: dict[str, Any]
    expect: dict[str, Any]
    file: str
    line: int


@dataclass
class CaseSet:
    """Cases read from one or more files, and any problems found in them."""

    cases: list[Case] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    files: list[str] = field(default_factory=list)


def find_case_files(policy_path: str | Path) -> list[Path]:
    """Case tables that sit next to a policy by convention.

    For a directory: its ``*.cases.yaml`` files and every YAML file under
    ``cases/``. For a single file: the ``*.cases.yaml`` files beside it.
    """
    path = Path(policy_path)
    folder = path if path.is_dir() else path.parent
    found = [p for p in sorted(folder.iterdir()) if p.is_file() and is_case_file(p)]
    sub = folder / "cases"
    if path.is_dir() and sub.is_dir():
        found += [p for p in sorted(sub.iterdir()) if p.suffix in (".yaml", ".yml")]
    return found


def merge(base: Any, over: Any) -> Any:
    """Deep-merge ``over`` into ``base``: mappings merge, everything else replaces."""
    if isinstance(base, dict) and isinstance(over, dict):
        out = dict(base)
        for k, v in over.items():
            out[k] = merge(base.get(k), v) if k in base else v
        return out
    return over


def substitute(value: Any, params: dict[str, Any]) -> Any:
    """Replace ``{name}`` placeholders of ``params`` everywhere in ``value``."""
    if isinstance(value, dict):
        return {k: substitute(v, params) for k, v in value.items()}
    if isinstance(value, list):
        return [substitute(v, params) for v in value]
    if isinstance(value, str):
        whole = re.fullmatch(r"\{(\w+)\}", value)
        if whole and whole.group(1) in params:
            return params[whole.group(1)]
        return re.sub(r"\{(\w+)\}", lambda m: str(params.get(m.group(1), m.group(0))), value)
    return value


def _timestamp(value: Any) -> datetime:
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, date):
        moment = datetime(value.year, value.month, value.day, tzinfo=UTC)
    elif isinstance(value, str):
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    else:
        raise TypeError("'now' must be a date and time such as 2026-03-01T10:00:00Z")
    if moment.utcoffset() is None:
        raise ValueError("'now' needs a time zone, for example 2026-03-01T10:00:00Z")
    return moment.astimezone(UTC)


def _texts(value: Any, what: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise TypeError(f"'{what}' must be a list of names")
    return tuple(value)


def make_request(raw: dict[str, Any]) -> RequestContext:
    """Build a :class:`RequestContext` from a case's ``request`` mapping."""
    unknown = sorted(set(raw) - set(REQUEST_KEYS))
    if unknown:
        raise ValueError(f"unknown request key(s): {', '.join(unknown)}")
    missing = [k for k in REQUEST_KEYS[:6] if raw.get(k) in (None, "")]
    if missing:
        raise ValueError(f"the request is missing: {', '.join(missing)}")
    return RequestContext(
        requester=str(raw["requester"]),
        purpose=str(raw["purpose"]),
        legal_basis=str(raw["legal_basis"]),
        case_reference=str(raw["case_reference"]),
        officer=str(raw["officer"]),
        now=_timestamp(raw["now"]),
        justification=raw.get("justification"),
        potential_charges=_texts(raw.get("potential_charges"), "potential_charges"),
        assurances=_texts(raw.get("assurances"), "assurances"),
        requested_fields=_texts(raw.get("requested_fields"), "requested_fields"),
    )


def _parameter_rows(node: Node, r: Reader) -> list[dict[str, Any]]:
    raw = node.to_python()
    if isinstance(raw, dict):
        if not all(isinstance(v, list) and v for v in raw.values()):
            r.error(
                node,
                "each parameter needs a non-empty list of values",
                "write parameters: {category: [victim, witness]}",
            )
            return []
        names = list(raw)
        return [
            dict(zip(names, combo, strict=True))
            for combo in itertools.product(*(raw[n] for n in names))
        ]
    if isinstance(raw, list) and raw and all(isinstance(row, dict) for row in raw):
        return raw
    r.error(node, "parameters must be a mapping of name to values, or a list of rows")
    return []


def _read_case(item: Node, defaults: dict[str, Any], r: Reader, out: CaseSet) -> None:
    m = r.mapping(item, "a case", ["name", "expect"], ["stage", "parameters", "request", "record"])
    if m is None or "name" not in m or "expect" not in m:
        return
    r.mapping(m["expect"], "expect", optional=EXPECT_KEYS)
    for key in ("request", "record"):
        if key in m:
            allowed = REQUEST_KEYS if key == "request" else FACT_KEYS
            r.mapping(m[key], key, optional=allowed)
    rows = _parameter_rows(m["parameters"], r) if "parameters" in m else [{}]
    body = {k: v.to_python() for k, v in m.items() if k != "parameters"}
    for params in rows:
        raw = substitute(merge(defaults, body), params)
        stage = raw.get("stage", "release")
        expect = raw.get("expect") or {}
        where = m["name"]
        if stage not in ("participation", "release", "disclosure"):
            r.error(
                m.get("stage", item),
                f"unknown stage '{stage}'",
                "stage is participation, release or disclosure (both, as a disclosure "
                "request is decided)",
            )
            continue
        if expect.get("outcome") not in OUTCOMES:
            r.error(
                m["expect"],
                f"expected outcome must be one of {', '.join(OUTCOMES)}",
                "add outcome: RELEASE, DENY or PENDING_APPROVAL",
            )
            continue
        try:
            request = make_request(raw.get("request") or {})
        except (ValueError, TypeError) as exc:
            r.error(m.get("request", item), str(exc))
            continue
        out.cases.append(
            Case(
                str(raw["name"]),
                stage,
                request,
                raw.get("record") or {},
                expect,
                where.file,
                where.line,
            )
        )


def load_cases(paths: list[Path] | list[str] | list[str | Path]) -> CaseSet:
    """Read case tables; problems are collected, never raised."""
    out = CaseSet()
    for path in paths:
        name = str(path)
        out.files.append(name)
        r = Reader()
        try:
            root, bad_values = parse(Path(path).read_text(encoding="utf-8"), name)
            out.problems.extend(bad_values)
        except SourceError as exc:
            out.problems.extend(exc.problems)
            continue
        except OSError as exc:
            out.problems.append(Problem(name, 1, 1, f"cannot read the case file: {exc}"))
            continue
        if root is None:
            out.problems.append(
                Problem(
                    name, 1, 1, "the case file is empty", "a case file starts with 'spoor_cases: 1'"
                )
            )
            continue
        top = r.mapping(root, "a case file", ["spoor_cases", "cases"], ["defaults"])
        if top is not None and "cases" in top:
            defaults: dict[str, Any] = {}
            if "defaults" in top:
                d = r.mapping(top["defaults"], "defaults", optional=("stage", "request", "record"))
                for key, allowed in (("request", REQUEST_KEYS), ("record", FACT_KEYS)):
                    if d and key in d:
                        r.mapping(d[key], f"defaults {key}", optional=allowed)
                defaults = top["defaults"].to_python() or {}
            for item in r.seq(top["cases"], "cases"):
                _read_case(item, defaults, r, out)
        out.problems.extend(r.problems)
    return out
