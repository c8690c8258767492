"""``spoor doctor``: everything ``spoor status`` checks, plus CRLs, disk and every peer.

Exit codes (docs/operators.md, "Monitoring"): 0 all ok, 1 warnings, 2 errors.
"""

from __future__ import annotations

import click

from node import peers, store
from node.app import logs
from node.app.config import ConfigError, NodeConfig, load_config
from node.app.home import NodeHome
from node.cli.common import home_option
from node.cli.status_cmd import local_findings, report
from node.ops import checks
from node.ops.checks import Finding
from node.peers.channel import PeerCallFailed
from node.rpc.client import PeerClient


def peer_findings(home: NodeHome, config: NodeConfig, timeout_s: float) -> list[Finding]:
    """Describe each peer with a short deadline: reachable, its software and protocol version."""
    with store.opened(home.db_path, check_schema=False) as conn:
        known = peers.list_peers(conn)
    if not known:
        return [Finding("peers", "-", "warning", "no peers configured (spoor peers add)")]
    out: list[Finding] = []
    for peer in known:
        try:
            with PeerClient(home, config, peer) as client:
                d = client.describe(timeout=timeout_s)
        except (PeerCallFailed, OSError, ValueError) as exc:
            out.append(Finding("peers", peer.agency_id, "warning", f"{peer.address}: {exc}"))
            continue
        data = {
            "address": peer.address,
            "software_version": d.software_version,
            "protocol_version": d.protocol_version,
            "key_scheme_version": d.key_scheme_version,
        }
        out.append(
            Finding(
                "peers",
                peer.agency_id,
                "ok",
                f"{peer.address}: spoor {d.software_version}, protocol {d.protocol_version}",
                data,
            )
        )
    return out


def _has_store(home: NodeHome) -> bool:
    """Whether the home's database exists (a PostgreSQL one always does), false if misconfigured."""
    try:
        return store.exists(home.db_path)
    except store.StoreError:
        return False


@click.command("doctor")
@home_option
@click.option("--json", "as_json", is_flag=True, help="One JSON document instead of a table.")
@click.option(
    "--peer-timeout", default=3.0, show_default=True, help="Seconds to wait for each peer."
)
@click.option("--no-peers", is_flag=True, help="Skip the network checks of each peer.")
def doctor(home: str | None, as_json: bool, peer_timeout: float, no_peers: bool) -> None:
    """Status, CRL ages and next updates, disk space, and each peer's reachability and version.

    Certificates expiring within 30 days are warnings; expired ones, an
    unreadable store or a node that is running but not ready are errors. An
    unreachable peer is a warning (it may be down on its side). Exit 0 all ok,
    1 warnings, 2 errors.
    """
    logs.configure(level="warning", json=False)  # stdout carries only the report
    node_home = NodeHome.resolve(home)
    found = local_findings(node_home)
    if node_home.config_path.is_file() and _has_store(node_home):
        found += checks.check_crls(node_home)
        found += checks.check_disk(node_home.root)
        if not no_peers:
            try:
                config = load_config(node_home)
            except ConfigError:  # already reported by the config check
                config = None
            if config is not None:
                found += peer_findings(node_home, config, peer_timeout)
    report(found, as_json)
