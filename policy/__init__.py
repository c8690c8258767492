"""Spoor's policy language: release policies that legal officers write, test and explain.

Pure Python (no gRPC, no database). The public surface:

* :func:`load_policy` — read and check a policy file or directory;
* :class:`RequestContext` — who asks, for what, on which legal basis, built once
  by :func:`request_context` where a request enters;
* :func:`evaluate_participation` / :func:`evaluate_release` — decide one stage, and explain;
* :func:`evaluate_disclosure` — the one decision a disclosure request gets (both stages);
* :data:`FIELD_GROUPS` and the other closed vocabularies in :mod:`policy.vocab`.
"""

from __future__ import annotations

from policy.context import InvalidRequestError, RequestContext, check_request, request_context
from policy.errors import PolicyError, PolicyLanguageError, Problem
from policy.evaluate import (
    Decision,
    Outcome,
    evaluate_disclosure,
    evaluate_participation,
    evaluate_release,
)
from policy.explain import Explanation, render
from policy.loader import load_policy
from policy.model import Policy, Rule
from policy.release import Approval, Obligations
from policy.signature import participation_signature, participation_signer
from policy.vocab import (
    FIELD_GROUPS,
    GROUP_NAMES,
    HANDLING_CODES,
    HANDLING_RESTRICTIONS,
    OFFENCE_CLASSES,
    PURPOSES,
    REASON_CODES,
    RECORD_KINDS,
    SUBJECT_CATEGORIES,
)

__all__ = [
    "FIELD_GROUPS",
    "GROUP_NAMES",
    "HANDLING_CODES",
    "HANDLING_RESTRICTIONS",
    "OFFENCE_CLASSES",
    "PURPOSES",
    "REASON_CODES",
    "RECORD_KINDS",
    "SUBJECT_CATEGORIES",
    "Approval",
    "Decision",
    "Explanation",
    "InvalidRequestError",
    "Obligations",
    "Outcome",
    "Policy",
    "PolicyError",
    "PolicyLanguageError",
    "Problem",
    "RequestContext",
    "Rule",
    "check_request",
    "evaluate_disclosure",
    "evaluate_participation",
    "evaluate_release",
    "load_policy",
    "participation_signature",
    "participation_signer",
    "render",
    "request_context",
]
