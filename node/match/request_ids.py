"""Request ids are canonical UUIDs, each used once per peer (persisted).

A request id ties the two agencies' audit entries together, so it must be
one spelling of one value, and a replayed or reused id must not be answered
as a fresh request. The responder claims each Match request id of a peer in
``used_request_ids`` before anything is charged; a second use is refused
with INVALID_ARGUMENT. (Disclose keeps its own idempotent replay: the same
request id returns the same disclosure.)

The table is ``used_request_ids`` (migration 0004, ``node.store.request_ids``).
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from node import store
from node.errors import InvalidRequest
from node.store import Connection
from node.store import request_ids as repository
from node.store.timecodec import format_ts


def check_canonical(request_id: str) -> None:
    """Refuse a request id that is not a UUID in canonical lowercase hyphenated form."""
    try:
        canonical = str(uuid.UUID(request_id))
    except ValueError as exc:
        raise InvalidRequest("request_id", "must be a UUID") from exc
    if request_id != canonical:
        raise InvalidRequest("request_id", f"must be a canonical UUID, e.g. {canonical}")


def claim(conn: Connection, peer: str, request_id: str, rpc: str) -> None:
    """Record the first use of ``request_id`` by ``peer``; refuse any later one."""
    check_canonical(request_id)
    with store.transaction(conn):
        fresh = repository.claim(conn, peer, request_id, rpc, format_ts(datetime.now(UTC)))
    if not fresh:
        raise InvalidRequest(
            "request_id", "was already used by your agency; send every request with a new UUID"
        )
