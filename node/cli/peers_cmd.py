"""``spoor peers``: the counterparts this node works with."""

from __future__ import annotations

from pathlib import Path

import click
from rich.console import Console
from rich.table import Table

from node import audit, peers, pki, store
from node.cli.common import home_option, load_node


@click.group("peers")
def peers_group() -> None:
    """Counterpart agencies: their address and the CA their certificates chain to."""


@peers_group.command("add")
@home_option
@click.argument("agency_id")
@click.option("--address", required=True, help="HOST:PORT of the counterpart's node.")
@click.option(
    "--ca",
    "ca_file",
    required=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="The counterpart's CA certificate (from its 'spoor pki export-ca').",
)
@click.option("--country", default=None, help="The counterpart's country (ISO alpha-2).")
@click.option(
    "--crl",
    "crl_file",
    default=None,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="The counterpart's certificate revocation list, if it published one.",
)
def add(
    home: str | None,
    agency_id: str,
    address: str,
    ca_file: Path,
    country: str | None,
    crl_file: Path | None,
) -> None:
    """Add or update a counterpart (pins its CA; takes effect for new connections)."""
    node_home, config = load_node(home)
    if agency_id == config.agency_id:
        raise click.BadParameter("a node cannot be its own peer", param_hint="AGENCY_ID")
    ca_pem = ca_file.read_bytes()
    crl_pem = crl_file.read_bytes() if crl_file else None
    if crl_pem is not None:
        try:
            pki.revoked_serials(crl_pem, ca_pem)
        except pki.PkiError as exc:
            raise click.ClickException(f"{crl_file}: {exc}; nothing was changed") from exc
    with store.opened(node_home.db_path) as conn, store.transaction(conn):
        try:
            peer = peers.add(conn, agency_id, address, ca_pem, country.upper() if country else None)
        except peers.PeerError as exc:
            raise click.ClickException(f"{exc}; nothing was changed") from exc
        if crl_pem is not None:
            peers.set_crl(conn, agency_id, crl_pem.decode("ascii"))
        audit.append(
            conn,
            "peer.added",
            actor="operator",
            counterpart=agency_id,
            details={
                "address": address,
                "ca_fingerprint": pki.fingerprint(peer.ca_pem.encode()),
            },
        )
    click.echo(
        f"Peer {agency_id} at {address} added; CA {pki.fingerprint(peer.ca_pem.encode())[:16]}…"
    )


@peers_group.command("list")
@home_option
def list_cmd(home: str | None) -> None:
    """List counterparts."""
    node_home, _ = load_node(home)
    with store.opened(node_home.db_path) as conn:
        rows = peers.list_peers(conn)
    if not rows:
        click.echo(
            "No peers yet. Add one with 'spoor peers add AGENCY --address HOST:PORT --ca FILE'."
        )
        return
    table = Table("agency", "country", "address", "CA fingerprint", "CRL", "added")
    for p in rows:
        table.add_row(
            p.agency_id,
            p.country or "",
            p.address,
            pki.fingerprint(p.ca_pem.encode())[:16] + "…",
            "yes" if p.crl_pem else "no",
            p.added_at,
        )
    Console().print(table)


@peers_group.command("remove")
@home_option
@click.argument("agency_id")
def remove(home: str | None, agency_id: str) -> None:
    """Remove a counterpart; its calls are refused from the next call on."""
    node_home, _ = load_node(home)
    with store.opened(node_home.db_path) as conn, store.transaction(conn):
        try:
            peers.remove(conn, agency_id)
        except peers.PeerError as exc:
            raise click.ClickException(str(exc)) from exc
        audit.append(conn, "peer.removed", actor="operator", counterpart=agency_id)
    click.echo(f"Peer {agency_id} removed.")
