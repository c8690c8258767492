"""``spoor disclose``: the investigator's follow-up after a hit."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import click
from rich.console import Console
from rich.table import Table

from node import bounds, peers, store
from node.app import logs
from node.app.config import NodeConfig
from node.app.home import NodeHome
from node.cli.common import home_option, load_node
from node.cli.ids import resolve_id, table_console, wide_option
from node.cli.render import cells, safe_text
from node.disclosure import export as disclosure_export
from node.disclosure import requester
from node.errors import DisclosureNotFound, InvalidRequest
from node.match.context import request_context
from node.peers.channel import PeerCallFailed
from node.rpc.channels import PeerDisclosureChannel
from node.rpc.client import PeerClient
from node.store import matches


@click.group("disclose")
def disclose() -> None:
    """Ask a counterpart for the details behind hits, follow up, export with conditions."""


def _split(values: tuple[str, ...]) -> tuple[str, ...]:
    out: list[str] = []
    for value in values:
        out.extend(v.strip() for v in value.split(",") if v.strip())
    return tuple(dict.fromkeys(out))


def _channel(
    home: NodeHome, config: NodeConfig, peer_id: str, insecure: bool
) -> tuple[PeerClient, PeerDisclosureChannel]:
    with store.opened(home.db_path) as conn:
        known = {p.agency_id: p for p in peers.list_peers(conn)}
    if peer_id not in known:
        raise click.ClickException(f"{peer_id} is not a configured peer (see 'spoor peers list')")
    client = PeerClient(home, config, known[peer_id], insecure=insecure)
    return client, PeerDisclosureChannel(client)


def _fail(exc: Exception) -> click.ClickException:
    if isinstance(exc, PeerCallFailed):
        return click.ClickException(f"{exc}\nNothing was stored; check the request and retry.")
    if isinstance(exc, InvalidRequest | DisclosureNotFound):
        return click.ClickException(f"{exc}. Nothing was sent or changed.")
    return click.ClickException(str(exc))


def _print_items(items: list[requester.SentItem], console: Console, wide: bool = False) -> None:
    table = Table(title="Disclosure requests")
    for col in (
        "disclosure",
        "counterpart",
        "your record",
        "key type",
        "state",
        "reason",
        "ticket",
        "deadline",
    ):
        table.add_column(col)
    styles = {"released": "green", "denied": "red", "overdue": "bold red"}
    for item in items:
        style = styles.get(item.state.split(" ")[0], "yellow")
        table.add_row(
            *cells(
                item.disclosure_id if wide else item.disclosure_id[:8],
                item.peer,
                item.record_id or "",
                item.key_type,
            ),
            safe_text(item.state, style=style),
            *cells(item.reason_code, item.ticket_id or "", item.deadline or ""),
        )
    console.print(table)


def _items_json(items: list[requester.SentItem]) -> str:
    return json.dumps(
        [{**item.__dict__, "state": item.state} for item in items], indent=2, ensure_ascii=False
    )


@disclose.command("hits")
@home_option
@click.option("--match", "match_id", default=None, help="Only this match.")
@click.option("--peer", "peer_id", default=None, help="Only matches with this counterpart.")
@click.option("--limit", type=click.IntRange(1, 10_000), default=200, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print as JSON (full ids).")
@wide_option
def hits_cmd(
    home: str | None,
    match_id: str | None,
    peer_id: str | None,
    limit: int,
    as_json: bool,
    wide: bool,
) -> None:
    """List stored hits (newest match first) with the hit ids 'disclose request' takes."""
    node_home, _ = load_node(home)
    with store.opened(node_home.db_path) as conn:
        if match_id is not None:
            match_id = resolve_id(conn, "match", match_id)
        rows = matches.recent_hits(conn, match_id, peer_id, limit)
    if as_json:
        click.echo(json.dumps(rows, indent=2, ensure_ascii=False))
        return
    table = Table(title="Stored hits")
    for col in (
        "hit",
        "match",
        "counterpart",
        "matched at",
        "case",
        "row",
        "your record",
        "key type",
    ):
        table.add_column(col)
    for r in rows:
        table.add_row(*cells(*r.values()))
    table_console(wide, width=200).print(table)


@disclose.command("request")
@home_option
@click.option("--match", "match_id", default=None, help="Match id printed by 'spoor match'.")
@click.option("--hit", "hit_ids", multiple=True, type=int, help="Hit id (repeatable).")
@click.option("--row", "rows", multiple=True, type=int, help="Input row of the match (repeatable).")
@click.option("--purpose", default=None, help="Purpose (default: the match's purpose).")
@click.option("--legal-basis", default=None, help="Legal instrument (default: the match's).")
@click.option(
    "--case", "case_reference", default=None, help="Case reference (default: the match's)."
)
@click.option("--officer", default=None, help="Requesting officer (default: the match's).")
@click.option("--justification", required=True, help="Why the details are needed.")
@click.option("--charge", "charges", multiple=True, help="Potential charge (offence class).")
@click.option("--assurance", "assurances", multiple=True, help="Assurance id relied on.")
@click.option(
    "--fields",
    "fields",
    multiple=True,
    required=True,
    help="Fields or field groups asked for, comma-separated (e.g. identity,documents).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@click.option("--insecure", is_flag=True, help="Plaintext channel (debugging only).")
def request_cmd(
    home: str | None,
    match_id: str | None,
    hit_ids: tuple[int, ...],
    rows: tuple[int, ...],
    purpose: str | None,
    legal_basis: str | None,
    case_reference: str | None,
    officer: str | None,
    justification: str,
    charges: tuple[str, ...],
    assurances: tuple[str, ...],
    fields: tuple[str, ...],
    as_json: bool,
    insecure: bool,
) -> None:
    """Ask the counterpart of a match for the details behind chosen hits."""
    logs.configure(level="warning")
    node_home, config = load_node(home)
    with store.opened(node_home.db_path) as conn:
        if match_id is not None:
            match_id = resolve_id(conn, "match", match_id)
        try:
            hits = requester.select_hits(conn, match_id, hit_ids, rows)
        except (InvalidRequest, DisclosureNotFound) as exc:
            raise _fail(exc) from exc
        match = matches.get(conn, hits[0].match_id) or {}
        try:
            # Who asks and why, checked once here and sent as it is.
            context = request_context(
                requester=config.agency_id,
                now=datetime.now(UTC),
                purpose=purpose or str(match["purpose"]),
                legal_basis=legal_basis or str(match["legal_basis"]),
                case_reference=case_reference or str(match["case_reference"]),
                officer=officer or str(match["officer"]),
                justification=justification,
                potential_charges=_split(charges),
                assurances=_split(assurances),
                requested_fields=_split(fields),
                justification_required=True,
                fields_required=True,
            )
        except InvalidRequest as exc:
            raise _fail(exc) from exc
        client, channel = _channel(node_home, config, hits[0].peer, insecure)
        try:
            disclosure_id = requester.send_request(conn, channel, hits, context)
        except (PeerCallFailed, InvalidRequest, requester.CounterpartReplyError) as exc:
            raise _fail(exc) from exc
        finally:
            client.close()
        items = requester.sent_items(conn, disclosure_id)
    if as_json:
        click.echo(_items_json(items))
        return
    click.echo(f"disclosure {bounds.printable(disclosure_id, 64)} sent to {hits[0].peer}")
    _print_items(items, Console())


def _refresh_all(
    node_home: NodeHome,
    config: NodeConfig,
    disclosure_id: str | None,
    *,
    fetch: bool,
    insecure: bool,
) -> tuple[list[requester.SentItem], int, list[str]]:
    stored, problems = 0, []
    with store.opened(node_home.db_path) as conn:
        if disclosure_id:
            disclosure_id = resolve_id(conn, "disclosure", disclosure_id)
            peer = requester.peer_of(conn, disclosure_id)
            if peer is None:
                raise _fail(DisclosureNotFound("disclosure request", disclosure_id))
            targets = [(disclosure_id, peer)]
        else:
            targets = requester.open_requests(conn)
        for target, peer_id in targets:
            client, channel = _channel(node_home, config, peer_id, insecure)
            try:
                stored += requester.refresh(conn, channel, target, fetch=fetch)
            except (PeerCallFailed, requester.CounterpartReplyError) as exc:
                problems.append(str(exc))
            finally:
                client.close()
        items = requester.sent_items(conn, disclosure_id)
    return items, stored, problems


@disclose.command("status")
@home_option
@click.argument("disclosure_id", required=False)
@click.option("--no-refresh", is_flag=True, help="Show what is stored without asking counterparts.")
@click.option("--json", "as_json", is_flag=True, help="Print as JSON.")
@wide_option
@click.option("--insecure", is_flag=True, help="Plaintext channel (debugging only).")
def status_cmd(
    home: str | None,
    disclosure_id: str | None,
    no_refresh: bool,
    as_json: bool,
    wide: bool,
    insecure: bool,
) -> None:
    """Show each requested item: released, pending, overdue or denied."""
    logs.configure(level="warning")
    node_home, config = load_node(home)
    problems: list[str] = []
    if no_refresh:
        with store.opened(node_home.db_path) as conn:
            if disclosure_id:
                disclosure_id = resolve_id(conn, "disclosure", disclosure_id)
            items = requester.sent_items(conn, disclosure_id)
    else:
        items, _, problems = _refresh_all(
            node_home, config, disclosure_id, fetch=False, insecure=insecure
        )
    if as_json:
        click.echo(_items_json(items))
    else:
        _print_items(items, table_console(wide), wide)
    for problem in problems:
        click.echo(f"could not refresh: {problem}", err=True)


@disclose.command("fetch")
@home_option
@click.argument("disclosure_id", required=False)
@click.option("--insecure", is_flag=True, help="Plaintext channel (debugging only).")
def fetch_cmd(home: str | None, disclosure_id: str | None, insecure: bool) -> None:
    """Fetch details released since the request (e.g. after approval) and store them."""
    logs.configure(level="warning")
    node_home, config = load_node(home)
    items, stored, problems = _refresh_all(
        node_home, config, disclosure_id, fetch=True, insecure=insecure
    )
    _print_items(items, Console())
    click.echo(f"{stored} released item(s) fetched and stored with their obligations")
    for problem in problems:
        click.echo(f"could not fetch: {problem}", err=True)
    if problems and not stored:
        raise SystemExit(1)


@disclose.command("export")
@home_option
@click.option("--format", "fmt", type=click.Choice(disclosure_export.FORMATS), required=True)
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), required=True)
@click.option("--case", "case_reference", default=None, help="Only details released for this case.")
def export_cmd(home: str | None, fmt: str, out: Path, case_reference: str | None) -> None:
    """Write released details with handling code, use limits and retention on every row."""
    node_home, _ = load_node(home)
    with store.opened(node_home.db_path) as conn:
        result = disclosure_export.write_export(conn, fmt, out, case_reference=case_reference)
    written = " and ".join(str(p) for p in result.paths or (result.path,))
    click.echo(f"{result.rows} released item(s) written to {written} (mode 0600)")
    if result.skipped_expired:
        click.echo(
            f"{result.skipped_expired} item(s) past retention were not exported; "
            "run 'spoor disclose purge-expired'"
        )


@disclose.command("purge-expired")
@home_option
def purge_cmd(home: str | None) -> None:
    """Delete released details past their retention date."""
    node_home, _ = load_node(home)
    with store.opened(node_home.db_path) as conn:
        purged = disclosure_export.purge_expired(conn)
    click.echo(f"{purged} released item(s) past retention purged")
