"""``spoor audit key``: where the checkpoint signing key is, and its explicit lifecycle.

Nothing here happens silently: a rotation, a declared loss and a move are
each either an audit entry (rotate, lost) or a printed change (move), and a
missing key is never replaced without ``spoor audit key lost``.
"""

from __future__ import annotations

import getpass
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import click

from node import audit as trail
from node import store
from node.app.home import NodeHome
from node.audit import keys

home_option = click.option(
    "--home",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Node home directory (default: $SPOOR_HOME, else ./spoor-home).",
)


def _actor() -> str:
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):
        return "cli"


@contextmanager
def _opened(home: NodeHome) -> Iterator[store.Connection]:
    if not store.exists(home.db_path):
        raise click.ClickException(
            f"No node database at {home.db_path}.\n  Nothing was read or changed.\n"
            "  Pass --home (or set $SPOOR_HOME) to an existing node home."
        )
    with store.opened(home.db_path) as conn:
        yield conn


@click.group("key")
def key() -> None:
    """Show, rotate, move or declare lost the checkpoint signing key."""


@key.command("show")
@home_option
def show_cmd(home: Path | None) -> None:
    """Where the key is, its public key, and the key history the trail records."""
    node_home = NodeHome.resolve(home)
    with _opened(node_home) as conn:
        try:
            signer = keys.load_signer(node_home)
        except trail.AuditError as exc:
            raise click.ClickException(str(exc)) from exc
        click.echo(f"location: {signer.describe() if signer else keys.key_location(node_home)}")
        click.echo(f"public key: {signer.public_key_hex() if signer else 'MISSING'}")
        steps = keys.keys_in_force(conn, signer.public_key_hex() if signer else None)
        for first, public in steps:
            click.echo(f"  from entry {first}: {public}")
        if steps and signer is not None and steps[-1][1] != signer.public_key_hex():
            click.echo("warning: the key held is not the key in force", err=True)
        if keys.legacy_key_in_use(node_home):
            click.echo(f"warning: {keys.legacy_warning(node_home)}", err=True)


@key.command("rotate")
@home_option
def rotate_cmd(home: Path | None) -> None:
    """Replace the key by a new one that the old key endorses (audited), then checkpoint."""
    node_home = NodeHome.resolve(home)
    with _opened(node_home) as conn:
        try:
            with store.transaction(conn):
                old, new = keys.rotate_key(conn, node_home, actor=_actor())
            checkpoint = trail.write_checkpoint(conn, node_home)
        except trail.AuditError as exc:
            raise click.ClickException(f"{exc}\n  The key was not rotated.") from exc
    click.echo(f"rotated the audit signing key: {old[:16]}… -> {new[:16]}…")
    click.echo(
        f"checkpoint of {checkpoint.entry_count} entries signed with the new key. Give the new "
        "public key to whoever holds your checkpoints."
    )


@key.command("lost")
@click.option("--reason", required=True, help="Why the key is lost (kept in the audit trail).")
@home_option
def lost_cmd(reason: str, home: Path | None) -> None:
    """Record that the key is lost and put a new one in force (audited, unendorsed)."""
    node_home = NodeHome.resolve(home)
    with _opened(node_home) as conn:
        try:
            with store.transaction(conn):
                new = keys.declare_key_lost(conn, node_home, actor=_actor(), reason=reason)
            checkpoint = trail.write_checkpoint(conn, node_home)
        except trail.AuditError as exc:
            raise click.ClickException(f"{exc}\n  Nothing was changed.") from exc
    click.echo(
        f"recorded the loss of the audit signing key; new key {new[:16]}… in force from entry "
        f"{checkpoint.entry_count}. Older checkpoints stay verifiable by the lost key's public "
        "key; tell your witnesses and auditors."
    )


@key.command("move")
@home_option
def move_cmd(home: Path | None) -> None:
    """Move a key kept in keys/ beside the database to its own directory outside the home."""
    node_home = NodeHome.resolve(home)
    try:
        target = keys.move_legacy_key(node_home)
    except trail.AuditError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(
        f"moved the audit signing key to {target} (directory 0700, file 0600). Back it up "
        "apart from node.db."
    )
