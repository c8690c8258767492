"""Fixtures for record tests: an open node store."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from node import store


@pytest.fixture
def conn(tmp_path: Path) -> Iterator[sqlite3.Connection]:
    """A fresh node database."""
    c = store.open_store(tmp_path / "node.db")
    yield c
    c.close()
