"""Deciding: guards, then participation or release rules, default deny.

One pass over the policy decides and records why. Semantics (fixed):

* a request or record outside the vocabulary denies;
* every guard for the stage is checked; any guard that fires denies, and all
  firing guards are listed in ``denied_by``;
* with no firing guard, at least one rule of the stage must match, else deny;
* release: see :mod:`policy.release` for fields, obligations and approval;
* any exception while deciding denies with ``EVALUATION_ERROR`` (fail closed).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any

from policy import vocab
from policy.conditions import CONDITIONS, State, describe
from policy.context import (
    InvalidFactsError,
    InvalidRequestError,
    RequestContext,
    check_request,
    parse_facts,
)
from policy.explain import ConditionCheck, Explanation, RuleCheck, render_explanation
from policy.model import Policy, Rule
from policy.release import (
    Approval,
    Obligations,
    combine_approval,
    combine_fields,
    combine_obligations,
)


class Outcome(StrEnum):
    """What happens to the record."""

    RELEASE = "RELEASE"
    DENY = "DENY"
    PENDING_APPROVAL = "PENDING_APPROVAL"


@dataclass(frozen=True)
class Decision:
    """The result of evaluating one record for one request.

    ``fields`` holds the values released (after transformation); for
    ``PENDING_APPROVAL`` they are what will be released once approved. On
    ``DENY`` it is empty. ``reason_code`` is safe to show the counterpart;
    ``denied_by`` (the firing guards) and ``explanation`` are internal.
    """

    stage: str
    outcome: Outcome
    reason_code: str
    explanation: Explanation
    fields: dict[str, object] = field(default_factory=dict)
    obligations: Obligations | None = None
    approval: Approval | None = None
    denied_by: list[str] = field(default_factory=list)
    matched_rules: list[str] = field(default_factory=list)
    policy_digest: str = ""
    refused_at: str | None = None  # disclosure: the stage that refused, if any

    @property
    def released(self) -> bool:
        """Whether anything leaves the node now (participation: the record takes part)."""
        return self.outcome is Outcome.RELEASE


def evaluate_participation(
    policy: Policy, ctx: RequestContext, facts: Mapping[str, Any]
) -> Decision:
    """May this record enter a match for this requester, purpose and legal basis?"""
    return _evaluate("participation", policy, ctx, facts)


def evaluate_release(policy: Policy, ctx: RequestContext, facts: Mapping[str, Any]) -> Decision:
    """What of this record may be released to this requester, under which obligations?"""
    return _evaluate("release", policy, ctx, facts)


def evaluate_disclosure(policy: Policy, ctx: RequestContext, facts: Mapping[str, Any]) -> Decision:
    """The one decision a disclosure request gets for one record, and its explanation.

    The record must first be admitted by the participation stage *for this
    request* (with its charges, assurances and justification), then the release
    stage decides. Both passes go into one :class:`Decision` (stage
    ``disclosure``): its reason code is exactly what the requester is sent, and
    its explanation shows both passes, so what a legal officer reads is what was
    decided. A record no participation rule admits is refused as
    ``NOT_RELEASABLE``, the code a key the node does not hold gets, so a
    disclosure request learns nothing a match would not have told it; a
    participation guard's own code (for example ``ASSURANCE_REQUIRED``) is sent
    as it is, so the requester learns what would help.
    """
    part = evaluate_participation(policy, ctx, facts)
    if part.outcome is not Outcome.RELEASE:
        code = "NOT_RELEASABLE" if part.reason_code == "NO_MATCHING_RULE" else part.reason_code
        explanation = Explanation(
            stage="disclosure",
            outcome=Outcome.DENY.value,
            reason_code=code,
            record_id=part.explanation.record_id,
            request=part.explanation.request,
            legal_references=part.explanation.legal_references,
            policy_digest=part.policy_digest,
            error=part.explanation.error,
            participation=part.explanation,
        )
        return Decision(
            "disclosure",
            Outcome.DENY,
            code,
            replace(explanation, text=render_explanation(explanation)),
            denied_by=list(part.denied_by),
            matched_rules=list(part.matched_rules),
            policy_digest=part.policy_digest,
            refused_at="participation",
        )
    rel = evaluate_release(policy, ctx, facts)
    explanation = replace(rel.explanation, stage="disclosure", participation=part.explanation)
    explanation = replace(explanation, text=render_explanation(explanation))
    return replace(
        rel,
        stage="disclosure",
        explanation=explanation,
        refused_at="release" if rel.outcome is Outcome.DENY else None,
    )


def _request_summary(ctx: RequestContext) -> dict[str, Any]:
    try:
        return {
            "requester": ctx.requester,
            "purpose": ctx.purpose,
            "legal_basis": ctx.legal_basis,
            "case_reference": ctx.case_reference,
            "officer": ctx.officer,
            "now": ctx.now.isoformat(),
            "potential_charges": list(ctx.potential_charges),
            "assurances": list(ctx.assurances),
            "requested_fields": list(ctx.requested_fields),
        }
    except Exception:  # a malformed context must still produce a denial
        return {}


def _deny(
    stage: str,
    policy: Policy,
    ctx: RequestContext,
    facts: Mapping[str, Any],
    *,
    code: str,
    error: str,
) -> Decision:
    record_id = facts.get("record_id") if isinstance(facts, Mapping) else None
    explanation = Explanation(
        stage=stage,
        outcome=Outcome.DENY.value,
        reason_code=code,
        record_id=record_id if isinstance(record_id, str) else None,
        request=_request_summary(ctx),
        policy_digest=getattr(policy, "digest", ""),
        error=error,
    )
    explanation = replace(explanation, text=render_explanation(explanation))
    return Decision(
        stage, Outcome.DENY, code, explanation, policy_digest=getattr(policy, "digest", "")
    )


def _evaluate(
    stage: str, policy: Policy, ctx: RequestContext, facts: Mapping[str, Any]
) -> Decision:
    try:
        return _decide(stage, policy, ctx, facts)
    except InvalidRequestError as exc:
        return _deny(stage, policy, ctx, facts, code="INVALID_REQUEST", error=str(exc))
    except InvalidFactsError as exc:
        return _deny(
            stage, policy, ctx, facts, code="EVALUATION_ERROR", error=f"record facts: {exc}"
        )
    except Exception as exc:  # fail closed: whatever went wrong, nothing is released
        return _deny(
            stage, policy, ctx, facts, code="EVALUATION_ERROR", error=f"{type(exc).__name__}: {exc}"
        )


def _template_values(state: State) -> dict[str, str]:
    ctx, profile = state.ctx, state.profile
    inst = state.policy.instruments.get(ctx.legal_basis)
    return {
        "requester": ctx.requester,
        "requester_name": profile.name if profile else ctx.requester,
        "requester_country": profile.country if profile else "unknown",
        "purpose": ctx.purpose.replace("_", " "),
        "legal_basis": ctx.legal_basis,
        "legal_basis_title": inst.title if inst else ctx.legal_basis,
        "case_reference": ctx.case_reference,
        "record_id": state.facts.record_id,
        "kind": state.facts.kind,
        "subject_category": state.facts.subject_category or "not applicable",
        "agency": state.policy.agency.name,
    }


def check_rule(rule: Rule, state: State) -> RuleCheck:
    """Evaluate one rule's conditions in order, stopping at the first unmet one."""
    checks: list[ConditionCheck] = []
    first_unmet: str | None = None
    if not rule.in_effect(state.today):
        start = rule.effective_from.isoformat() if rule.effective_from else "the start"
        until = rule.effective_until.isoformat() if rule.effective_until else "further notice"
        first_unmet = f"the rule is not in effect on {state.today} (in effect {start} to {until})"
    else:
        for cond in rule.conditions:
            holds, detail = CONDITIONS[cond.name].check(state, cond.value)
            statement = describe(cond.name, cond.value)
            checks.append(ConditionCheck(cond.name, statement, holds, detail))
            if not holds:
                first_unmet = f"{statement} — but {detail}"
                break
    matched = first_unmet is None
    text = None
    if matched:
        values = _template_values(state)
        values["detail"] = "; ".join(c.detail for c in checks)
        text = rule.explanation.format_map(values)
    return RuleCheck(
        rule.id,
        rule.kind,
        rule.title,
        matched,
        tuple(checks),
        first_unmet,
        rule.legal_references,
        text,
        rule.library,
    )


def _references(rules: Sequence[Rule]) -> tuple[str, ...]:
    out: list[str] = []
    for rule in rules:
        out.extend(r for r in rule.legal_references if r not in out)
    return tuple(out)


def _decide(
    stage: str, policy: Policy, ctx: RequestContext, raw_facts: Mapping[str, Any]
) -> Decision:
    check_request(policy, ctx)
    facts = parse_facts(raw_facts)
    state = State(policy, ctx, facts)
    guards = [g for g in policy.guards if stage in g.stages]
    guard_checks = tuple(check_rule(g, state) for g in guards)
    rules = policy.participation if stage == "participation" else policy.release
    rule_checks = tuple(check_rule(r, state) for r in rules)
    fired = [g for g, c in zip(guards, guard_checks, strict=True) if c.matched]
    matched = [r for r, c in zip(rules, rule_checks, strict=True) if c.matched]
    base = Explanation(
        stage=stage,
        outcome="",
        reason_code="",
        record_id=facts.record_id,
        request=_request_summary(ctx),
        guards=guard_checks,
        rules=rule_checks,
        policy_digest=policy.digest,
    )

    def done(outcome: Outcome, code: str, **kw: Any) -> Decision:
        expl_kw = {
            k: kw[k]
            for k in ("fields", "transforms", "withheld", "obligations", "approval")
            if k in kw
        }
        if "released" in kw:
            expl_kw["fields"] = tuple(kw["released"])
        cited = fired if fired else matched
        e = replace(
            base,
            outcome=outcome.value,
            reason_code=code,
            legal_references=_references(cited),
            **expl_kw,
        )
        e = replace(e, text=render_explanation(e))
        return Decision(
            stage,
            outcome,
            code,
            e,
            fields=dict(kw.get("released", {})),
            obligations=kw.get("obligations"),
            approval=kw.get("approval"),
            denied_by=[g.id for g in fired],
            matched_rules=[r.id for r in matched],
            policy_digest=policy.digest,
        )

    if fired:
        codes = [g.reason_code or "NOT_RELEASABLE" for g in fired]
        code = min(codes, key=vocab.GUARD_REASON_CODES.index)
        return done(Outcome.DENY, code)
    if not matched:
        return done(Outcome.DENY, "NO_MATCHING_RULE")
    if stage == "participation":
        return done(Outcome.RELEASE, "PARTICIPATES")
    outcome_fields = combine_fields(matched, ctx, facts)
    if not outcome_fields.released:
        return done(Outcome.DENY, "NO_RELEASABLE_FIELDS", withheld=outcome_fields.withheld)
    obligations = combine_obligations(matched, ctx, facts)
    approval = combine_approval(matched)
    outcome = Outcome.PENDING_APPROVAL if approval else Outcome.RELEASE
    code = "APPROVAL_REQUIRED" if approval else "RELEASED"
    return done(
        outcome,
        code,
        released=outcome_fields.released,
        transforms=outcome_fields.transforms,
        withheld=outcome_fields.withheld,
        obligations=obligations,
        approval=approval,
    )
