"""Whether a policy may go live: it checks clean and its own case tables pass.

Used by the node whenever it (re)loads its policy and by ``spoor policy
rollback``. A policy with errors, with a case table that cannot be read, or
with a case whose decision differs from what the table expects is refused;
the caller keeps the policy it had. Coverage gaps and warnings do not block
(``spoor policy check`` shows them).
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

from policy.cases import find_case_files, load_cases
from policy.errors import PolicyError, Problem
from policy.loader import load_policy
from policy.model import Policy
from policy.testing import TestReport, run_case_set


def vet_policy(path: str | Path, *, today: date | None = None) -> tuple[Policy, TestReport | None]:
    """Load the policy at ``path`` and run its case tables; raise if it may not go live.

    Returns the policy and the case report (``None`` when there are no case
    tables). Raises :class:`PolicyError` listing every error and failing case.
    """
    loaded = load_policy(path, today=today)
    files = find_case_files(path)
    if not files:
        return loaded, None
    report = run_case_set(loaded, load_cases(files))
    problems = list(report.problems)
    for result in report.failed:
        c = result.case
        problems.append(
            Problem(
                c.file,
                c.line,
                1,
                f"test case '{c.name}' fails: {'; '.join(result.failures)}",
                "fix the policy or the case table; run 'spoor policy test' for details",
            )
        )
    if problems:
        raise PolicyError(problems)
    return loaded, report
