"""``spoor serve``: run the node."""

from __future__ import annotations

import resource
import sys
import threading
from typing import TYPE_CHECKING

import click

import policy as policy_lang
from node.app import logs
from node.app.config import NodeConfig
from node.app.home import NodeHome
from node.app.lock import HomeInUse
from node.cli.common import home_option, load_node
from node.rpc import native_log
from node.rpc.channels import peer_match_channels
from node.rpc.handshakes import HandshakeWatch
from node.rpc.refusals import AggregatedRefusals
from node.rpc.server import build_node

if TYPE_CHECKING:
    import uvicorn


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
    # The serving process holds epoch keys and its TLS key in memory: a crash must
    # not write them into a core file (its PSI workers set the same limit).
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    json_lines = (not sys.stderr.isatty()) if log_json is None else log_json
    # gRPC's C core writes its own lines on fd 2 (failed handshakes among them): re-emit
    # them as the node's structured lines. Before the first server, so its tracer applies.
    native = native_log.capture()
    logs.configure(level=log_level, json=json_lines, stream=native.stream)
    if native_log.handshake_trace_hidden():
        logs.get_logger("spoor.serve").warning(
            "GRPC_VERBOSITY hides gRPC's handshake trace: failed TLS handshakes will not be "
            "logged, counted or audited; unset it or set it to INFO"
        )
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
    console = _start_console(node_home, config, json_lines)
    stop_reminders = _start_reminders(node_home, config)
    ops = f"; ops port {node.ops_port}" if node.ops_port is not None else ""
    _say(f"{config.agency_id} serving on port {node.port}{ops}", json_lines)
    try:
        node.wait()
    finally:
        stop_reminders.set()
        if console is not None:
            console.should_exit = True
        tls_refusals.flush()  # counts of the last window, written before the process ends


def _say(text: str, json_lines: bool) -> None:
    """A start-up message for the operator: a log line when the log is JSON (all of it is)."""
    if json_lines:
        logs.get_logger("spoor.serve").info(text)
    else:
        click.echo(text, err=True)


REMINDER_INTERVAL_SECONDS = 600


def _start_reminders(node_home: NodeHome, config: NodeConfig) -> threading.Event:
    """Every ten minutes, remind officers of tickets nearing their deadline (if configured)."""
    from node import store
    from node.app.logs import get_logger
    from node.disclosure import reminders

    stop = threading.Event()
    c = config.console
    settings = reminders.ReminderSettings(
        c.remind_hours_before, c.reminder_webhook, c.smtp_host, c.smtp_port, c.mail_from, c.mail_to
    )
    if not settings.enabled:
        return stop
    log = get_logger("spoor.reminders")

    def loop() -> None:
        while not stop.is_set():
            try:
                with store.opened(node_home.db_path) as conn:
                    sent = reminders.send(conn, config.agency_id, settings, node_home.root)
                if sent:
                    log.info("ticket reminders sent", tickets=len(sent))
            except (OSError, ValueError) as exc:
                log.warning("ticket reminders could not be sent", error=str(exc))
            stop.wait(REMINDER_INTERVAL_SECONDS)

    threading.Thread(target=loop, name="spoor-reminders", daemon=True).start()
    return stop


def _start_console(
    node_home: NodeHome, config: NodeConfig, json_lines: bool
) -> uvicorn.Server | None:
    """The web console on its admin port, when ``[console] enabled = true``."""
    if not config.console.enabled:
        return None
    from node.web.server import ConsoleAddressError, console_server, start_in_thread

    try:
        server = console_server(node_home, config)
    except ConsoleAddressError as exc:
        raise click.ClickException(str(exc)) from exc
    start_in_thread(server)
    _say(f"console on {config.console.listen}", json_lines)
    return server
