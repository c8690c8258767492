"""Request ids repository: which request ids each peer has used."""

from __future__ import annotations

from node.store.backend import Connection, IntegrityError


def claim(conn: Connection, peer: str, request_id: str, rpc: str, used_at: str) -> bool:
    """Record the first use of ``request_id`` by ``peer``; False if it was used before."""
    try:
        conn.execute(
            "INSERT INTO used_request_ids (peer, request_id, rpc, used_at) VALUES (?,?,?,?)",
            (peer, request_id, rpc, used_at),
        )
    except IntegrityError:
        return False
    return True
