"""``spoor init``: create a node home for an agency."""

from __future__ import annotations

import shutil
from importlib import resources

import click

from node import audit, pki, store
from node.app.config import (
    NodeConfig,
    ServerConfig,
    save_config,
    validate_agency_id,
    validate_country,
)
from node.app.home import NodeHome
from node.peers import PeerError, validate_address

STARTER_POLICY = "starter-policy.yaml"


@click.command("init")
@click.option("--home", "home_arg", default=None, envvar="SPOOR_HOME", help="Directory to create.")
@click.option("--agency", "agency_id", required=True, help="Agency id, e.g. ke-kws.")
@click.option("--country", required=True, help="ISO 3166-1 alpha-2 country code, e.g. KE.")
@click.option("--name", "display_name", default="", help="Display name of the agency.")
@click.option(
    "--listen", default="127.0.0.1:50051", show_default=True, help="HOST:PORT to serve on."
)
@click.option(
    "--hostname", "hostnames", multiple=True, help="DNS name for the node certificate (repeatable)."
)
@click.option(
    "--ip", "ips", multiple=True, help="IP address for the node certificate (repeatable)."
)
@click.option("--no-pki", is_flag=True, help="Do not create a CA and node certificate now.")
def init(
    home_arg: str | None,
    agency_id: str,
    country: str,
    display_name: str,
    listen: str,
    hostnames: tuple[str, ...],
    ips: tuple[str, ...],
    no_pki: bool,
) -> None:
    """Create a node home: spoor.toml, the database, a CA and node certificate, a starter policy."""
    home = NodeHome.resolve(home_arg)
    try:
        validate_agency_id(agency_id)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--agency") from exc
    try:
        country = validate_country(country)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--country") from exc
    try:
        validate_address(listen)
    except PeerError as exc:
        raise click.BadParameter(str(exc), param_hint="--listen") from exc
    if home.exists():
        raise click.ClickException(
            f"{home.root} already holds a node (spoor.toml exists); nothing was changed. "
            "Choose another --home or remove it first."
        )
    if home.root.exists() and (not home.root.is_dir() or any(home.root.iterdir())):
        raise click.ClickException(
            f"{home.root} exists and is not an empty directory; nothing was changed. "
            "Choose a new or empty directory for the node home."
        )
    home.root.mkdir(parents=True, exist_ok=True)
    home.root.chmod(0o700)
    try:
        home.keys_dir.mkdir(mode=0o700, exist_ok=True)
        home.policy_dir.mkdir(exist_ok=True)
        home.exports_dir.mkdir(mode=0o700, exist_ok=True)
        config = NodeConfig(
            agency_id=agency_id,
            country=country,
            display_name=display_name,
            server=ServerConfig(listen=listen),
        )
        save_config(home, config)
        starter = resources.files("node.templates").joinpath(STARTER_POLICY).read_text("utf-8")
        (home.policy_dir / "agency.yaml").write_text(
            starter.replace("{agency_id}", agency_id).replace("{country}", country),
            encoding="utf-8",
        )
        with store.opened(home.db_path) as conn:
            with store.transaction(conn):
                audit.append(
                    conn,
                    "node.initialized",
                    actor="operator",
                    details={"agency_id": agency_id, "country": country},
                )
            if not no_pki:
                with store.transaction(conn):
                    pki.init_home_ca(
                        home, agency_id, country, common_name=display_name or None, conn=conn
                    )
                    pki.issue_home_certificate(
                        home,
                        agency_id=agency_id,
                        country=country,
                        hostnames=hostnames or ("localhost",),
                        ip_addresses=ips or ("127.0.0.1", "::1"),
                        conn=conn,
                    )
            with store.transaction(conn):
                audit.create_first_key(conn, home)
    except Exception:
        # Leave no half-made node behind (the directory was new or empty, checked above).
        shutil.rmtree(home.root, ignore_errors=True)
        raise
    click.echo(f"Created node {agency_id} ({country}) in {home.root}")
    if not no_pki:
        click.echo(f"  CA certificate to give counterparts: {home.ca_cert_path}")
    click.echo(f"  Policy: {home.policy_dir / 'agency.yaml'} (default deny until you add rules)")
    click.echo("Next: 'spoor peers add', 'spoor records import', 'spoor serve'.")
