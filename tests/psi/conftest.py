"""Shared fixtures for the PSI tests: worker pools and a ready-made exchange."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from node.psi import PsiPool
from tests.psi.helpers import Exchange, make_exchange


@pytest.fixture(scope="session")
def psi_pool() -> Iterator[PsiPool]:
    """A pool shared by the functional tests (workers are reused across tests)."""
    with PsiPool(max_workers=2, timeout_s=60) as pool:
        yield pool


@pytest.fixture
def short_pool() -> Iterator[PsiPool]:
    """A one-worker pool with a short timeout, for tests that crash or hang workers."""
    with PsiPool(max_workers=1, timeout_s=2) as pool:
        yield pool


@pytest.fixture(scope="module")
def exchange() -> Exchange:
    """An honest reveal-mode exchange (re-used read-only by validation tests)."""
    return make_exchange()
