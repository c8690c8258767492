"""``spoor store migrate --to postgresql://...``: an SQLite home moved to PostgreSQL."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from node.cli.main import cli
from node.store import location
from tests.conftest import init_node
from tests.store.backends import SchemaPerHome

PERSONS = Path(__file__).parents[2] / "docs" / "examples" / "persons.csv"


def run(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


@pytest.fixture
def empty_pg(postgres_homes: SchemaPerHome | None) -> str:
    """The URL of an empty PostgreSQL store at the current schema."""
    if postgres_homes is None:
        pytest.skip("PostgreSQL run only (scripts/test-postgres, part of .ci/run)")
    found = postgres_homes._new_schema()
    assert found.url is not None
    return found.url


@pytest.mark.sqlite  # the home starts as an SQLite file
class TestStoreMigrate:
    def test_moved_home_serves_its_records_and_verifies(
        self, tmp_path: Path, empty_pg: str, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """After the move the home reads its records from PostgreSQL and its trail verifies."""
        monkeypatch.delenv(location.ENV_URL, raising=False)
        home = init_node(tmp_path, "ke-kws", "KE")
        imported = run("records", "import", str(PERSONS), "--home", str(home))
        assert imported.exit_code == 0, imported.output
        before = run("records", "list", "--home", str(home), "--json")
        moved = run("store", "migrate", "--home", str(home), "--to", empty_pg)
        assert moved.exit_code == 0, moved.output
        assert "Audit trail verified on the target" in moved.output
        assert location.locate(home / "node.db").engine == "postgresql"
        after = run("records", "list", "--home", str(home), "--json")
        assert after.output == before.output
        verified = run("audit", "verify", "--home", str(home))
        assert verified.exit_code == 0, verified.output
        # The next audited action extends the copied chain, which still verifies.
        again = run("records", "import", str(PERSONS), "--home", str(home))
        assert again.exit_code == 0, again.output
        assert run("audit", "verify", "--home", str(home)).exit_code == 0

    def test_a_target_with_data_is_refused(
        self, tmp_path: Path, empty_pg: str, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """Migrating into a database that already holds a node changes neither side."""
        monkeypatch.delenv(location.ENV_URL, raising=False)
        first = init_node(tmp_path / "a", "ke-kws", "KE")
        second = init_node(tmp_path / "b", "tz-tawa", "TZ")
        assert run("store", "migrate", "--home", str(first), "--to", empty_pg).exit_code == 0
        refused = run("store", "migrate", "--home", str(second), "--to", empty_pg)
        assert refused.exit_code == 1
        assert "already holds a node's data" in refused.output
        assert location.locate(second / "node.db").engine == "sqlite"

    def test_bad_target_is_a_usage_error(self, tmp_path: Path) -> None:
        """--to must name a PostgreSQL database; nothing is copied otherwise."""
        home = init_node(tmp_path, "ke-kws", "KE")
        refused = run("store", "migrate", "--home", str(home), "--to", "mysql://db/spoor")
        assert refused.exit_code == 2
        assert "unknown store URL" in refused.output
        assert location.configured_url(home) == ""
