"""``spoor records export`` and ``spoor records profile``: the analyst's round trip."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from node import store
from node.app.home import NodeHome
from node.records import export as record_export
from node.records.profiles import ProfileError, ProfileStore, load_profile_file
from node.store import records as record_store

_home = click.option(
    "--home",
    type=click.Path(file_okay=False),
    default=None,
    help="Node home directory (default: $SPOOR_HOME or ./spoor-home).",
)
_PAGE = 5000


def _node_home(home: str | None) -> NodeHome:
    node_home = NodeHome.resolve(home)
    if not node_home.exists():
        raise click.ClickException(
            f"{node_home.root} is not a node home (no spoor.toml); nothing was changed. "
            "Give --home of a node made with 'spoor init'."
        )
    return node_home


@click.command("export")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(record_export.FORMATS),
    required=True,
    help="csv (UTF-8 with BOM), xlsx, or i2 (an entities and a links CSV).",
)
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    required=True,
    help="File to write; for i2, NAME.csv gives NAME-entities.csv and NAME-links.csv.",
)
@click.option("--kind", type=click.Choice(("person", "organisation", "shipment")), default=None)
@click.option("--case", "case_reference", default=None, help="Only records of this case.")
@_home
def export_cmd(
    fmt: str, out: Path, kind: str | None, case_reference: str | None, home: str | None
) -> None:
    """Write the stored records for spreadsheets or link analysis, one value per cell.

    Lists (names, phones, documents …) are spread over numbered columns
    (names_1, names_2 …); 'spoor records import' reads the file back. Files
    are mode 0600: they hold record contents.
    """
    node_home = _node_home(home)
    with store.opened(node_home.db_path) as conn:
        rows: list[dict[str, Any]] = []
        offset = 0
        while page := record_store.list_records(conn, kind, _PAGE, offset):
            offset += len(page)
            rows.extend(
                r.to_json()
                for r in page
                if case_reference is None or r.case_reference == case_reference
            )
    result = record_export.export_records(rows, fmt, out)
    written = " and ".join(str(p) for p in result.paths)
    click.echo(f"{result.records} record(s) written to {written} (mode 0600)")


@click.group("profile")
def profile() -> None:
    """Saved import profiles: header names, value maps and combined columns (docs/records.md)."""


@profile.command("save")
@click.argument("name")
@click.option(
    "--map-file",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    required=True,
    help="YAML with columns, values and combine (or a plain header mapping).",
)
@_home
def save_cmd(name: str, map_file: Path, home: str | None) -> None:
    """Check MAP_FILE and save it as profile NAME in the node home."""
    profiles = ProfileStore(_node_home(home).root)
    try:
        loaded = load_profile_file(map_file, name)
        path = profiles.save(name, loaded)
    except ProfileError as exc:
        for problem in exc.problems:
            click.echo(f"{exc.source}: {problem}", err=True)
        raise click.ClickException(
            f"profile {name!r} was not saved; fix the entries above"
        ) from exc
    click.echo(
        f"profile {name} saved to {path}: {len(loaded.columns)} column(s), "
        f"{sum(len(v) for v in loaded.values.values())} value map entries, "
        f"{len(loaded.combine)} combined column(s). Use it with "
        f"'spoor records import FILE --profile {name}'."
    )


@profile.command("list")
@_home
def list_cmd(home: str | None) -> None:
    """Names of the saved profiles."""
    names = ProfileStore(_node_home(home).root).names()
    for name in names:
        click.echo(name)
    if not names:
        click.echo(
            "no profiles saved; save one with 'spoor records profile save NAME --map-file F'"
        )


@profile.command("show")
@click.argument("name")
@_home
def show_cmd(name: str, home: str | None) -> None:
    """Print a saved profile as YAML."""
    import yaml

    try:
        loaded = ProfileStore(_node_home(home).root).load(name)
    except ProfileError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(yaml.safe_dump(loaded.to_yaml_data(), allow_unicode=True, sort_keys=False), nl=False)


@profile.command("remove")
@click.argument("name")
@_home
def remove_cmd(name: str, home: str | None) -> None:
    """Delete a saved profile."""
    try:
        found = ProfileStore(_node_home(home).root).remove(name)
    except ProfileError as exc:
        raise click.ClickException(str(exc)) from exc
    if not found:
        raise click.ClickException(f"no profile {name!r}; nothing was removed")
    click.echo(f"profile {name} removed")
