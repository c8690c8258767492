"""``spoor audit`` (verify, export, checkpoint, purge) and ``spoor stats``.

These are the oversight commands: a data-protection officer verifies the
trail, takes signed checkpoints away, exports entries for an inspection,
enforces retention and reads cooperation figures.
"""

from __future__ import annotations

import getpass
import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

import click
from rich.console import Console
from rich.table import Table

from node import audit as trail
from node import store
from node.app.config import ConfigError, load_config
from node.app.home import NodeHome
from node.audit.keys import legacy_key_in_use, legacy_warning
from node.cli.audit_witness_heads import ask_peers, witnessed_heads
from node.store import StoreError, opened
from node.store.backend import Connection

home_option = click.option(
    "--home",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Node home directory (default: $SPOOR_HOME, else ./spoor-home).",
)
MAX_PROBLEMS_SHOWN = 20


def _actor() -> str:
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):
        return "cli"


@contextmanager
def _store(home: NodeHome) -> Iterator[Connection]:
    if not store.exists(home.db_path):
        raise click.ClickException(
            f"No node database at {home.db_path}.\n  Nothing was read or changed.\n"
            "  Pass --home (or set $SPOOR_HOME) to an existing node home, or run 'spoor init'."
        )
    try:
        with opened(home.db_path) as conn:
            yield conn
    except StoreError as exc:
        raise click.ClickException(f"{exc}\n  Nothing was changed.") from exc


def _parse_moment(value: str | None, option: str, *, end: bool) -> datetime | None:
    """YYYY-MM-DD (a whole day; --until includes that day) or an ISO 8601 time (UTC if naive)."""
    if value is None:
        return None
    try:
        if len(value) == 10:
            day = date.fromisoformat(value)
            moment = datetime.combine(day, time(0), tzinfo=UTC)
            return moment + timedelta(days=1) if end else moment
        parsed = datetime.fromisoformat(value)
    except ValueError as exc:
        raise click.BadParameter(
            f"{value!r} is not a date (YYYY-MM-DD) or ISO 8601 time", param_hint=option
        ) from exc
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _period(since: str | None, until: str | None) -> tuple[datetime | None, datetime | None]:
    start = _parse_moment(since, "--since", end=False)
    stop = _parse_moment(until, "--until", end=True)
    if start is not None and stop is not None and stop <= start:
        raise click.BadParameter("--until must be after --since", param_hint="--until")
    return start, stop


@click.group("audit")
def audit() -> None:
    """Verify, checkpoint, export, reconcile and purge the tamper-evident audit trail."""


@audit.command("verify")
@click.option(
    "--checkpoint",
    "checkpoint_file",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    help="A checkpoint kept outside the node ('spoor audit checkpoint'); detects a cut-off tail.",
)
@click.option(
    "--export",
    "export_file",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    help="Check an export file ('spoor audit export') on its own instead of the node database.",
)
@click.option(
    "--ask-witnesses",
    is_flag=True,
    help="Also ask every peer for the newest head of this trail it witnessed (needs the network).",
)
@click.option("--insecure", is_flag=True, hidden=True, help="Plaintext to peers (debugging).")
@home_option
def verify_cmd(
    checkpoint_file: Path | None,
    export_file: Path | None,
    ask_witnesses: bool,
    insecure: bool,
    home: Path | None,
) -> None:
    """Check every entry, commitment, checkpoint and witnessed head; exit 1 at the first bad one."""
    if export_file is not None:
        _verify_export_file(export_file)
        return
    node_home = NodeHome.resolve(home)
    external = None
    if checkpoint_file is not None:
        try:
            external = trail.load_checkpoint_file(checkpoint_file)
        except trail.CheckpointError as exc:
            raise click.ClickException(
                f"{exc}\n  Nothing was checked.\n"
                "  Pass the JSON printed by 'spoor audit checkpoint'."
            ) from exc
    try:
        node_key = trail.node_public_key(node_home)
    except (trail.CheckpointError, PermissionError) as exc:
        # An auditor may read the database without access to the node's private key.
        click.echo(
            f"warning: cannot read the node's audit key ({exc}); checkpoints are checked "
            "against their own public keys only",
            err=True,
        )
        node_key = None
    try:
        config = load_config(node_home)
    except ConfigError:
        config = None
    with _store(node_home) as conn:
        heads = witnessed_heads(conn, config.agency_id if config else None)
        if ask_witnesses:
            if config is None:
                raise click.ClickException("--ask-witnesses needs the node's spoor.toml")
            heads.extend(ask_peers(conn, node_home, config, insecure=insecure))
        report = trail.verify(
            conn,
            external=external,
            node_public_key=node_key,
            witnessed=heads,
            retention_days=config.audit.retention_days if config else None,
        )
    if legacy_key_in_use(node_home):
        click.echo(f"warning: {legacy_warning(node_home)}", err=True)
    for warning in report.warnings:
        click.echo(f"warning: {warning}", err=True)
    if report.ok:
        click.echo(report.summary())
        return
    first = report.first_problem
    click.echo(f"audit trail BROKEN: first bad entry: {first}", err=True)
    ordered = sorted(report.problems, key=lambda p: (p.seq is None, p.seq or 0))
    for problem in ordered[:MAX_PROBLEMS_SHOWN]:
        click.echo(f"  - {problem}", err=True)
    if len(ordered) > MAX_PROBLEMS_SHOWN:
        click.echo(f"  ... and {len(ordered) - MAX_PROBLEMS_SHOWN} more", err=True)
    click.echo(
        f"{len(report.problems)} problem(s) in {report.entry_count} entries. Nothing was changed; "
        "keep a copy of node.db as evidence and compare it with the last exported checkpoint.",
        err=True,
    )
    raise SystemExit(1)


def _verify_export_file(path: Path) -> None:
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise click.ClickException(f"{path}: cannot read the export: {exc}") from exc
    problems = trail.verify_export(lines)
    if not problems:
        entries = sum(1 for line in lines if line.strip() and json.loads(line)["type"] == "entry")
        click.echo(f"export OK: {entries} entries and the closing checkpoint verified ({path})")
        return
    ordered = sorted(problems, key=lambda p: (p.seq is None, p.seq or 0))
    click.echo(f"export BROKEN: first bad entry: {ordered[0]}", err=True)
    for problem in ordered[:MAX_PROBLEMS_SHOWN]:
        click.echo(f"  - {problem}", err=True)
    raise SystemExit(1)


@audit.command("export")
@click.option("--since", help="Start of the period (YYYY-MM-DD or ISO 8601, UTC).")
@click.option("--until", help="End of the period; a date includes that whole day.")
@click.option("--counterpart", help="Only entries concerning this counterpart agency id.")
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Output file (default: exports/audit-<time>.jsonl in the node home).",
)
@home_option
def export_cmd(
    since: str | None,
    until: str | None,
    counterpart: str | None,
    out: Path | None,
    home: Path | None,
) -> None:
    """Write entries as JSON Lines with hashes, salts and a signed checkpoint (mode 0600)."""
    start, stop = _period(since, until)
    node_home = NodeHome.resolve(home)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    target = out or node_home.exports_dir / f"audit-{stamp}.jsonl"
    with _store(node_home) as conn:
        try:
            summary = trail.export_jsonl(
                conn,
                node_home,
                target,
                since=start,
                until=stop,
                counterpart=counterpart,
                actor=_actor(),
            )
        except trail.AuditError as exc:
            raise click.ClickException(f"{exc}\n  The audit trail was not changed.") from exc
    click.echo(
        f"exported {summary.entries} entries to {summary.path} "
        f"(checkpoint: {summary.checkpoint.entry_count} entries, "
        f"head {summary.checkpoint.head_hash[:16]}…). The file holds personal content: "
        "hand it only to the oversight body."
    )


@audit.command("checkpoint")
@home_option
def checkpoint_cmd(home: Path | None) -> None:
    """Sign the current head and print the checkpoint JSON to hand to an auditor."""
    node_home = NodeHome.resolve(home)
    with _store(node_home) as conn:
        try:
            checkpoint = trail.write_checkpoint(conn, node_home)
        except trail.AuditError as exc:
            raise click.ClickException(f"{exc}\n  No checkpoint was written.") from exc
    click.echo(checkpoint.to_json())


@audit.command("reconcile")
@click.argument("ours", type=click.Path(dir_okay=False, exists=True, path_type=Path))
@click.argument("theirs", type=click.Path(dir_okay=False, exists=True, path_type=Path))
def reconcile_cmd(ours: Path, theirs: Path) -> None:
    """Pair two agencies' exports request by request; exit 1 on any gap or disagreement."""
    try:
        report = trail.reconcile(
            ours.read_text(encoding="utf-8").splitlines(),
            theirs.read_text(encoding="utf-8").splitlines(),
        )
    except (OSError, UnicodeDecodeError, KeyError, TypeError, ValueError) as exc:
        raise click.ClickException(
            f"cannot read the exports: {exc}\n  Nothing was changed.\n"
            "  Pass two files written by 'spoor audit export'."
        ) from exc
    click.echo(
        f"{len(report.paired)} exchanges paired between {report.ours or '?'} and "
        f"{report.theirs or '?'}"
    )
    findings = [
        *report.export_problems,
        *(f"only in ours: entry {s.seq} ({s.event})" for s in report.only_ours),
        *(f"only in theirs: entry {s.seq} ({s.event})" for s in report.only_theirs),
        *report.disagreements,
    ]
    for finding in findings[:MAX_PROBLEMS_SHOWN]:
        click.echo(f"  - {finding}", err=True)
    if len(findings) > MAX_PROBLEMS_SHOWN:
        click.echo(f"  ... and {len(findings) - MAX_PROBLEMS_SHOWN} more", err=True)
    if findings:
        click.echo(
            f"{len(findings)} finding(s). Exports cut to different periods or counterparts "
            "leave entries unpaired; export the same period from both nodes and compare again.",
            err=True,
        )
        raise SystemExit(1)


def _retention_days(home: NodeHome) -> int:
    try:
        return load_config(home).audit.retention_days
    except ConfigError as exc:
        if not home.config_path.exists():
            return trail.DEFAULT_RETENTION_DAYS
        raise click.ClickException(f"{exc}\n  Nothing was purged.") from exc


@audit.command("purge")
@click.option(
    "--older-than",
    "older_than",
    type=click.IntRange(min=1),
    help="Retention in days (default: [audit] retention_days in spoor.toml, else 1095).",
)
@home_option
def purge_cmd(older_than: int | None, home: Path | None) -> None:
    """Delete personal content (officers, justifications, case references) past retention."""
    node_home = NodeHome.resolve(home)
    days = older_than if older_than is not None else _retention_days(node_home)
    with _store(node_home) as conn:
        try:
            report = trail.purge_personal(conn, retention_days=days, actor=_actor())
        except trail.AuditError as exc:
            raise click.ClickException(str(exc)) from exc
    click.echo(
        f"purged {report.values} personal values from {report.entries} entries older than "
        f"{report.cutoff} ({days} days); the chain still verifies and the purge is logged "
        f"as entry {report.entry.seq}."
    )


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    minutes = round(seconds / 60)
    if minutes < 60:
        return f"{minutes}m"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"{hours}h{minutes:02d}m"
    return f"{hours / 24:.1f}d"


def _outcomes(released: int, denied: int, pending: int) -> str:
    return f"{released}/{denied}/{pending}"


def _stats_table(report: trail.StatsReport) -> Table:
    period = f"{report.since or 'start'} to {report.until or 'now'}"
    table = Table(title=f"Cooperation figures, {period}", title_justify="left")
    headings = (
        "matches\nsent",
        "elements\nsent",
        "hits",
        "matches\nserved",
        "elements\nreceived",
        "matches\nrefused",
        "disclosures\nasked",
        "their answers\nr/d/p",
        "disclosures\nreceived",
        "our answers\nr/d/p",
        "overdue\ntickets",
        "median\ndecision",
        "p90\ndecision",
    )
    table.add_column("counterpart", no_wrap=True)
    for heading in headings:
        widest = max(len(word) for word in heading.split())
        table.add_column(heading, justify="right", min_width=widest)
    last = report.counterparts[-1] if report.counterparts else None
    for row in [*report.counterparts, report.total]:
        table.add_row(
            row.counterpart,
            str(row.requests_sent),
            str(row.elements_sent),
            str(row.hits),
            str(row.requests_received),
            str(row.elements_received),
            str(row.requests_refused),
            str(row.disclosures_requested),
            _outcomes(row.requested_released, row.requested_denied, row.requested_pending),
            str(row.disclosures_received),
            _outcomes(row.released, row.denied, row.pending),
            str(row.overdue),
            _duration(row.median_decision_seconds),
            _duration(row.p90_decision_seconds),
            end_section=row is last,
        )
    table.caption = (
        "r/d/p: items released / denied / pending. Overdue tickets from the "
        f"{report.overdue_source}."
    )
    return table


@click.command("stats")
@click.option("--since", help="Start of the period (YYYY-MM-DD or ISO 8601, UTC).")
@click.option("--until", help="End of the period; a date includes that whole day.")
@click.option("--counterpart", help="Only this counterpart agency id.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
@home_option
def stats(
    since: str | None,
    until: str | None,
    counterpart: str | None,
    as_json: bool,
    home: Path | None,
) -> None:
    """Cooperation figures per counterpart: requests, hits, disclosures, decision times."""
    start, stop = _period(since, until)
    node_home = NodeHome.resolve(home)
    with _store(node_home) as conn:
        report = trail.compute_stats(conn, since=start, until=stop, counterpart=counterpart)
    if as_json:
        click.echo(json.dumps(report.to_dict(), indent=2, sort_keys=True))
        return
    console = Console()
    # Fourteen columns need room; a pipe or narrow terminal still gets the whole table.
    Console(width=max(console.width, 160)).print(_stats_table(report))


def _register() -> None:
    from node.cli.audit_key_cmd import key
    from node.cli.audit_witness_cmd import witness_cmd, witnesses_cmd

    audit.add_command(key)
    audit.add_command(witnesses_cmd)
    audit.add_command(witness_cmd)


_register()
