"""Opt-in tiers for the deployment tests, and what they share.

Tests marked ``packaging`` (wheel and offline bundle installed in fresh
virtualenvs; needs the package index once) or ``container`` (podman image and
compose federation) run only when ``-m`` names their marker, e.g.
``scripts/test -m container``; the default run leaves them out.
"""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
OPT_IN = ("packaging", "container")


def project_version() -> str:
    """The version pyproject.toml declares."""
    with (ROOT / "pyproject.toml").open("rb") as f:
        version: str = tomllib.load(f)["project"]["version"]
    return version


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Leave out opt-in tiers unless the -m expression names them."""
    markexpr = config.getoption("markexpr") or ""
    keep: list[pytest.Item] = []
    dropped: list[pytest.Item] = []
    for item in items:
        tiers = [m for m in OPT_IN if item.get_closest_marker(m)]
        (dropped if tiers and not any(t in markexpr for t in tiers) else keep).append(item)
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = keep
