"""``spoor status``: the node's state at a glance, read without changing anything.

Exit codes (docs/operators.md, "Monitoring"): 0 all ok, 1 warnings, 2 errors.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence

import click
from rich.console import Console
from rich.table import Table

from node.app import logs
from node.app.home import NodeHome
from node.cli.common import home_option
from node.ops import checks
from node.ops.checks import EXIT_CODES, Finding

_STYLE = {"ok": "green", "warning": "yellow", "error": "bold red"}


def report(findings: Sequence[Finding], as_json: bool) -> None:
    """Print the findings (a table, or one JSON document) and exit with the worst level's code."""
    level = checks.worst(findings)
    if as_json:
        doc = {
            "status": level,
            "exit_code": EXIT_CODES[level],
            "findings": [f.__dict__ for f in findings],
        }
        click.echo(json.dumps(doc, indent=2, sort_keys=True, default=str))
    else:
        table = Table(show_header=True, header_style="bold")
        for column in ("area", "check", "level", "detail"):
            table.add_column(column)
        for f in findings:
            table.add_row(f.area, f.name, f"[{_STYLE[f.level]}]{f.level}[/]", f.detail)
        Console(width=140, soft_wrap=True).print(table)
        click.echo(f"overall: {level}")
    sys.exit(EXIT_CODES[level])


def local_findings(home: NodeHome) -> list[Finding]:
    """Every check that reads only this machine: config, process, certificates, policy, store."""
    config, found = checks.check_config(home)
    if config is None:
        return found
    found += checks.check_serving(home, config)
    found += checks.check_certificates(home)
    found += checks.check_store(home)
    found += checks.check_policy(home, config)
    return found


@click.command("status")
@home_option
@click.option("--json", "as_json", is_flag=True, help="One JSON document instead of a table.")
def status(home: str | None, as_json: bool) -> None:
    """Configuration, serving state (lock, /readyz), certificates, store and policy.

    Reads only this machine and changes nothing (an older store is reported,
    not upgraded). Exit 0 all ok, 1 warnings, 2 errors. 'spoor doctor' adds
    CRLs, disk space and each peer's reachability.
    """
    logs.configure(level="warning", json=False)  # stdout carries only the report
    report(local_findings(NodeHome.resolve(home)), as_json)
