from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.web.support import ConsoleHome, console_home


@pytest.fixture
def home(tmp_path: Path) -> Iterator[ConsoleHome]:
    made = console_home(tmp_path / "kws")
    try:
        yield made
    finally:
        made.node.conn.close()
