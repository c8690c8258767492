"""Migration 0004: request ids a peer has used, so each is answered once.

A Match request id is claimed per peer before anything is charged; a second
use is refused (``node.match.request_ids``).
"""

from __future__ import annotations

from node.store.backend import Connection
from node.store.migrations.script import run_script

NUMBER = 4
NAME = "used_request_ids"

SQL = """
CREATE TABLE IF NOT EXISTS used_request_ids (
    peer       TEXT NOT NULL,
    request_id TEXT NOT NULL,
    rpc        TEXT NOT NULL,
    used_at    TEXT NOT NULL,
    PRIMARY KEY (peer, request_id)
);
"""


def apply(conn: Connection) -> None:
    run_script(conn, SQL)
