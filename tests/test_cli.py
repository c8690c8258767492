"""The spoor command: every subcommand is registered and answers --help."""

from __future__ import annotations

import click
import pytest
from click.testing import CliRunner

from node.cli.main import cli

EXPECTED = {
    "init",
    "pki",
    "peers",
    "records",
    "policy",
    "serve",
    "match",
    "watch",
    "disclose",
    "approvals",
    "officers",
    "console",
    "audit",
    "stats",
    "store",
    "status",
    "doctor",
    "backup",
    "restore",
}


def _paths(group: click.Group, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    out = []
    for name, command in group.commands.items():
        out.append((*prefix, name))
        if isinstance(command, click.Group):
            out.extend(_paths(command, (*prefix, name)))
    return out


class TestCommandLine:
    def test_every_command_group_is_registered(self) -> None:
        """All top-level commands the guides name are present."""
        assert set(cli.commands) == EXPECTED

    @pytest.mark.parametrize("path", _paths(cli), ids=" ".join)
    def test_help_on_every_subcommand(self, path: tuple[str, ...]) -> None:
        """Each command and subcommand prints its help and exits 0."""
        result = CliRunner().invoke(cli, [*path, "--help"])
        assert result.exit_code == 0, result.output
        assert "Usage: " in result.output
        assert "--help" in result.output
