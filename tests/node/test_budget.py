"""Element budgets: charged before work, refused beyond the limit, persistent."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from node import store
from node.match import budget


@pytest.fixture
def db(tmp_path: Path) -> Path:
    store.open_store(tmp_path / "node.db").close()
    return tmp_path / "node.db"


class TestBudget:
    def test_charges_accumulate_and_refuse_beyond_limit(self, db: Path) -> None:
        """Elements add up per peer and day; a request passing the limit is refused whole."""
        conn = store.connect(db)
        now = datetime(2026, 11, 22, 10, tzinfo=UTC)
        assert budget.charge(conn, "vn-customs", 60, 100, now).remaining == 40
        with pytest.raises(budget.BudgetExceeded) as info:
            budget.charge(conn, "vn-customs", 41, 100, now)
        assert (info.value.used, info.value.requested, info.value.limit) == (60, 41, 100)
        assert (
            budget.used(conn, "vn-customs", "2026-11-22") == 60
        )  # the refused charge left no trace
        assert budget.charge(conn, "vn-customs", 40, 100, now).remaining == 0

    def test_budget_survives_a_new_connection(self, db: Path) -> None:
        """Usage is stored, so a restarted node still refuses an exhausted peer."""
        now = datetime(2026, 11, 22, 10, tzinfo=UTC)
        conn = store.connect(db)
        budget.charge(conn, "mz-pgr", 100, 100, now)
        conn.close()
        again = store.connect(db)
        with pytest.raises(budget.BudgetExceeded):
            budget.charge(again, "mz-pgr", 1, 100, now)

    def test_peers_and_days_are_separate(self, db: Path) -> None:
        """One peer's usage does not consume another's, and a new UTC day starts afresh."""
        conn = store.connect(db)
        day1 = datetime(2026, 11, 22, 23, 59, tzinfo=UTC)
        day2 = datetime(2026, 11, 23, 0, 1, tzinfo=UTC)
        budget.charge(conn, "a-one", 100, 100, day1)
        assert budget.charge(conn, "b-two", 100, 100, day1).remaining == 0
        assert budget.charge(conn, "a-one", 100, 100, day2).remaining == 0
