"""Fixtures for the audit tests: a fresh node home with an opened store."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from typing import Any

import pytest

import node.store
from node.app.home import NodeHome


@pytest.fixture
def home(tmp_path: Any) -> NodeHome:
    """A node home directory (no 'spoor init' needed: the audit only needs its tables)."""
    root = tmp_path / "home"
    root.mkdir()
    return NodeHome(root)


@pytest.fixture
def conn(home: NodeHome) -> Iterator[sqlite3.Connection]:
    connection = node.store.open_store(home.db_path)
    yield connection
    connection.close()
