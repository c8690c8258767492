"""``spoor match``: which of my rows do counterparts also hold?"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import click
from rich.console import Console
from rich.table import Table
from rich.text import Text

from node import peers, store
from node.app import logs
from node.app.home import NodeHome
from node.cli.common import home_option, load_node
from node.cli.ids import table_console, wide_option
from node.cli.records_cmd import _mapping as header_mapping
from node.cli.render import cells, safe_text
from node.errors import InvalidRequest
from node.match.channel import MatchChannel
from node.match.context import request_context
from node.match.requester import (
    DryRunOutcome,
    MatchReport,
    PeerOutcome,
    QueryFileInvalid,
    load_rows,
    run_match,
)
from node.match.requester import dry_run as requester_dry_run
from node.rpc.channels import PeerMatchChannel
from node.rpc.client import PeerClient
from node.rpc.local_lookup import match_via_running_node


def _legal_bases(items: tuple[str, ...], targets: list[str]) -> dict[str, str]:
    default: str | None = None
    per_peer: dict[str, str] = {}
    for item in items:
        peer, sep, basis = item.partition("=")
        if not sep:
            default = item
        elif peer not in targets:
            raise click.BadParameter(
                f"{peer!r} is not one of the peers matched", param_hint="--legal-basis"
            )
        else:
            per_peer[peer] = basis
    missing = [t for t in targets if t not in per_peer and default is None]
    if missing:
        raise click.BadParameter(
            f"no legal basis for {', '.join(missing)}: give INSTRUMENT or PEER=INSTRUMENT",
            param_hint="--legal-basis",
        )
    return {t: per_peer.get(t) or str(default) for t in targets}


def report_json(report: MatchReport) -> dict[str, object]:
    return {
        "reveal": report.reveal,
        "counterparts": [
            {
                "agency_id": p.agency_id,
                "match_id": p.match_id,
                "elements_sent": p.elements,
                "hits": p.hits,
                "error": p.error,
                "policy_digest": p.policy_digest,
                "budget_remaining": p.budget_remaining,
            }
            for p in report.peers
        ],
        "rows": [
            {
                "row": r.row_number,
                "record_id": r.record_id,
                "kind": r.kind,
                "key_types": sorted(set(r.keys.values())),
                "hits": {peer: sorted(types) for peer, types in r.hits.items()},
                "problems": r.problems,
            }
            for r in report.rows
        ],
    }


def print_report(report: MatchReport, console: Console) -> None:
    ok_peers = [p for p in report.peers if p.error is None]
    if report.reveal == "intersection":
        table = Table(title="Hits per row (key types that matched at each counterpart)")
        table.add_column("row", justify="right")
        table.add_column("record")
        table.add_column("kind")
        for p in ok_peers:
            table.add_column(safe_text(p.agency_id))
        table.add_column("notes")
        for r in report.rows:
            hits = [", ".join(sorted(r.hits.get(p.agency_id, []))) or "·" for p in ok_peers]
            table.add_row(*cells(r.row_number, r.record_id, r.kind, *hits, "; ".join(r.problems)))
        console.print(table)
    summary = Table(title="Counterparts")
    for col in ("agency", "match id", "elements sent", "hits", "budget left", "result"):
        summary.add_column(col)
    for p in report.peers:
        summary.add_row(
            *cells(
                p.agency_id,
                p.match_id or "",
                p.elements,
                p.hits if p.error is None else "-",
                "" if p.budget_remaining is None else p.budget_remaining,
            ),
            Text("ok") if p.error is None else safe_text(p.error, 2000, style="red"),
        )
    console.print(summary)
    if any(p.hits for p in ok_peers) and report.reveal == "intersection":
        console.print("Ask for the details behind hits with 'spoor disclose request --match ID'.")


def print_dry_run(checked: list[DryRunOutcome], as_json: bool) -> None:
    """What a match would send each counterpart; nothing was sent."""
    if as_json:
        click.echo(json.dumps({"dry_run": [vars(c) for c in checked]}, indent=2))
        return
    table = Table(title="Dry run: nothing was sent")
    for col in ("agency", "keys", "requests", "budget left", "check"):
        table.add_column(col)
    for c in checked:
        verdict = "ok" if c.vocabulary_checked else "ok (vocabulary not advertised)"
        table.add_row(
            c.agency_id,
            str(c.elements),
            str(c.requests),
            "" if c.budget_remaining is None else str(c.budget_remaining),
            verdict if c.error is None else Text(c.error, style="red"),
        )
    Console().print(table)


@click.command("match")
@home_option
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--peer", "peer_ids", multiple=True, help="Counterpart agency id (repeatable).")
@click.option("--all-peers", is_flag=True, help="Match against every configured peer.")
@click.option("--purpose", required=True, help="Purpose, e.g. criminal_investigation.")
@click.option(
    "--legal-basis",
    "legal_bases",
    required=True,
    multiple=True,
    help="Legal instrument relied on, e.g. CITES-Art-VIII; PEER=INSTRUMENT for one counterpart "
    "(repeatable).",
)
@click.option("--case", "case_reference", required=True, help="Your case reference.")
@click.option("--officer", required=True, help="Officer accountable for the request.")
@click.option("--cardinality-only", is_flag=True, help="Learn only how many rows match, not which.")
@click.option("--format", "fmt", type=click.Choice(["csv", "jsonl", "xlsx"]), default=None)
@click.option("--map", "mapping", multiple=True, help="Column mapping SOURCE=FIELD (repeatable).")
@click.option(
    "--map-file",
    type=click.Path(exists=True, dir_okay=False),
    default=None,
    help="YAML file mapping file headers to record fields.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@wide_option
@click.option("--insecure", is_flag=True, help="Plaintext channel (debugging only).")
@click.option(
    "--dry-run",
    is_flag=True,
    help="Derive the keys and check purpose, legal basis and budget with each counterpart's "
    "Describe; send no match.",
)
def match(
    home: str | None,
    file: Path,
    peer_ids: tuple[str, ...],
    all_peers: bool,
    purpose: str,
    legal_bases: tuple[str, ...],
    case_reference: str,
    officer: str,
    cardinality_only: bool,
    fmt: str | None,
    mapping: tuple[str, ...],
    map_file: str | None,
    as_json: bool,
    wide: bool,
    insecure: bool,
    dry_run: bool,
) -> None:
    """Run private set intersection of FILE's rows against counterparts.

    Counterparts learn how many keys you sent, never which; you learn which of
    your own rows they also hold, and on which key types.
    """
    logs.configure(level="warning")
    node_home, config = load_node(home)
    with store.opened(node_home.db_path) as conn:
        known = {p.agency_id: p for p in peers.list_peers(conn)}
        targets = list(known) if all_peers else list(peer_ids)
        if not targets:
            raise click.UsageError("name at least one --peer, or use --all-peers")
        unknown = [t for t in targets if t not in known]
        if unknown:
            raise click.BadParameter(
                f"not a configured peer: {', '.join(unknown)} (see 'spoor peers list')",
                param_hint="--peer",
            )
        try:
            rows = load_rows(
                file,
                fmt=fmt,
                mapping=header_mapping(mapping, map_file) or None,
                default_region=config.country,
            )
        except QueryFileInvalid as exc:
            lines = "\n".join(f"  {e}" for e in exc.errors[:50])
            raise click.ClickException(f"{exc}\n{lines}") from exc

        def channels(agency_id: str) -> MatchChannel:
            return PeerMatchChannel(
                PeerClient(NodeHome(node_home.root), config, known[agency_id], insecure=insecure)
            )

        bases = _legal_bases(legal_bases, targets)
        now = datetime.now(UTC)
        try:
            # Who asks and why, per counterpart: checked once here, sent as it is.
            contexts = {
                t: request_context(
                    requester=config.agency_id,
                    now=now,
                    purpose=purpose,
                    legal_basis=bases[t],
                    case_reference=case_reference,
                    officer=officer,
                )
                for t in targets
            }
        except InvalidRequest as exc:
            raise click.BadParameter(
                f"{exc} (give it on the command line); nothing was sent"
            ) from exc
        if dry_run:
            checked = requester_dry_run(rows, contexts, channels)
        else:
            via_node: list[PeerOutcome] = []
            if not cardinality_only and not insecure:
                # A running node answers from the setups it holds; counterparts it could not
                # ask that way are matched directly below.
                via_node = match_via_running_node(node_home, config, conn, rows, contexts)
            done = {o.agency_id for o in via_node}
            direct = run_match(
                conn,
                rows,
                {t: c for t, c in contexts.items() if t not in done},
                channels,
                reveal_intersection=not cardinality_only,
            )
            order = {t: i for i, t in enumerate(targets)}
            report = MatchReport(
                rows=rows,
                peers=sorted([*via_node, *direct.peers], key=lambda o: order[o.agency_id]),
                reveal=direct.reveal,
            )
    if dry_run:
        print_dry_run(checked, as_json)
        if any(c.error is not None for c in checked):
            raise SystemExit(1)
        return
    if as_json:
        click.echo(json.dumps(report_json(report), indent=2, ensure_ascii=False))
    else:
        print_report(report, table_console(wide))
    if all(p.error is not None for p in report.peers):
        raise SystemExit(1)
