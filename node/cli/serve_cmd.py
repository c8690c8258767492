"""``spoor serve``: run the node."""

from __future__ import annotations

import sys

import click

import policy as policy_lang
from node.app import logs
from node.app.lock import HomeInUse
from node.cli.common import home_option, load_node
from node.rpc import native_log
from node.rpc.channels import peer_match_channels
from node.rpc.handshakes import HandshakeWatch
from node.rpc.refusals import AggregatedRefusals
from node.rpc.server import build_node


@click.command("serve")
@home_option
@click.option("--listen", default=None, help="HOST:PORT (default: server.listen in spoor.toml).")
@click.option(
    "--insecure",
    is_flag=True,
    default=None,
    help="Plaintext, no mutual TLS. For local debugging only; logged as a warning.",
)
@click.option("--reflection", is_flag=True, default=None, help="Enable gRPC server reflection.")
@click.option(
    "--log-level",
    type=click.Choice(["debug", "info", "warning", "error"]),
    default="info",
    show_default=True,
)
@click.option("--log-json/--log-console", default=None, help="Force JSON or console log lines.")
def serve(
    home: str | None,
    listen: str | None,
    insecure: bool | None,
    reflection: bool | None,
    log_level: str,
    log_json: bool | None,
) -> None:
    """Serve this node to its peers until SIGTERM/SIGINT, then drain in-flight calls and exit."""
    json_lines = (not sys.stderr.isatty()) if log_json is None else log_json
    # gRPC's C core writes its own lines on fd 2 (failed handshakes among them): re-emit
    # them as the node's structured lines. Before the first server, so its tracer applies.
    native = native_log.capture()
    logs.configure(level=log_level, json=json_lines, stream=native.stream)
    node_home, config = load_node(home)
    try:
        node = build_node(
            node_home, config, listen=listen, insecure=insecure, reflection_on=reflection
        )
    except policy_lang.PolicyError as exc:
        problems = "\n".join(f"  {p}" for p in getattr(exc, "problems", []))
        raise click.ClickException(
            f"the policy in {node_home.root / config.policy.path} does not check clean; the node "
            f"did not start:\n{problems}\nRun 'spoor policy check' for details."
        ) from exc
    except HomeInUse as exc:
        raise click.ClickException(str(exc)) from exc
    except (OSError, RuntimeError) as exc:
        raise click.ClickException(f"could not start: {exc}") from exc
    # Failed handshakes on our port: one log line each, counted, audited per host and minute.
    tls_refusals = AggregatedRefusals(
        node_home.db_path, "tls.refused", "UNAVAILABLE", key_field="host"
    )
    metrics = node.metrics
    native.watch = HandshakeWatch(
        {node.port},
        count=metrics.observe_handshake_failure if metrics is not None else None,
        audit=tls_refusals,
    )
    node.install_signal_handlers()
    node.start_background(node_home, config, watch_channels=peer_match_channels(node_home, config))
    ops = f"; ops port {node.ops_port}" if node.ops_port is not None else ""
    ready = f"{config.agency_id} serving on port {node.port}{ops}"
    if json_lines:
        logs.get_logger("spoor.serve").info(ready)  # every line of a JSON log is JSON
    else:
        click.echo(ready, err=True)
    node.wait()
    tls_refusals.flush()  # counts of the last window, written before the process ends
