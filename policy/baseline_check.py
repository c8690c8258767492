"""The baseline is mandatory: an agency policy may add guards, never weaken the baseline's.

Checked while loading (errors, with the file and line of the offending text):

* the policy must include the baseline (see ``_Builder.require_baseline``);
* no agency rule or reference entry may reuse a baseline id (``Reader.unique``);
* no participation or release rule may be written to admit what a baseline
  guard forbids at that stage — a rule for witnesses, for records flagged under
  INTERPOL Art. 3, for records past their review date, for a non-competent
  requester or for capital-charge exposure without an assurance. Such a rule
  could never take effect (the guard always wins), so writing one is a mistake
  about what the policy does, and is refused rather than silently ignored.
"""

from __future__ import annotations

from collections.abc import Sequence

from policy.conditions import describe
from policy.errors import Problem
from policy.model import Condition, Rule
from policy.schema import Reader

#: The protections every policy carries, whatever the agency writes.
MANDATORY_GUARDS = (
    "protected-persons",
    "capital-charge-without-assurance",
    "interpol-art3",
    "past-review-date",
    "non-competent-recipient",
)


def _overlap(rule_cond: Condition, guard_cond: Condition) -> str | None:
    """What of ``rule_cond`` the guard condition always refuses (``None``: nothing)."""
    if rule_cond.name != guard_cond.name:
        return None
    if isinstance(guard_cond.value, bool) or isinstance(rule_cond.value, bool):
        return (
            describe(rule_cond.name, rule_cond.value)
            if rule_cond.value == guard_cond.value
            else None
        )
    common = [v for v in rule_cond.value if v in guard_cond.value]
    return ", ".join(common) if common else None


def check_baseline(reader: Reader, guards: Sequence[Rule], rules: Sequence[Rule]) -> None:
    """Record an error for every agency rule that tries to admit what the baseline forbids."""
    have = {g.id for g in guards if g.library == "baseline"}
    for missing in MANDATORY_GUARDS:
        if have and missing not in have:  # only a broken installation could get here
            reader.problems.append(
                Problem("<baseline>", 1, 1, f"the baseline guard '{missing}' is missing")
            )
    baseline = [g for g in guards if g.library == "baseline" and len(g.conditions) == 1]
    for rule in rules:
        if rule.library is not None:
            continue
        for guard in baseline:
            if rule.kind not in guard.stages:
                continue
            for cond in rule.conditions:
                what = _overlap(cond, guard.conditions[0])
                if what is None:
                    continue
                o = cond.origin
                reader.problems.append(
                    Problem(
                        o.file,
                        o.line,
                        o.column,
                        f"rule {rule.id} is written for what the baseline guard "
                        f"'{guard.id}' always refuses ({cond.name}: {what})",
                        (
                            f"remove the condition '{cond.name}'"
                            if isinstance(cond.value, bool)
                            else f"remove {what} from '{cond.name}'"
                        )
                        + f': the baseline guard "{guard.title}" applies whatever a rule says',
                    )
                )
