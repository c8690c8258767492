"""``spoor watch``: standing watchlists, re-matched by the running node on their schedule."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import click
from rich.table import Table

from node import bounds, peers, store
from node.app import logs
from node.app.config import NodeConfig
from node.app.home import NodeHome
from node.cli.common import home_option, load_node
from node.cli.ids import resolve_id, table_console, wide_option
from node.cli.match_cmd import _legal_bases
from node.cli.records_cmd import _mapping as header_mapping
from node.cli.render import MAX_CELL, cells
from node.errors import InvalidRequest
from node.match.requester import QueryFileInvalid
from node.rpc.channels import peer_match_channels
from node.store import Connection
from node.store import watchlists as watch_store
from node.watch import runner
from node.watch.schedule import show_every


@click.group("watch")
def watch() -> None:
    """Standing watchlists: rows re-matched on a schedule, new hits reported once."""


@contextmanager
def _opened(home: str | None) -> Iterator[tuple[NodeHome, NodeConfig, Connection]]:
    node_home, config = load_node(home)
    with store.opened(node_home.db_path) as conn:
        yield node_home, config, conn


@watch.command("add")
@home_option
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--peer", "peer_ids", multiple=True, help="Counterpart agency id (repeatable).")
@click.option("--all-peers", is_flag=True, help="Watch against every configured peer.")
@click.option("--every", required=True, help="How often to re-match: e.g. 6h, 24h, 7d.")
@click.option("--purpose", required=True, help="Purpose, e.g. criminal_investigation.")
@click.option(
    "--legal-basis",
    "legal_bases",
    required=True,
    multiple=True,
    help="Legal instrument; PEER=INSTRUMENT for one counterpart (repeatable).",
)
@click.option("--case", "case_reference", required=True, help="Your case reference.")
@click.option("--officer", required=True, help="Officer accountable for the watchlist.")
@click.option("--webhook", "webhook_url", default=None, help="POST new hits as JSON to this URL.")
@click.option("--format", "fmt", type=click.Choice(["csv", "jsonl", "xlsx"]), default=None)
@click.option("--map", "mapping", multiple=True, help="Column mapping SOURCE=FIELD (repeatable).")
@click.option("--map-file", type=click.Path(exists=True, dir_okay=False), default=None)
def add_cmd(
    home: str | None,
    file: Path,
    peer_ids: tuple[str, ...],
    all_peers: bool,
    every: str,
    purpose: str,
    legal_bases: tuple[str, ...],
    case_reference: str,
    officer: str,
    webhook_url: str | None,
    fmt: str | None,
    mapping: tuple[str, ...],
    map_file: str | None,
) -> None:
    """Keep FILE's rows matched against counterparts every --every period.

    Checked like 'spoor match' (rows, peers, purpose, legal basis, case,
    officer); the rows are stored with the watchlist, so later changes to FILE
    do not change it. The running node ('spoor serve') runs it on schedule.
    """
    with _opened(home) as (_, config, conn):
        known = [p.agency_id for p in peers.list_peers(conn)]
        targets = known if all_peers else list(peer_ids)
        if not targets:
            raise click.UsageError("name at least one --peer, or use --all-peers")
        unknown = [t for t in targets if t not in known]
        if unknown:
            raise click.BadParameter(
                f"not a configured peer: {', '.join(unknown)} (see 'spoor peers list')",
                param_hint="--peer",
            )
        request = runner.WatchRequest(
            path=file,
            peers=targets,
            every=every,
            purpose=purpose,
            legal_bases=_legal_bases(legal_bases, targets),
            case_reference=case_reference,
            officer=officer,
            webhook_url=webhook_url,
            fmt=fmt,
            mapping=header_mapping(mapping, map_file) or None,
        )
        try:
            added = runner.add_watchlist(
                conn, request, requester=config.agency_id, known_peers=known
            )
        except QueryFileInvalid as exc:
            lines = "\n".join(f"  {e}" for e in exc.errors)
            raise click.ClickException(f"{exc}\n{lines}") from exc
        except InvalidRequest as exc:
            raise click.BadParameter(f"{exc}; nothing was stored") from exc
    click.echo(
        f"watchlist {added.watch_id} added: {len(added.rows)} row(s) against "
        f"{', '.join(added.peers)} every {show_every(added.every_s)}; the running node "
        "runs it, 'spoor watch hits' shows what it finds"
    )


@watch.command("list")
@home_option
@click.option("--json", "as_json", is_flag=True, help="Print as JSON (full ids).")
@wide_option
def list_cmd(home: str | None, as_json: bool, wide: bool) -> None:
    """Watchlists with their schedule and the last run at each counterpart."""
    with _opened(home) as (_, _, conn):
        found = watch_store.all_watchlists(conn)
        last = {(r.watch_id, r.peer): r for r in reversed(watch_store.runs(conn, None, 10_000))}
    if as_json:
        data = [
            {
                "watch_id": w.watch_id,
                "source": w.source,
                "rows": len(w.rows),
                "peers": w.peers,
                "every": show_every(w.every_s),
                "case_reference": w.case_reference,
                "webhook": bool(w.webhook_url),
                "last_run_at": w.last_run_at,
                "last_runs": {
                    p: last[(w.watch_id, p)].status for p in w.peers if (w.watch_id, p) in last
                },
            }
            for w in found
        ]
        click.echo(json.dumps(data, indent=2, ensure_ascii=False))
        return
    table = Table(title="Watchlists")
    for col in ("watchlist", "source", "rows", "every", "case", "last run", "last result"):
        table.add_column(col, no_wrap=wide)
    for w in found:
        results = []
        for p in w.peers:
            run = last.get((w.watch_id, p))
            results.append(f"{p}: {run.status if run else 'not yet'}")
        table.add_row(
            *cells(
                w.watch_id if wide else w.watch_id[:8],
                w.source,
                len(w.rows),
                show_every(w.every_s),
                w.case_reference,
                w.last_run_at or "never",
                "; ".join(results),
            )
        )
    table_console(wide).print(table)


@watch.command("remove")
@home_option
@click.argument("watch_id")
def remove_cmd(home: str | None, watch_id: str) -> None:
    """Stop and delete a watchlist (its runs stay in the audit trail)."""
    with _opened(home) as (_, _, conn):
        full = resolve_id(conn, "watchlist", watch_id)
        runner.remove_watchlist(conn, full)
    click.echo(f"watchlist {full} removed")


def _print_runs(reports: list[runner.RunReport]) -> None:
    for report in reports:
        for run in report.runs:
            line = f"{report.watch.watch_id} {run.peer}: {run.status}"
            if run.status == "done":
                line += f", match {run.match_id}, {run.hits} hit(s), {run.new_hits} new"
            else:
                # The reason may quote a counterpart's error: shown as data, bounded.
                line += f" — {bounds.printable(run.reason, MAX_CELL)}"
            click.echo(line)
        if report.webhook_delivered is False:
            click.echo(
                f"{report.watch.watch_id}: webhook not reached; the hits go with the next run"
            )


@watch.command("run")
@home_option
@click.argument("watch_id", required=False)
@click.option("--due", "due_only", is_flag=True, help="Only watchlists whose period has passed.")
@click.option("--insecure", is_flag=True, help="Plaintext channel (debugging only).")
def run_cmd(home: str | None, watch_id: str | None, due_only: bool, insecure: bool) -> None:
    """Run one watchlist (or every one) now, as the running node does on schedule."""
    logs.configure(level="warning")
    with _opened(home) as (node_home, config, conn):
        channels = peer_match_channels(node_home, config, insecure)
        now = datetime.now(UTC)
        if watch_id is not None:
            target = watch_store.get(conn, resolve_id(conn, "watchlist", watch_id))
            assert target is not None  # resolved above
            reports = [
                runner.run_watchlist(conn, target, channels, requester=config.agency_id, now=now)
            ]
        elif due_only:
            reports = runner.run_due(conn, channels, requester=config.agency_id, now=now)
        else:
            reports = [
                runner.run_watchlist(conn, w, channels, requester=config.agency_id, now=now)
                for w in watch_store.all_watchlists(conn)
            ]
    _print_runs(reports)
    if not reports:
        click.echo("no watchlist was due")


@watch.command("runs")
@home_option
@click.argument("watch_id", required=False)
@click.option("--limit", type=click.IntRange(1, 10_000), default=50, show_default=True)
def runs_cmd(home: str | None, watch_id: str | None, limit: int) -> None:
    """Past runs, newest first: done, skipped (and why) or failed."""
    with _opened(home) as (_, _, conn):
        full = resolve_id(conn, "watchlist", watch_id) if watch_id else None
        found = watch_store.runs(conn, full, limit)
    table = Table(title="Watchlist runs")
    for col in ("ran at", "watchlist", "counterpart", "result", "match", "hits", "new", "reason"):
        table.add_column(col)
    for r in found:
        table.add_row(
            *cells(
                r.ran_at,
                r.watch_id[:8],
                r.peer,
                r.status,
                r.match_id or "",
                r.hits,
                r.new_hits,
                r.reason,
            )
        )
    table_console(True).print(table)


@watch.command("hits")
@home_option
@click.argument("watch_id", required=False)
@click.option("--all", "include_reported", is_flag=True, help="Also hits shown before.")
@click.option("--json", "as_json", is_flag=True, help="Print as JSON.")
def hits_cmd(home: str | None, watch_id: str | None, include_reported: bool, as_json: bool) -> None:
    """Hits not shown before (then marked as shown); --all shows every hit."""
    with _opened(home) as (_, _, conn):
        full = resolve_id(conn, "watchlist", watch_id) if watch_id else None
        found = watch_store.unreported_hits(conn, full, "cli", include_reported)
        with store.transaction(conn):
            watch_store.mark_reported(conn, found, "cli", watch_store.stamp(datetime.now(UTC)))
    if as_json:
        click.echo(json.dumps([h.as_dict() for h in found], indent=2, ensure_ascii=False))
        return
    if not found:
        click.echo("no new hits")
        return
    table = Table(title="Watchlist hits")
    for col in ("found at", "watchlist", "counterpart", "your record", "key type", "match"):
        table.add_column(col)
    for h in found:
        table.add_row(
            *cells(h.found_at, h.watch_id[:8], h.peer, h.record_id, h.key_type, h.match_id)
        )
    table_console(True).print(table)
    click.echo("Ask for the details with 'spoor disclose request --match MATCH'.")
