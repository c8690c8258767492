"""SQL lives in node/store only: a statement anywhere else is a layering defect."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).parents[2]
STORE = ROOT / "node" / "store"
SQL_CALL = re.compile(r"\.(execute|executemany|executescript)\(")
SQL_TEXT = re.compile(r"\b(SELECT .+ FROM|INSERT INTO|UPDATE \w+ SET|DELETE FROM|CREATE TABLE)\b")


def offenders(pattern: re.Pattern[str]) -> list[str]:
    found = []
    for package in ("node", "spoor_dev"):
        for path in sorted((ROOT / package).rglob("*.py")):
            if STORE in path.parents:
                continue
            for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
                if pattern.search(line):
                    found.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()}")
    return found


class TestStoreBoundary:
    def test_no_statement_is_executed_outside_the_store(self) -> None:
        """Only node/store runs SQL; every other module calls a repository."""
        assert offenders(SQL_CALL) == []

    def test_no_sql_text_outside_the_store(self) -> None:
        """No module outside node/store writes SQL text (the tables are the store's concern)."""
        assert offenders(SQL_TEXT) == []

    def test_connections_are_closed_by_the_context_manager(self) -> None:
        """Nobody outside node/store opens a raw connection and closes it by hand."""
        assert offenders(re.compile(r"\b(open_store|store\.connect)\(")) == []
