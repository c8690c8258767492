"""Request ids repository: which request ids each peer has used."""

from __future__ import annotations

from node.store.backend import Connection


def claim(conn: Connection, peer: str, request_id: str, rpc: str, used_at: str) -> bool:
    """Record the first use of ``request_id`` by ``peer``; False if it was used before.

    ``ON CONFLICT DO NOTHING`` rather than catching the key violation: on
    PostgreSQL a failed statement aborts the whole transaction it is part of.
    """
    cur = conn.execute(
        "INSERT INTO used_request_ids (peer, request_id, rpc, used_at) VALUES (?,?,?,?)"
        " ON CONFLICT (peer, request_id) DO NOTHING",
        (peer, request_id, rpc, used_at),
    )
    return bool(cur.rowcount == 1)
