"""Fixtures for the disclosure tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.disclosure.helpers import ResponderNode, make_responder


@pytest.fixture
def responder(tmp_path: Path) -> Iterator[ResponderNode]:
    node = make_responder(tmp_path / "responder")
    try:
        yield node
    finally:
        node.conn.close()
