"""Entry point of the ``spoor`` command.

Each command group lives in its own module under ``node.cli`` and exposes a
click command or group named in ``COMMANDS``.
"""

from __future__ import annotations

import importlib

import click

from node.cli.busy import BusyAwareGroup

# (module, attribute) of every top-level command, in help order.
COMMANDS: tuple[tuple[str, str], ...] = (
    ("node.cli.init_cmd", "init"),
    ("node.cli.pki_cmd", "pki"),
    ("node.cli.peers_cmd", "peers_group"),
    ("node.cli.records_cmd", "records"),
    ("node.cli.policy_cmd", "policy"),
    ("node.cli.serve_cmd", "serve"),
    ("node.cli.match_cmd", "match"),
    ("node.cli.watch_cmd", "watch"),
    ("node.cli.disclose_cmd", "disclose"),
    ("node.cli.approvals_cmd", "approvals"),
    ("node.cli.officers_cmd", "officers_group"),
    ("node.cli.console_cmd", "console"),
    ("node.cli.audit_cmd", "audit"),
    ("node.cli.audit_cmd", "stats"),
    ("node.cli.store_cmd", "store_group"),
    ("node.cli.status_cmd", "status"),
    ("node.cli.doctor_cmd", "doctor"),
    ("node.cli.backup_cmd", "backup"),
    ("node.cli.backup_cmd", "restore"),
)


@click.group(
    cls=BusyAwareGroup,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
)
@click.version_option(package_name="spoor")
def cli() -> None:
    """Spoor: private federated lookups between wildlife-crime agencies."""


def _register() -> None:
    for module_name, attr in COMMANDS:
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name is not None and module_name.startswith(exc.name):
                continue  # command group not installed in this build
            raise
        cli.add_command(getattr(module, attr))


_register()


def main() -> None:
    cli()
