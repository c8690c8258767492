"""spoor officers: register, list, deactivate; bad input changes nothing."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from node.cli.main import cli
from tests.conftest import init_node


class TestOfficersCommand:
    def test_add_list_remove(self, tmp_path: Path) -> None:
        """An officer is registered with roles, listed, then deactivated but still listed."""
        home = str(init_node(tmp_path, "ke-kws", "KE"))
        run = CliRunner().invoke
        added = run(cli, ["officers", "add", "Adv. Njeri", "--home", home, "--role",
                          "legal_officer", "--role", "head_of_unit"])  # fmt: skip
        assert added.exit_code == 0, added.output
        assert "legal_officer, head_of_unit" in added.output
        listed = run(cli, ["officers", "list", "--home", home])
        assert "Adv. Njeri" in listed.output
        assert "yes" in listed.output
        removed = run(cli, ["officers", "remove", "Adv. Njeri", "--home", home])
        assert removed.exit_code == 0
        assert "no" in run(cli, ["officers", "list", "--home", home]).output
        again = run(cli, ["officers", "remove", "Adv. Njeri", "--home", home])
        assert again.exit_code == 1
        assert "no active officer" in again.output

    def test_unknown_role_is_refused(self, tmp_path: Path) -> None:
        """A role outside the policy vocabulary is refused with the allowed roles listed."""
        home = str(init_node(tmp_path, "ke-kws", "KE"))
        result = CliRunner().invoke(
            cli, ["officers", "add", "X", "--home", home, "--role", "judge"]
        )
        assert result.exit_code == 2
        assert "legal_officer" in result.output
        listed = CliRunner().invoke(cli, ["officers", "list", "--home", home])
        assert "No officers yet" in listed.output
