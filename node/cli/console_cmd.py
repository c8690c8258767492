"""``spoor console``: the legal officers' and oversight web console, on its own."""

from __future__ import annotations

import click

from node.app import logs
from node.cli.common import home_option, load_node
from node.web.server import ConsoleAddressError, console_server, is_loopback, split_listen


@click.command("console")
@home_option
@click.option("--listen", default=None, help="HOST:PORT (default: console.listen in spoor.toml).")
def console(home: str | None, listen: str | None) -> None:
    """Serve the web console (loopback: plain HTTP; any other address: TLS, node certificate)."""
    logs.configure(level="info", json=None)
    node_home, config = load_node(home)
    try:
        server = console_server(node_home, config, listen)
        host, port = split_listen(listen or config.console.listen)
    except ConsoleAddressError as exc:
        raise click.ClickException(str(exc)) from exc
    scheme = "http" if is_loopback(host) else "https"
    click.echo(f"console for {config.agency_id} on {scheme}://{host}:{port}/", err=True)
    server.run()
