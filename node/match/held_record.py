"""Recording a match answered by the running node from held setups.

``spoor match`` asks the running node's local lookup API when it can; the node
audits the lookup on both sides, and this records the match and its hits in
the requester's store (like a direct match does) so ``spoor disclose`` can
follow up on them.
"""

from __future__ import annotations

import hashlib
import sqlite3
import uuid
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime

import policy as policy_lang
from node import store
from node.match.requester import PeerOutcome, RowResult


def held_transcript_hash(request_id: str, keys_sent: int, hits: int) -> str:
    """A digest naming the held lookup (there is no setup in the exchange to hash)."""
    text = f"held|{request_id}|{keys_sent}|{hits}".encode()
    return hashlib.sha256(text).hexdigest()


def record_held_match(
    conn: sqlite3.Connection,
    peer: str,
    context: policy_lang.RequestContext,
    rows_by_key: Mapping[str, Sequence[RowResult]],
    keys_sent: Sequence[str],
    hit_keys: Sequence[str],
    *,
    request_id: str,
    policy_digest: str,
) -> PeerOutcome:
    """Store the match and its hits; mark the rows; the outcome for the report."""
    match_id = str(uuid.uuid4())
    now = datetime.now(UTC).isoformat(timespec="seconds")
    with store.transaction(conn):
        conn.execute(
            "INSERT INTO matches(match_id, peer, request_id, created_at, purpose, legal_basis, "
            "case_reference, officer, reveal, elements, hits, transcript_hash, policy_digest) "
            "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
            (
                match_id,
                peer,
                request_id,
                now,
                context.purpose,
                context.legal_basis,
                context.case_reference,
                context.officer,
                "intersection",
                len(keys_sent),
                len(hit_keys),
                held_transcript_hash(request_id, len(keys_sent), len(hit_keys)),
                policy_digest,
            ),
        )
        for key in hit_keys:
            for row in rows_by_key.get(key, ()):
                conn.execute(
                    "INSERT INTO match_hits(match_id, row_number, record_id, key_type, "
                    "match_key) VALUES (?,?,?,?,?)",
                    (match_id, row.row_number, row.record_id, row.keys[key], key),
                )
    for key in hit_keys:
        for row in rows_by_key.get(key, ()):
            types = row.hits.setdefault(peer, [])
            if row.keys[key] not in types:
                types.append(row.keys[key])
    return PeerOutcome(
        agency_id=peer,
        match_id=match_id,
        elements=len(keys_sent),
        hits=len(hit_keys),
        policy_digest=policy_digest,
    )
