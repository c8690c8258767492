"""Fixtures for the policy tests: the test agency and the example KWS policy."""

from __future__ import annotations

import pytest

from policy import Policy, load_policy
from tests.policy.policy_support import AGENCY_DIR, DEPLOY


@pytest.fixture(scope="session")
def agency_policy() -> Policy:
    """The small test agency policy, with the baseline library."""
    return load_policy(AGENCY_DIR)


@pytest.fixture(scope="session")
def ke_policy() -> Policy:
    """The example KWS policy from deploy/policies."""
    return load_policy(DEPLOY / "ke-kws")
