"""``spoor peers``: the counterparts this node works with."""

from __future__ import annotations

from pathlib import Path

import click
from rich.console import Console
from rich.table import Table

from node import audit, peers, pki, store
from node.app.home import NodeHome
from node.cli.common import home_option, load_node
from node.ops import bundle


@click.group("peers")
def peers_group() -> None:
    """Counterpart agencies: their address and the CA their certificates chain to."""


@peers_group.command("add")
@home_option
@click.argument("agency_id", required=False)
@click.option("--address", default=None, help="HOST:PORT of the counterpart's node.")
@click.option(
    "--ca",
    "ca_file",
    default=None,
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
@click.option(
    "--bundle",
    "bundle_file",
    default=None,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="An onboarding bundle from the counterpart's 'spoor peers export-bundle'.",
)
@click.option(
    "--fingerprint",
    "expected_fingerprint",
    default=None,
    help="SHA256:<hex> of the counterpart's CA, read to you out of band (required with --bundle).",
)
def add(
    home: str | None,
    agency_id: str | None,
    address: str | None,
    ca_file: Path | None,
    country: str | None,
    crl_file: Path | None,
    bundle_file: Path | None,
    expected_fingerprint: str | None,
) -> None:
    """Add or update a counterpart (pins its CA; takes effect for new connections).

    Either AGENCY_ID --address HOST:PORT --ca FILE, or --bundle FILE
    --fingerprint SHA256:<hex>: the bundle's CA must have the fingerprint the
    counterpart gave you by another channel, or nothing is changed.
    """
    node_home, config = load_node(home)
    if bundle_file is not None:
        try:
            peer_bundle = bundle.read_bundle(bundle_file, expected_fingerprint or "")
        except bundle.BundleError as exc:
            raise click.ClickException(f"{exc}; nothing was changed") from exc
        if agency_id is not None and agency_id != peer_bundle.agency_id:
            raise click.ClickException(
                f"the bundle is for {peer_bundle.agency_id!r}, not {agency_id!r}; "
                "nothing was changed"
            )
        agency_id = peer_bundle.agency_id
        address = address or peer_bundle.address
        country = country or peer_bundle.country
        ca_pem = peer_bundle.ca_pem.encode("ascii")
        crl_pem = crl_file.read_bytes() if crl_file else _encoded(peer_bundle.crl_pem)
    else:
        if agency_id is None or address is None or ca_file is None:
            raise click.UsageError(
                "give AGENCY_ID, --address and --ca, or --bundle FILE --fingerprint SHA256:<hex>"
            )
        ca_pem = ca_file.read_bytes()
        crl_pem = crl_file.read_bytes() if crl_file else None
    if address is None:
        raise click.UsageError("the bundle names no address: give --address HOST:PORT")
    _add(node_home, config.agency_id, agency_id, address, ca_pem, country, crl_pem, crl_file)


def _encoded(text: str | None) -> bytes | None:
    return text.encode("ascii") if text else None


def _add(
    node_home: NodeHome,
    own_id: str,
    agency_id: str,
    address: str,
    ca_pem: bytes,
    country: str | None,
    crl_pem: bytes | None,
    crl_file: Path | None,
) -> None:
    if agency_id == own_id:
        raise click.BadParameter("a node cannot be its own peer", param_hint="AGENCY_ID")
    if crl_pem is not None:
        try:
            pki.revoked_serials(crl_pem, ca_pem)
        except pki.PkiError as exc:
            raise click.ClickException(f"{crl_file or 'CRL'}: {exc}; nothing was changed") from exc
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


@peers_group.command("export-bundle")
@home_option
@click.option(
    "--address",
    default=None,
    help="HOST:PORT counterparts reach this node at (default: server.listen in spoor.toml).",
)
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="File to write (default: <agency>.spoor-peer.json in the current directory).",
)
def export_bundle(home: str | None, address: str | None, out: Path | None) -> None:
    """Write this node's onboarding bundle for a counterpart: CA, CRL, address, agency id.

    Send the file by any channel; read the printed fingerprint to the
    counterpart by another one (a call, a signed letter). They add it with
    'spoor peers add --bundle FILE --fingerprint SHA256:...'.
    """
    node_home, config = load_node(home)
    chosen = address or config.server.listen
    made = bundle.make_bundle(node_home, config, chosen)
    target = out or Path(f"{config.agency_id}.spoor-peer.json")
    bundle.write_bundle(made, target)
    click.echo(f"Wrote {target} for agency {config.agency_id} at {chosen}.")
    if chosen.split(":")[0] in ("127.0.0.1", "localhost", "::1", "[::1]", "0.0.0.0"):  # noqa: S104
        click.echo(
            f"warning: {chosen} is not an address a counterpart can reach; give --address",
            err=True,
        )
    click.echo(f"CA fingerprint (tell the counterpart out of band): {made.fingerprint_text}")


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
