"""``spoor audit witnesses`` and ``spoor audit witness``: who vouches for whose heads.

``witnesses`` lists the countersignatures this node holds for its own trail,
the heads it witnessed for its peers, and every alarm (split view,
inconsistent head, rollback) a peer caused. ``witness`` shows the newest
checkpoint to every peer now, as the background job does periodically.
"""

from __future__ import annotations

from pathlib import Path

import click
from rich.console import Console
from rich.table import Table

from node import peers, store
from node.app.home import NodeHome
from node.audit import witness
from node.cli.common import load_node
from node.rpc.client import PeerClient
from node.rpc.witness_client import PeerWitnessChannel
from node.store import audit as repo

home_option = click.option(
    "--home",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Node home directory (default: $SPOOR_HOME, else ./spoor-home).",
)


@click.command("witnesses")
@home_option
def witnesses_cmd(home: Path | None) -> None:
    """Countersignatures of our trail, heads witnessed for peers, and alarms (exit 1 if any)."""
    node_home = NodeHome.resolve(home)
    with store.opened(node_home.db_path) as conn:
        cosigs = repo.cosignatures(conn)
        seen = repo.witnessed_summary(conn)
        alarms = repo.alarms(conn)
    console = Console(width=120)
    ours = Table(title="our trail, countersigned by")
    for column in ("witness", "entries", "head", "witnessed at"):
        ours.add_column(column)
    latest: dict[str, tuple[int, str, str]] = {}
    for w, count, head_hash, _key, _sig, at in cosigs:
        latest[str(w)] = (int(count), str(head_hash), str(at))
    for w, (count, head_hash, at) in sorted(latest.items()):
        ours.add_row(w, str(count), head_hash[:16] + "…", at)
    console.print(ours)
    theirs = Table(title="heads we witnessed")
    for column in ("origin", "heads seen", "largest", "head", "last seen"):
        theirs.add_column(column)
    for origin, heads, largest, head_hash, at in seen:
        theirs.add_row(origin, str(heads), str(largest), head_hash[:16] + "…", at)
    console.print(theirs)
    if not alarms:
        click.echo("no witness alarms")
        return
    for origin, kind, count, head_hash, known_count, known_hash, at in alarms:
        click.echo(
            f"ALARM {at}: {origin}: {kind}: showed {count} entries (head {str(head_hash)[:16]}…) "
            f"against the witnessed {known_count} entries (head {str(known_hash)[:16]}…)",
            err=True,
        )
    raise SystemExit(1)


@click.command("witness")
@click.option("--insecure", is_flag=True, help="Plaintext to peers (local debugging only).")
@home_option
def witness_cmd(insecure: bool, home: Path | None) -> None:
    """Show the newest checkpoint to every peer now and keep their countersignatures."""
    node_home, config = load_node(str(home) if home else None)
    failed = False
    with store.opened(node_home.db_path) as conn:
        for peer in peers.list_peers(conn):
            try:
                with PeerWitnessChannel(
                    PeerClient(node_home, config, peer, insecure=insecure)
                ) as channel:
                    result = witness.submit(conn, channel)
            except Exception as exc:  # report every peer, then fail
                click.echo(f"{peer.agency_id}: unreachable: {exc}", err=True)
                failed = True
                continue
            line = f"{result.witness}: {result.status} ({result.entry_count} entries)"
            if result.message:
                line += f": {result.message}"
            click.echo(line, err=result.status in witness.ALARMS)
            failed = failed or result.status in witness.ALARMS
    if failed:
        raise SystemExit(1)
