"""``spoor store``: where the node's database lives, and moving it to PostgreSQL.

``spoor store migrate --to postgresql://...`` copies an SQLite home into an
empty PostgreSQL database in one transaction, checks that the audit trail
verifies there, and then points ``store.url`` in spoor.toml at it. The
SQLite file is left as it was (keep it until the new store has run a while).
"""

from __future__ import annotations

import click

from node import audit, store
from node.app.config import load_config, save_config
from node.cli.common import home_option, load_node
from node.store import location
from node.store.backend import DatabaseError
from node.store.transfer import TargetNotEmpty, move

EXIT_NOT_VERIFIED = 1


@click.group("store")
def store_group() -> None:
    """Where the node database is, and moving it to PostgreSQL."""


@store_group.command("where")
@home_option
def where(home: str | None) -> None:
    """Print the database the node uses (never its password)."""
    node_home, _ = load_node(home)
    found = store.located(node_home.db_path)
    click.echo(f"{found.engine}: {found.describe()}")


@store_group.command("migrate")
@home_option
@click.option("--to", "url", required=True, help="The empty PostgreSQL database: postgresql://...")
@click.option(
    "--no-config",
    is_flag=True,
    help="Leave spoor.toml alone (set SPOOR_STORE_URL yourself).",
)
def migrate(home: str | None, url: str, no_config: bool) -> None:
    """Copy this home's SQLite database into an empty PostgreSQL database and switch to it."""
    node_home, _ = load_node(home)
    try:
        target = location.parse(url, node_home.db_path)
    except location.BadStoreUrl as exc:
        raise click.UsageError(str(exc)) from exc
    if target.engine != "postgresql" or target.url is None:
        raise click.UsageError("--to must be a postgresql:// URL")
    source = store.located(node_home.db_path)
    if source.path is None or not source.path.is_file():
        raise click.ClickException(
            f"This home's store is not an SQLite file ({source.describe()}); nothing was copied."
        )
    try:
        moved = move(source.path, target.url)
    except TargetNotEmpty as exc:
        raise click.ClickException(f"{target.describe()}: {exc}. Nothing was copied.") from exc
    except store.StoreError as exc:
        raise click.ClickException(f"{exc}; nothing was copied.") from exc
    except DatabaseError as exc:
        raise click.ClickException(
            f"{target.describe()}: the copy failed ({exc}); nothing was copied."
        ) from exc
    from node.store import postgres

    conn = postgres.connect(target.url)
    try:
        report = audit.verify(conn)
    finally:
        conn.close()
    click.echo(f"Copied {moved.total} rows from {source.describe()} to {target.describe()}.")
    if not report.ok:
        click.echo(
            f"The audit trail does NOT verify on the target ({len(report.problems)} problems); "
            "spoor.toml was not changed. Run 'spoor audit verify' on the source.",
            err=True,
        )
        raise SystemExit(EXIT_NOT_VERIFIED)
    click.echo(f"Audit trail verified on the target: {report.entry_count} entries.")
    if no_config:
        click.echo("spoor.toml left as it was: set SPOOR_STORE_URL to use the new store.")
        return
    config = load_config(node_home)
    config.store.url = target.url
    save_config(node_home, config)
    click.echo(f"store.url in {node_home.config_path} now names the new store.")
