"""``spoor officers``: who may decide disclosure tickets, in which roles."""

from __future__ import annotations

import getpass

import click
from rich.console import Console
from rich.table import Table

from node import officers, store
from node.cli.common import home_option, load_node
from policy.vocab import APPROVAL_ROLES


@click.group("officers")
def officers_group() -> None:
    """The roster of officers who may approve, refuse or reopen disclosure tickets."""


def _actor() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "operator"


@officers_group.command("add")
@home_option
@click.argument("name")
@click.option(
    "--role",
    "roles",
    multiple=True,
    required=True,
    type=click.Choice(APPROVAL_ROLES),
    help="Role the officer holds (repeatable).",
)
def add(home: str | None, name: str, roles: tuple[str, ...]) -> None:
    """Register NAME (or replace their roles) so they can decide tickets."""
    node_home, _ = load_node(home)
    with store.opened(node_home.db_path) as conn, store.transaction(conn):
        try:
            officer = officers.add(conn, name, roles, _actor())
        except officers.RosterError as exc:
            raise click.ClickException(f"{exc}; nothing was changed") from exc
    click.echo(f"{officer.name} may decide tickets as: {', '.join(officer.roles)}")


@officers_group.command("remove")
@home_option
@click.argument("name")
def remove(home: str | None, name: str) -> None:
    """Withdraw NAME's authority (kept on the roster so past decisions still name them)."""
    node_home, _ = load_node(home)
    with store.opened(node_home.db_path) as conn, store.transaction(conn):
        try:
            officers.deactivate(conn, name, _actor())
        except officers.RosterError as exc:
            raise click.ClickException(f"{exc}; nothing was changed") from exc
    click.echo(f"{name} may no longer decide tickets.")


@officers_group.command("list")
@home_option
def list_cmd(home: str | None) -> None:
    """List the roster."""
    node_home, _ = load_node(home)
    with store.opened(node_home.db_path) as conn:
        roster = officers.list_officers(conn)
    if not roster:
        click.echo("No officers yet. Register one with 'spoor officers add NAME --role ROLE'.")
        return
    table = Table("officer", "roles", "active", "since")
    for o in roster:
        table.add_row(o.name, ", ".join(o.roles), "yes" if o.active else "no", o.added_at)
    Console().print(table)
