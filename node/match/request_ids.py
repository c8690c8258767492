"""Request ids are canonical UUIDs, each used once per peer (persisted).

A request id ties the two agencies' audit entries together, so it must be
one spelling of one value, and a replayed or reused id must not be answered
as a fresh request. The responder claims each Match request id of a peer in
``used_request_ids`` before anything is charged; a second use is refused
with INVALID_ARGUMENT. (Disclose keeps its own idempotent replay: the same
request id returns the same disclosure.)

All SQL of this concept is here, so it moves as one piece into the store's
repositories and a numbered migration.
"""

from __future__ import annotations

import sqlite3
import uuid
from datetime import UTC, datetime

from node import store
from node.errors import InvalidRequest

SCHEMA = """
CREATE TABLE IF NOT EXISTS used_request_ids (
    peer TEXT NOT NULL,
    request_id TEXT NOT NULL,
    rpc TEXT NOT NULL,
    used_at TEXT NOT NULL,
    PRIMARY KEY (peer, request_id)
);
"""


def check_canonical(request_id: str) -> None:
    """Refuse a request id that is not a UUID in canonical lowercase hyphenated form."""
    try:
        canonical = str(uuid.UUID(request_id))
    except ValueError as exc:
        raise InvalidRequest("request_id", "must be a UUID") from exc
    if request_id != canonical:
        raise InvalidRequest("request_id", f"must be a canonical UUID, e.g. {canonical}")


def claim(conn: sqlite3.Connection, peer: str, request_id: str, rpc: str) -> None:
    """Record the first use of ``request_id`` by ``peer``; refuse any later one."""
    check_canonical(request_id)
    try:
        with store.transaction(conn):
            conn.execute(
                "INSERT INTO used_request_ids(peer, request_id, rpc, used_at) VALUES (?,?,?,?)",
                (peer, request_id, rpc, datetime.now(UTC).isoformat(timespec="seconds")),
            )
    except sqlite3.IntegrityError:
        raise InvalidRequest(
            "request_id", "was already used by your agency; send every request with a new UUID"
        ) from None
