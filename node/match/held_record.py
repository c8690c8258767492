"""Recording a match answered by the running node from held setups.

``spoor match`` asks the running node's local lookup API when it can; the node
audits the lookup on both sides, and this records the match and its hits in
the requester's store (like a direct match does) so ``spoor disclose`` can
follow up on them.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime

import policy as policy_lang
from node import store
from node.match.requester import PeerOutcome, RowResult
from node.store import Connection, matches


def held_transcript_hash(request_id: str, keys_sent: int, hits: int) -> str:
    """A digest naming the held lookup (there is no setup in the exchange to hash)."""
    text = f"held|{request_id}|{keys_sent}|{hits}".encode()
    return hashlib.sha256(text).hexdigest()


def record_held_match(
    conn: Connection,
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
    digest = held_transcript_hash(request_id, len(keys_sent), len(hit_keys))
    with store.transaction(conn):
        matches.create(
            conn,
            match_id=match_id,
            peer=peer,
            request_id=request_id,
            created_at=now,
            purpose=context.purpose,
            legal_basis=context.legal_basis,
            case_reference=context.case_reference,
            officer=context.officer,
            reveal="intersection",
            transcript_hash=digest,
            policy_digest=policy_digest,
        )
        matches.add_request(
            conn,
            match_id=match_id,
            request_id=request_id,
            chunk=0,
            created_at=now,
            elements=len(keys_sent),
            hits=len(hit_keys),
            transcript_hash=digest,
            policy_digest=policy_digest,
        )
        matches.add_hits(
            conn,
            match_id,
            [
                (row.row_number, row.record_id, row.keys[key], key)
                for key in hit_keys
                for row in rows_by_key.get(key, ())
            ],
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
