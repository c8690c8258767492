"""Running case tables against a policy, with the coverage rule.

Coverage rule: every participation and release rule has a case where it
matches and a case where it does not; every guard has a case where it fires.
A rule only counts in cases of the stage it belongs to (guards: their stages);
a ``disclosure`` case runs both stages, as a disclosure request is decided,
and counts for the rules of both.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from policy.cases import Case, CaseSet, load_cases
from policy.errors import Problem
from policy.evaluate import (
    Decision,
    evaluate_disclosure,
    evaluate_participation,
    evaluate_release,
)
from policy.model import Policy


@dataclass(frozen=True)
class CaseResult:
    """One case: what was expected, what was decided, and every difference."""

    case: Case
    decision: Decision
    failures: tuple[str, ...]

    @property
    def passed(self) -> bool:
        return not self.failures


@dataclass
class RuleCoverage:
    """How often a rule fired and stayed clear across the cases."""

    rule_id: str
    kind: str
    fired: int = 0
    clear: int = 0

    @property
    def gap(self) -> str | None:
        """What is missing for this rule, or ``None`` when covered."""
        if self.kind == "guard":
            return None if self.fired else "no case where this guard fires"
        missing = []
        if not self.fired:
            missing.append("no case where it matches")
        if not self.clear:
            missing.append("no case where it does not match")
        return " and ".join(missing) or None


@dataclass
class TestReport:
    """Results of running case tables against a policy."""

    results: list[CaseResult] = field(default_factory=list)
    coverage: dict[str, RuleCoverage] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)
    files: list[str] = field(default_factory=list)

    @property
    def failed(self) -> list[CaseResult]:
        return [r for r in self.results if not r.passed]

    @property
    def gaps(self) -> dict[str, str]:
        """Rule id -> what the case tables still lack."""
        return {rid: c.gap for rid, c in self.coverage.items() if c.gap}

    @property
    def ok(self) -> bool:
        """All cases pass, every rule is covered, and the case files are valid."""
        return bool(self.results) and not self.failed and not self.gaps and not self.problems


def decide(policy: Policy, case: Case) -> Decision:
    """Evaluate one case against a policy."""
    evaluate = {
        "participation": evaluate_participation,
        "release": evaluate_release,
        "disclosure": evaluate_disclosure,
    }[case.stage]
    return evaluate(policy, case.request, case.record)


def _as_set(value: Any) -> set[str] | None:
    if value is None:
        return set()
    if isinstance(value, list):
        return {str(v) for v in value}
    return None


def _compare_partial(label: str, want: Any, got: dict[str, Any] | None) -> list[str]:
    """Compare only the keys the case names (``null`` means: expect none at all)."""
    if want is None or got is None:
        return [] if want == got else [f"{label}: expected {want}, got {got}"]
    if not isinstance(want, dict):
        return [f"{label}: expected a mapping or null"]
    out = []
    for k, v in want.items():
        if k not in got:
            out.append(f"{label}: unknown key '{k}'")
        elif got[k] != v:
            out.append(f"{label}.{k}: expected {v}, got {got[k]}")
    return out


def _compare_fields(want: Any, got: dict[str, object]) -> list[str]:
    """A list compares the released field names; a mapping also compares the values."""
    if isinstance(want, dict):
        return [] if want == got else [f"fields: expected {want}, got {got}"]
    names = _as_set(want)
    if names is None or names != set(got):
        return [f"fields: expected {sorted(names or [])}, got {sorted(got)}"]
    return []


def compare(case: Case, d: Decision) -> list[str]:
    """Every way ``d`` differs from what ``case`` expects."""
    e = case.expect
    out: list[str] = []
    if d.outcome.value != e["outcome"]:
        why = f"; {d.explanation.error}" if d.explanation.error else ""
        out.append(
            f"outcome: expected {e['outcome']}, got {d.outcome.value} ({d.reason_code}{why})"
        )
    if "reason_code" in e and d.reason_code != e["reason_code"]:
        out.append(f"reason_code: expected {e['reason_code']}, got {d.reason_code}")
    for key, actual in (("denied_by", d.denied_by), ("matched", d.matched_rules)):
        if key in e:
            want = _as_set(e[key])
            if want is None:
                out.append(f"{key}: expected a list of rule ids")
            elif want != set(actual):
                out.append(f"{key}: expected {sorted(want)}, got {sorted(actual)}")
    if "fields" in e:
        out += _compare_fields(e["fields"], d.fields)
    if "obligations" in e:
        got_o = d.obligations.as_dict() if d.obligations else None
        out += _compare_partial("obligations", e["obligations"], got_o)
    if "approval" in e:
        got_a = d.approval.as_dict() if d.approval else None
        out += _compare_partial("approval", e["approval"], got_a)
    return out


def run_case_set(policy: Policy, case_set: CaseSet) -> TestReport:
    """Run already-loaded cases."""
    report = TestReport(problems=list(case_set.problems), files=list(case_set.files))
    for rule in policy.rules:
        report.coverage[rule.id] = RuleCoverage(rule.id, rule.kind)
    for case in case_set.cases:
        d = decide(policy, case)
        report.results.append(CaseResult(case, d, tuple(compare(case, d))))
        passes = [d.explanation]
        if d.explanation.participation is not None:
            passes.append(d.explanation.participation)
        for check in (c for e in passes for c in e.guards + e.rules):
            cov = report.coverage.get(check.rule_id)
            if cov is None:
                continue
            if check.matched:
                cov.fired += 1
            else:
                cov.clear += 1
    return report


def run_cases(policy: Policy, cases_path: str | Path | Sequence[str | Path]) -> TestReport:
    """Run the case table(s) at ``cases_path`` against ``policy``."""
    if isinstance(cases_path, str | Path):
        paths: list[str | Path] = [cases_path]
    else:
        paths = list(cases_path)
    expanded: list[str | Path] = []
    for p in paths:
        if Path(p).is_dir():
            expanded += sorted(q for q in Path(p).iterdir() if q.suffix in (".yaml", ".yml"))
        else:
            expanded.append(p)
    return run_case_set(policy, load_cases(expanded))
