"""Comparing two versions of a policy: what the rules say, and what they decide.

The text difference of two YAML files says little to a legal officer; what
matters is which decisions change. ``diff_policies`` runs the same cases
against both versions and reports every change in outcome, reason, guards,
fields, obligations and approval, alongside the rules and reference data that
were added, removed or changed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from policy.cases import Case, CaseSet, load_cases
from policy.errors import Problem
from policy.evaluate import Decision
from policy.model import Policy, plain_data
from policy.testing import decide


@dataclass(frozen=True)
class CaseChange:
    """How one case's decision changes between the two versions."""

    case: Case
    changes: tuple[str, ...]


@dataclass
class DiffReport:
    """Differences between two policy versions."""

    old_digest: str
    new_digest: str
    rules_added: list[str] = field(default_factory=list)
    rules_removed: list[str] = field(default_factory=list)
    rules_changed: list[str] = field(default_factory=list)
    reference_changes: list[str] = field(default_factory=list)
    case_changes: list[CaseChange] = field(default_factory=list)
    cases_run: int = 0
    problems: list[Problem] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        """Whether anything differs at all."""
        return self.old_digest != self.new_digest or bool(self.case_changes)

    def render(self) -> str:
        """Plain-language summary for a legal officer."""
        lines = [f"Old policy digest: {self.old_digest}", f"New policy digest: {self.new_digest}"]
        if not self.changed:
            lines.append("The two versions are identical in meaning.")
        for label, ids in (
            ("added", self.rules_added),
            ("removed", self.rules_removed),
            ("changed", self.rules_changed),
        ):
            if ids:
                lines.append(f"Rules {label}: {', '.join(ids)}")
        if self.reference_changes:
            lines.append("Reference data: " + "; ".join(self.reference_changes))
        lines.append("")
        lines.append(f"Decisions: {len(self.case_changes)} of {self.cases_run} case(s) change.")
        for cc in self.case_changes:
            lines.append(f"  {cc.case.file}:{cc.case.line}: {cc.case.name}")
            lines.extend(f"      {c}" for c in cc.changes)
        return "\n".join(lines)


def _rule_map(policy: Policy) -> dict[str, Any]:
    return {r.id: plain_data(r) for r in policy.rules}


def _reference_changes(old: Policy, new: Policy) -> list[str]:
    out = []
    for section in ("agency", "instruments", "counterparts", "assurances", "species"):
        a, b = old.canonical()[section], new.canonical()[section]
        if section == "agency":
            if a != b:
                out.append("agency details changed")
            continue
        for key in sorted(set(a) | set(b)):
            if key not in a:
                out.append(f"{section[:-1] if section != 'species' else 'species'} {key} added")
            elif key not in b:
                out.append(f"{section[:-1] if section != 'species' else 'species'} {key} removed")
            elif a[key] != b[key]:
                changed = sorted(
                    k for k in set(a[key]) | set(b[key]) if a[key].get(k) != b[key].get(k)
                )
                name = section[:-1] if section != "species" else "species"
                out.append(f"{name} {key}: {', '.join(changed)} changed")
    return out


def _dict(value: Any) -> dict[str, Any] | None:
    return value.as_dict() if value is not None else None


def _field_changes(a: Decision, b: Decision) -> list[str]:
    out = []
    gained = sorted(set(b.fields) - set(a.fields))
    lost = sorted(set(a.fields) - set(b.fields))
    if gained:
        out.append(f"fields now released: {', '.join(gained)}")
    if lost:
        out.append(f"fields no longer released: {', '.join(lost)}")
    for f in sorted(set(a.fields) & set(b.fields)):
        if a.fields[f] != b.fields[f]:
            out.append(f"field {f} released differently (transformation changed)")
    return out


def _mapping_changes(label: str, x: dict[str, Any] | None, y: dict[str, Any] | None) -> list[str]:
    if x == y:
        return []
    if x is None or y is None:
        return [f"{label}: {x or 'none'} -> {y or 'none'}"]
    return [
        f"{label}.{k}: {x.get(k)} -> {y.get(k)}"
        for k in sorted(set(x) | set(y))
        if x.get(k) != y.get(k)
    ]


def decision_changes(a: Decision, b: Decision) -> list[str]:
    """Every difference between two decisions on the same case."""
    out = []
    if a.outcome != b.outcome:
        out.append(f"outcome: {a.outcome.value} -> {b.outcome.value}")
    if a.reason_code != b.reason_code:
        out.append(f"reason code: {a.reason_code} -> {b.reason_code}")
    if set(a.denied_by) != set(b.denied_by):
        out.append(f"guards firing: {sorted(a.denied_by)} -> {sorted(b.denied_by)}")
    if set(a.matched_rules) != set(b.matched_rules):
        out.append(f"rules matching: {sorted(a.matched_rules)} -> {sorted(b.matched_rules)}")
    out += _field_changes(a, b)
    out += _mapping_changes("obligations", _dict(a.obligations), _dict(b.obligations))
    out += _mapping_changes("approval", _dict(a.approval), _dict(b.approval))
    return out


def diff_policies(
    old: Policy, new: Policy, cases: CaseSet | Sequence[str | Path] = ()
) -> DiffReport:
    """Compare two policies, rule by rule and case by case."""
    case_set = cases if isinstance(cases, CaseSet) else load_cases(list(cases))
    report = DiffReport(old.digest, new.digest, problems=list(case_set.problems))
    a, b = _rule_map(old), _rule_map(new)
    report.rules_added = [r for r in b if r not in a]
    report.rules_removed = [r for r in a if r not in b]
    report.rules_changed = [r for r in a if r in b and a[r] != b[r]]
    report.reference_changes = _reference_changes(old, new)
    for case in case_set.cases:
        changes = decision_changes(decide(old, case), decide(new, case))
        report.cases_run += 1
        if changes:
            report.case_changes.append(CaseChange(case, tuple(changes)))
    return report
