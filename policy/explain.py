"""The decision record: what was checked, what matched, and why — as data and as text.

The evaluator fills an :class:`Explanation` while it decides; :func:`render`
turns it into plain language for a legal officer. Nothing here re-evaluates
anything, so the explanation can never disagree with the decision.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from policy import vocab

if TYPE_CHECKING:
    from policy.evaluate import Decision
    from policy.release import Approval, Obligations


@dataclass(frozen=True)
class ConditionCheck:
    """One condition of a rule and what it found."""

    name: str
    statement: str  # the condition as written, in plain language
    holds: bool
    detail: str  # what was found


@dataclass(frozen=True)
class RuleCheck:
    """One rule as evaluated for this request and record."""

    rule_id: str
    kind: str
    title: str
    matched: bool
    conditions: tuple[ConditionCheck, ...]
    first_unmet: str | None
    legal_references: tuple[str, ...]
    text: str | None  # the rule's explanation template, rendered (matched rules only)
    library: str | None = None


@dataclass(frozen=True)
class Explanation:
    """Everything a legal officer needs to understand one decision."""

    stage: str
    outcome: str
    reason_code: str
    record_id: str | None
    request: dict[str, Any]
    guards: tuple[RuleCheck, ...] = ()
    rules: tuple[RuleCheck, ...] = ()
    fields: tuple[str, ...] = ()
    transforms: dict[str, str] = field(default_factory=dict)
    withheld: dict[str, str] = field(default_factory=dict)
    obligations: Obligations | None = None
    approval: Approval | None = None
    legal_references: tuple[str, ...] = ()
    policy_digest: str = ""
    error: str | None = None
    text: str = ""
    # Disclosure: the participation pass that came first (this explanation's own
    # guards and rules are then the release pass, empty when participation refused).
    participation: Explanation | None = None

    def as_dict(self) -> dict[str, Any]:
        """Plain data for JSON output and audit."""

        def rule(r: RuleCheck) -> dict[str, Any]:
            return {
                "id": r.rule_id,
                "kind": r.kind,
                "title": r.title,
                "matched": r.matched,
                "first_unmet": r.first_unmet,
                "conditions": [
                    {"name": c.name, "holds": c.holds, "detail": c.detail} for c in r.conditions
                ],
                "legal_references": list(r.legal_references),
                "text": r.text,
            }

        return {
            "stage": self.stage,
            "outcome": self.outcome,
            "reason_code": self.reason_code,
            "record_id": self.record_id,
            "request": self.request,
            "guards": [rule(g) for g in self.guards],
            "rules": [rule(r) for r in self.rules],
            "fields": list(self.fields),
            "transforms": self.transforms,
            "withheld": self.withheld,
            "obligations": self.obligations.as_dict() if self.obligations else None,
            "approval": self.approval.as_dict() if self.approval else None,
            "legal_references": list(self.legal_references),
            "policy_digest": self.policy_digest,
            "error": self.error,
            "text": self.text,
            "participation": self.participation.as_dict() if self.participation else None,
        }


def _consent(level: str) -> str:
    return {
        "permitted": "permitted",
        "with_consent": "only with our prior consent",
        "prohibited": "prohibited",
    }[level]


VERDICTS = {
    ("participation", "RELEASE"): "MAY TAKE PART in the match",
    ("participation", "DENY"): "KEPT OUT of the match",
    ("release", "RELEASE"): "RELEASED",
    ("release", "DENY"): "REFUSED",
    ("release", "PENDING_APPROVAL"): "HELD FOR APPROVAL",
    ("disclosure", "RELEASE"): "RELEASED",
    ("disclosure", "DENY"): "REFUSED",
    ("disclosure", "PENDING_APPROVAL"): "HELD FOR APPROVAL",
}


def _heading(e: Explanation) -> list[str]:
    verdict = VERDICTS.get((e.stage, e.outcome), e.outcome)
    lines = [
        f"Decision ({e.stage}): record {e.record_id or '?'} is {verdict}.",
        f"Reason code shown to the requester: {e.reason_code} — "
        f"{vocab.REASON_CODES.get(e.reason_code, '')}.",
    ]
    req = e.request
    if req:
        lines.append(
            f"Request: {req.get('requester')} for {req.get('purpose')} under "
            f"{req.get('legal_basis')}, case {req.get('case_reference')}, "
            f"officer {req.get('officer')}, at {req.get('now')}."
        )
    if e.error and e.participation is None:
        lines.append(f"The request could not be evaluated: {e.error}. Nothing was released.")
    return lines


def _rule_lines(title: str, checks: tuple[RuleCheck, ...], *, guards: bool) -> list[str]:
    if not checks:
        return []
    lines = ["", title]
    for c in checks:
        if c.matched:
            lines.append(f"  [{'FIRES' if guards else 'MATCH'}] {c.rule_id} — {c.title}")
            if c.text:
                lines.append(f"          {c.text}")
        elif guards:
            why = c.conditions[-1].detail if c.conditions else c.first_unmet
            lines.append(f"  [clear] {c.rule_id} — {why}")
        else:
            lines.append(f"  [no]    {c.rule_id} — first unmet: {c.first_unmet}")
    return lines


def _field_lines(e: Explanation) -> list[str]:
    lines: list[str] = []
    if (e.stage in ("release", "disclosure") and e.outcome != "DENY") or e.fields:
        shown = [f"{f} ({e.transforms[f]})" if f in e.transforms else f for f in e.fields]
        lines += ["", "Fields released: " + (", ".join(shown) if shown else "none")]
    if e.withheld:
        lines.append("Fields withheld:")
        lines.extend(f"  {f}: {why}" for f, why in e.withheld.items())
    return lines


def _obligation_lines(o: Obligations | None) -> list[str]:
    if o is None:
        return []
    lines = [
        "",
        "Obligations on the recipient:",
        f"  handling code {o.handling_code}: {vocab.HANDLING_MEANINGS[o.handling_code]}",
    ]
    if o.use_limited_to_purpose:
        lines.append(f"  use limited to the purpose {o.purpose}")
    if o.use_limited_to_case:
        lines.append(f"  use limited to case {o.case_reference}")
    lines.append(f"  onward transfer {_consent(o.onward_transfer)}")
    lines.append(f"  use in judicial proceedings {_consent(o.judicial_use)}")
    lines.append(f"  delete after {o.retention_days} days")
    return lines


def _approval_lines(a: Approval | None) -> list[str]:
    if a is None:
        return []
    who = " and ".join(a.roles) or "the responder's legal officers"
    two = " (two different people must approve)" if a.two_person else ""
    due = f" within {a.deadline_hours} hours" if a.deadline_hours else ""
    return ["", f"Approval required from {who}{two}{due}."]


def _participation_lines(e: Explanation) -> list[str]:
    p = e.participation
    if p is None:
        return []
    lines = ["", "1. May the record be considered for this request (participation stage)?"]
    lines += _rule_lines("Guards checked:", p.guards, guards=True)
    lines += _rule_lines("Participation rules:", p.rules, guards=False)
    if p.outcome == "DENY":
        meaning = vocab.REASON_CODES.get(p.reason_code, "")
        lines += [
            "",
            f"Refused at the participation stage ({p.reason_code}: {meaning}); "
            "the release rules were not evaluated.",
        ]
        if p.error:
            lines.append(f"The request could not be evaluated: {p.error}.")
        if p.reason_code == "NO_MATCHING_RULE":
            lines.append(
                "The requester is told NOT_RELEASABLE, exactly as for a key this node "
                "does not hold."
            )
    else:
        lines += ["", "2. What may be released (release stage)?"]
    return lines


def render_explanation(e: Explanation) -> str:
    """Plain-language text of an explanation."""
    lines = _heading(e)
    lines += _participation_lines(e)
    if e.participation is not None and e.participation.outcome == "DENY":
        return "\n".join(_tail(e, lines))
    rules_title = "Release" if e.stage == "disclosure" else e.stage.capitalize()
    lines += _rule_lines("Guards checked:", e.guards, guards=True)
    lines += _rule_lines(f"{rules_title} rules:", e.rules, guards=False)
    lines += _field_lines(e)
    lines += _obligation_lines(e.obligations)
    lines += _approval_lines(e.approval)
    return "\n".join(_tail(e, lines))


def _tail(e: Explanation, lines: list[str]) -> list[str]:
    if e.legal_references:
        lines += ["", "Legal references: " + "; ".join(e.legal_references)]
    if e.policy_digest:
        lines.append(f"Policy digest: {e.policy_digest}")
    return lines


def render(decision: Decision) -> str:
    """The plain-language decision record of ``decision``."""
    return decision.explanation.text or render_explanation(decision.explanation)
