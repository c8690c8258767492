"""``spoor officers``: who may decide disclosure tickets, in which roles."""

from __future__ import annotations

import getpass
from pathlib import Path

import click
from rich.console import Console
from rich.table import Table

from node import officers, store
from node.cli.common import home_option, load_node
from node.cli.credentials_input import new_password
from node.officers import credentials
from node.officers.qr import qr_text, write_qr_svg
from policy.vocab import APPROVAL_ROLES


@click.group("officers")
def officers_group() -> None:
    """The roster of officers who may approve, refuse or reopen disclosure tickets."""


def _actor() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "operator"


def _show_enrolment(enrolment: credentials.Enrolment, qr_svg: Path | None) -> None:
    uri = enrolment.provisioning_uri
    click.echo(
        f"{enrolment.name} enrolled as {enrolment.officer_id}. Scan this QR code with their "
        "authenticator app now (or type the secret); it is shown only once:"
    )
    click.echo(qr_text(uri), nl=False)
    click.echo(f"  TOTP secret: {enrolment.totp_secret}")
    click.echo(f"  provisioning URI: {uri}")
    if qr_svg is not None:
        write_qr_svg(uri, qr_svg)
        click.echo(f"  QR code written to {qr_svg} (readable by you only; delete it once scanned)")


QR_SVG = click.option(
    "--qr-svg",
    type=click.Path(dir_okay=False, writable=True, path_type=Path),
    default=None,
    help="Also write the QR code as an SVG image to this file (mode 0600).",
)


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
@click.option(
    "--password-stdin",
    is_flag=True,
    help="Read the officer's new password from standard input (else SPOOR_OFFICER_PASSWORD "
    "or a prompt).",
)
@QR_SVG
def add(
    home: str | None,
    name: str,
    roles: tuple[str, ...],
    password_stdin: bool,
    qr_svg: Path | None,
) -> None:
    """Register NAME (or replace their roles) and enrol their password and TOTP factor.

    A new officer chooses a password and receives a TOTP secret, shown once as
    a QR code to scan and as text.
    An officer already enrolled keeps their credentials (use 'reset' to replace them).
    """
    node_home, _ = load_node(home)
    with store.opened(node_home.db_path) as conn:
        enrolled = credentials.is_enrolled(conn, name.strip())
        password = None if enrolled else new_password(password_stdin)
        with store.transaction(conn):
            try:
                officer = officers.add(conn, name, roles, _actor())
                enrolment = (
                    None
                    if password is None
                    else credentials.enrol(conn, officer.name, password, _actor())
                )
            except (officers.RosterError, credentials.CredentialError) as exc:
                message = str(exc)
                if "nothing was changed" not in message:
                    message += "; nothing was changed"
                raise click.ClickException(message) from exc
    click.echo(f"{officer.name} may decide tickets as: {', '.join(officer.roles)}")
    if enrolment is not None:
        _show_enrolment(enrolment, qr_svg)


@officers_group.command("reset")
@home_option
@click.argument("name")
@click.option("--password-stdin", is_flag=True, help="Read the new password from standard input.")
@QR_SVG
def reset(home: str | None, name: str, password_stdin: bool, qr_svg: Path | None) -> None:
    """Give NAME a new password and a new TOTP secret, and lift any lockout (audited).

    Their console sessions end; the new secret is shown once, as a QR code and as text.
    """
    node_home, _ = load_node(home)
    password = new_password(password_stdin)
    with store.opened(node_home.db_path) as conn, store.transaction(conn):
        try:
            enrolment = credentials.enrol(conn, name.strip(), password, _actor())
        except credentials.CredentialError as exc:
            raise click.ClickException(str(exc)) from exc
    _show_enrolment(enrolment, qr_svg)


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
        ids = {o.name: credentials.officer_id_of(conn, o.name) for o in roster}
    if not roster:
        click.echo("No officers yet. Register one with 'spoor officers add NAME --role ROLE'.")
        return
    table = Table("officer", "id", "roles", "active", "since")
    for o in roster:
        table.add_row(
            o.name,
            ids.get(o.name) or "not enrolled",
            ", ".join(o.roles),
            "yes" if o.active else "no",
            o.added_at,
        )
    Console().print(table)
