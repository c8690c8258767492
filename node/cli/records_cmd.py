"""``spoor records``: import, list, show, delete and purge the agency's records."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import click
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn
from rich.table import Table

from node import store
from node.app.home import NodeHome
from node.cli.ids import resolve_id, table_console, wide_option
from node.cli.render import cells
from node.records.importer import ImportRefusedError, estimate_rows, import_file
from node.records.io import FORMATS, UnreadableFileError
from node.records.keys import derive_keys
from node.records.profiles import Profile, ProfileError, ProfileStore
from node.store import Connection
from node.store import records as record_store

#: Warnings about identifiers that will not be keyed shown after an import (errors: all).
_SHOWN_WARNINGS = 20


@contextmanager
def _opened(home: str | None) -> Iterator[Connection]:
    node_home = NodeHome.resolve(home)
    if not node_home.exists():
        raise click.ClickException(
            f"{node_home.root} is not a node home (no spoor.toml); nothing was changed. "
            "Give --home of a node made with 'spoor init'."
        )
    try:
        with store.opened(node_home.db_path) as conn:
            yield conn
    except store.StoreError as exc:
        raise click.ClickException(str(exc)) from exc


def _agency_country(home: str | None) -> str | None:
    """The node's country (alpha-2): the default region for local phone numbers."""
    from node.app.config import ConfigError, load_config

    try:
        return load_config(NodeHome.resolve(home)).country
    except ConfigError:
        return None


def _audit(conn: Connection, event: str, **fields: Any) -> None:
    from node import audit

    audit.append(conn, event, **fields)


def _mapping(pairs: tuple[str, ...], map_file: str | None) -> dict[str, str]:
    out: dict[str, str] = {}
    if map_file:
        import yaml

        try:
            data = yaml.safe_load(Path(map_file).read_text(encoding="utf-8"))
        except (OSError, yaml.YAMLError) as exc:
            raise click.BadParameter(f"cannot read the mapping file: {exc}") from exc
        if not isinstance(data, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in data.items()
        ):
            raise click.BadParameter(
                "the mapping file must map each file header to a field, e.g. 'Nome: names'"
            )
        out.update(data)
    for pair in pairs:
        src, sep, dst = pair.partition("=")
        if not sep or not src.strip() or not dst.strip():
            raise click.BadParameter(f"{pair!r}: write SOURCE=FIELD, e.g. 'Passaporte=documents'")
        out[src.strip()] = dst.strip()
    return out


def _profile(home: str | None, name: str | None) -> Profile:
    if name is None:
        return Profile()
    try:
        return ProfileStore(NodeHome.resolve(home).root).load(name)
    except ProfileError as exc:
        raise click.BadParameter(str(exc), param_hint="--profile") from exc


@click.group("records")
def records() -> None:
    """Import, export and manage the agency's records (persons, organisations, shipments)."""


_home = click.option(
    "--home",
    type=click.Path(file_okay=False),
    default=None,
    help="Node home directory (default: $SPOOR_HOME or ./spoor-home).",
)


@records.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--format",
    "fmt",
    type=click.Choice(FORMATS),
    default=None,
    help="File format (default: from the file extension).",
)
@click.option(
    "--map",
    "maps",
    multiple=True,
    metavar="SRC=FIELD",
    help="Read column SRC as record field FIELD (repeatable).",
)
@click.option(
    "--map-file",
    type=click.Path(dir_okay=False, exists=True),
    default=None,
    help="YAML file mapping file headers to record fields.",
)
@click.option(
    "--profile",
    "profile_name",
    default=None,
    help="Saved import profile (see 'spoor records profile'): columns, value maps, "
    "combined columns.",
)
@click.option(
    "--skip-invalid",
    is_flag=True,
    help="Import the valid rows and refuse the others (default: all or nothing).",
)
@click.option(
    "--rejects",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="With --skip-invalid: write refused rows and reasons here (CSV or .jsonl).",
)
@click.option(
    "--workers",
    type=click.IntRange(0, 64),
    default=None,
    help="Worker processes validating rows; 0 = none (default: one per core for files "
    "over 4 MB, none for smaller ones).",
)
@_home
def import_cmd(
    file: Path,
    fmt: str | None,
    maps: tuple[str, ...],
    map_file: str | None,
    profile_name: str | None,
    skip_invalid: bool,
    rejects: Path | None,
    workers: int | None,
    home: str | None,
) -> None:
    """Validate FILE (CSV, JSON Lines or XLSX) and store its records with their match keys.

    One invalid row imports nothing unless --skip-invalid is given. Re-importing
    the same file changes nothing: records are replaced by record_id only when
    their content changed.
    """
    if rejects is not None and not skip_invalid:
        raise click.UsageError(
            "--rejects needs --skip-invalid (without it nothing is refused "
            "selectively: one bad row imports nothing)"
        )
    shape = _profile(home, profile_name).with_columns(_mapping(maps, map_file))
    total = estimate_rows(file) if file.is_file() else 0
    show_bar = total > 20_000
    bar = Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        transient=True,
        disable=not show_bar,
    )
    try:
        with _opened(home) as conn, bar:
            task = bar.add_task("importing", total=total or None)
            report = import_file(
                conn,
                file,
                fmt,
                shape,
                skip_invalid=skip_invalid,
                rejects=rejects,
                workers=workers,
                progress=lambda n: bar.advance(task, n),
                default_region=_agency_country(home),
            )
    except UnreadableFileError as exc:
        for e in exc.errors:
            click.echo(str(e), err=True)
        raise click.ClickException("the file could not be read; nothing was imported") from exc
    except ImportRefusedError as exc:
        r = exc.report
        # Every error of every row, one line each, so the sheet is fixed in one pass.
        for e in r.errors:
            click.echo(str(e), err=True)
        if r.error_count > len(r.errors):
            click.echo(
                f"... and {r.error_count - len(r.errors)} more: write them all with "
                "--skip-invalid --rejects FILE",
                err=True,
            )
        if r.header_errors:
            raise click.ClickException(
                f"{r.header_errors} column(s) of the header cannot be read and {r.refused} of "
                f"{r.rows} rows are invalid; nothing was imported and the node's records are "
                "unchanged. Rename or map the columns (--map, --profile), fix the rows above "
                "and import again."
            ) from exc
        raise click.ClickException(
            f"{r.refused} of {r.rows} rows are invalid; nothing was imported and the node's "
            "records are unchanged. Fix the rows above, or use --skip-invalid --rejects FILE "
            "to import the valid rows only."
        ) from exc
    c = report.counts
    click.echo(
        f"{file}: {report.rows} rows — {c.inserted} new, {c.updated} updated, "
        f"{c.unchanged} unchanged, {report.refused} refused; {c.keys} match keys written"
    )
    for p in report.problems[:_SHOWN_WARNINGS]:
        click.echo(f"warning: {p}", err=True)
    if report.problem_count:
        click.echo(
            f"{report.problem_count} identifier(s) failed validation and were not keyed "
            "(the records were stored; correct the identifiers and import again)",
            err=True,
        )
    if report.refused and report.rejects:
        click.echo(f"refused rows and reasons written to {report.rejects}")
    elif report.refused:
        for e in report.errors:
            click.echo(f"refused: {e}", err=True)


@records.command("list")
@click.option("--kind", type=click.Choice(("person", "organisation", "shipment")), default=None)
@click.option("--limit", type=click.IntRange(1, 100_000), default=50, show_default=True)
@click.option("--offset", type=click.IntRange(0), default=0)
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line.")
@wide_option
@_home
def list_cmd(
    kind: str | None, limit: int, offset: int, as_json: bool, wide: bool, home: str | None
) -> None:
    """List stored records (id, kind, label, case reference, review date)."""
    with _opened(home) as conn:
        total = record_store.count(conn, kind)
        page = record_store.list_records(conn, kind, limit, offset)
    if as_json:
        for r in page:
            click.echo(json.dumps(r.to_json(), ensure_ascii=False))
        return
    table = Table(title=f"{len(page)} of {total} records")
    table.add_column("record id", no_wrap=wide, overflow="fold")
    for col in ("kind", "label", "case reference", "review date"):
        table.add_column(col, no_wrap=wide)
    for r in page:
        label = (r.names[0] if r.names else r.org_name) or ", ".join(r.containers or r.air_waybills)
        table.add_row(
            *cells(r.record_id, r.kind, label or "", r.case_reference or "", r.review_date)
        )
    table_console(wide).print(table)


@records.command("show")
@click.argument("record_id")
@_home
def show_cmd(record_id: str, home: str | None) -> None:
    """Show one record, its match keys and identifiers not keyed (RECORD_ID may be a prefix)."""
    with _opened(home) as conn:
        record = record_store.get(conn, resolve_id(conn, "record", record_id))
    if record is None:
        raise click.ClickException(
            f"no record {record_id!r} on this node; see 'spoor records list'"
        )
    click.echo(json.dumps(record.to_json(), ensure_ascii=False, indent=2))
    derivation = derive_keys(record)
    click.echo("match keys:")
    for k in derivation.keys:
        note = "" if k.matchable else "  (low entropy: never matched alone)"
        click.echo(f"  {k.value}{note}")
    for p in derivation.problems:
        click.echo(f"not keyed: {p}")


@records.command("delete")
@click.argument("record_id")
@_home
def delete_cmd(record_id: str, home: str | None) -> None:
    """Delete one record and its match keys (RECORD_ID may be the start of one id)."""
    with _opened(home) as conn:
        record_id = resolve_id(conn, "record", record_id)
        with store.transaction(conn):
            found = record_store.delete(conn, record_id)
            if found:
                _audit(conn, "records.deleted", details={"records": 1})
    if not found:
        raise click.ClickException(f"no record {record_id!r} on this node; nothing was deleted")
    click.echo(f"deleted {record_id} and its match keys")


@records.command("purge-expired")
@click.option(
    "--today",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    default=None,
    help="Purge records whose review date is before this day (default: today).",
)
@_home
def purge_cmd(today: dt.datetime | None, home: str | None) -> None:
    """Delete every record past its review/retention date."""
    day = today.date() if today else dt.date.today()
    with _opened(home) as conn, store.transaction(conn):
        n = record_store.purge_expired(conn, day)
        if n:
            _audit(conn, "records.purged", details={"records": n})
    click.echo(f"purged {n} record(s) with a review date before {day.isoformat()}")


@records.command("quality")
@click.argument(
    "labeled", type=click.Path(dir_okay=False, exists=True, path_type=Path), required=False
)
def quality_cmd(labeled: Path | None) -> None:
    """Recall and false matches of the key scheme on a labeled set of record pairs.

    LABELED is a JSON Lines file of pairs (default: the project's set in
    tests/records/data/labeled_pairs.jsonl). Keys are compared the way a
    two-node match compares them: every 'a' record against all 'b' records.
    """
    path = labeled or _DEFAULT_LABELED
    if not path.is_file():
        raise click.ClickException(f"{path}: no labeled set there; give the file as an argument")
    try:
        # The scorer lives beside the labeled set in a checkout, outside the wheel:
        # every other records command works from an installed node without it.
        from spoor_dev.quality import evaluate
    except ModuleNotFoundError:
        raise click.ClickException(
            "the quality scorer is part of a Spoor checkout (spoor_dev); run it from one"
        ) from None
    report = evaluate(path)
    click.echo(report.table())
    if report.recall < QUALITY_RECALL_BAR or report.false_matches:
        raise click.ClickException(
            f"below the bar: recall must be at least {QUALITY_RECALL_BAR:.0%} with no false match"
        )


QUALITY_RECALL_BAR = 0.95
_DEFAULT_LABELED = (
    Path(__file__).resolve().parents[2] / "tests" / "records" / "data" / "labeled_pairs.jsonl"
)


def _add_round_trip_commands() -> None:
    from node.cli.records_io_cmd import export_cmd, profile

    records.add_command(export_cmd)
    records.add_command(profile)


_add_round_trip_commands()
