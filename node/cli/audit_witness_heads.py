"""The heads witnesses vouch for, gathered for ``spoor audit verify``.

Stored countersignatures are read from the node's own database (an insider
can delete them); ``--ask-witnesses`` asks every peer for the newest head of
this trail it holds, which no one with only this node's files can alter.
"""

from __future__ import annotations

import click

from node import peers
from node.app.config import NodeConfig
from node.app.home import NodeHome
from node.audit import witness
from node.audit.verify import WitnessedHead
from node.rpc.client import PeerClient
from node.rpc.witness_client import PeerWitnessChannel
from node.store.backend import Connection


def witnessed_heads(conn: Connection, agency_id: str | None) -> list[WitnessedHead]:
    """Every stored countersignature of this trail as a head to check."""
    out: list[WitnessedHead] = []
    for cosig in witness.stored_cosignatures(conn, agency_id):
        valid = True if agency_id is None else cosig.valid()
        out.append(
            WitnessedHead(
                cosig.witness, cosig.entry_count, cosig.head_hash, "countersignature", valid
            )
        )
    return out


def ask_peers(
    conn: Connection, home: NodeHome, config: NodeConfig, *, insecure: bool = False
) -> list[WitnessedHead]:
    """Ask each peer for the newest head of this trail it witnessed; unreachable ones warned."""
    out: list[WitnessedHead] = []
    for peer in peers.list_peers(conn):
        try:
            with PeerWitnessChannel(PeerClient(home, config, peer, insecure=insecure)) as channel:
                answer = channel.witnessed_head()
        except Exception as exc:  # one peer down: say so, check the others
            click.echo(f"warning: witness {peer.agency_id} not asked: {exc}", err=True)
            continue
        cosig = answer.cosignature
        if answer.status != witness.ACCEPTED or cosig is None:
            click.echo(f"warning: witness {peer.agency_id} holds no head of this trail", err=True)
            continue
        valid = (
            cosig.valid() and cosig.origin == config.agency_id and cosig.witness == peer.agency_id
        )
        out.append(
            WitnessedHead(peer.agency_id, cosig.entry_count, cosig.head_hash, "asked", valid)
        )
    return out
