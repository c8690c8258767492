"""``spoor backup`` and ``spoor restore``: a consistent, private copy of a node home and back."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import click

from node.app.home import NodeHome
from node.app.lock import holder_of
from node.cli.common import home_option, load_node
from node.ops.backup import (
    BackupError,
    Manifest,
    create_backup,
    is_encrypted,
    refuse_postgres,
    restore_backup,
)

SUFFIX = ".spoor-backup"


def _passphrase(path: Path | None, prompt: bool) -> str | None:
    if path is not None:
        text = path.read_text(encoding="utf-8").strip()
        if not text:
            raise click.ClickException(f"{path} is empty: put the backup passphrase in it")
        return text
    if prompt:
        value: str = click.prompt("Backup passphrase", hide_input=True, confirmation_prompt=True)
        return value
    return None


def _describe(m: Manifest) -> str:
    return (
        f"agency {m.agency_id}, schema version {m.schema_version}, {m.records} records, "
        f"{m.peers} peers, {m.audit_entries} audit entries"
        + (", encrypted" if m.encrypted else ", not encrypted (mode 0600)")
    )


passphrase_file_option = click.option(
    "--passphrase-file",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    default=None,
    help="File holding the passphrase (e.g. a systemd credential); the backup is encrypted.",
)


@click.command("backup")
@home_option
@click.option(
    "--out",
    "out",
    type=click.Path(path_type=Path),
    required=True,
    help=f"Backup file to write, or a directory for a timestamped <agency>-<time>{SUFFIX}.",
)
@passphrase_file_option
@click.option("--encrypt", is_flag=True, help="Ask for a passphrase and encrypt the backup.")
def backup(home: str | None, out: Path, passphrase_file: Path | None, encrypt: bool) -> None:
    """Write a consistent backup of the node home, safe while the node serves.

    Database (SQLite online backup), configuration, keys, policy and policy
    history in one file of mode 0600; encrypted (AES-256-GCM, scrypt) with a
    passphrase. Keys are in it: keep it as carefully as the home itself.
    """
    try:  # a PostgreSQL home is pg_dump's: refused before its database is opened
        refuse_postgres(NodeHome.resolve(home).db_path, "spoor backup")
    except BackupError as exc:
        raise click.ClickException(str(exc)) from exc
    node_home, config = load_node(home)
    if out.is_dir():
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        out = out / f"{config.agency_id}-{stamp}{SUFFIX}"
    elif not out.parent.is_dir():
        raise click.ClickException(f"{out.parent} does not exist: create it or choose --out")
    try:
        manifest = create_backup(
            node_home.root, config.agency_id, out, passphrase=_passphrase(passphrase_file, encrypt)
        )
    except BackupError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"backup written to {out}: {_describe(manifest)}")


@click.command("restore")
@click.argument("backup_file", type=click.Path(dir_okay=False, path_type=Path))
@home_option
@passphrase_file_option
def restore(backup_file: Path, home: str | None, passphrase_file: Path | None) -> None:
    """Restore BACKUP_FILE into a new, empty node home and verify it.

    The copy is checked before it is kept: schema version, the audit chain,
    and record, peer and audit counts against the backup's manifest. A home
    that exists and is not empty is refused, so a serving home is never
    overwritten; stop the old node before serving the restored one (two
    processes serving one identity would diverge).
    """
    target = NodeHome.resolve(home)
    if holder_of(target.root) is not None:
        raise click.ClickException(f"{target.root} is being served; restore into a new directory")
    passphrase = None
    if backup_file.is_file() and is_encrypted(backup_file):
        passphrase = _passphrase(passphrase_file, prompt=True)
    try:
        manifest = restore_backup(backup_file, target.root, passphrase=passphrase)
    except BackupError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"restored {backup_file} into {target.root}: {_describe(manifest)}")
    click.echo("verified: schema version, audit chain, record/peer/audit counts")
