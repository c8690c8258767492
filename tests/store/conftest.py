"""Fixtures for the store tests: copies of homes written by the code of commit 7c84bcd."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

LEGACY = Path(__file__).parents[1] / "data" / "legacy" / "7c84bcd"
AGENCIES = ("ke-kws", "vn-customs", "mz-pgr")


@pytest.fixture
def legacy_homes(tmp_path: Path) -> dict[str, Path]:
    """The three homes made by 7c84bcd's demo (see tests/data/legacy/make_fixture.py)."""
    homes: dict[str, Path] = {}
    for agency in AGENCIES:
        home = tmp_path / agency
        shutil.copytree(LEGACY / agency, home)
        for key in (home / "keys").glob("*.key"):
            key.chmod(0o600)
        (home / "node.db").chmod(0o600)
        homes[agency] = home
    return homes
