"""Matches repository: matches this node ran, their chunk requests and the hits found.

One user-level match with one counterpart is one ``matches`` row and one
match id, however many requests (chunks) it took: each request is a
``match_requests`` row under it, and every hit points at the match id, so a
follow-up naming the match reaches all of them.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from node.store.backend import Connection


def create(
    conn: Connection,
    *,
    match_id: str,
    peer: str,
    request_id: str,
    created_at: str,
    purpose: str,
    legal_basis: str,
    case_reference: str,
    officer: str,
    reveal: str,
    transcript_hash: str,
    policy_digest: str,
) -> None:
    """Record a new match (no requests yet: totals start at zero)."""
    conn.execute(
        "INSERT INTO matches (match_id, peer, request_id, created_at, purpose, legal_basis, "
        "case_reference, officer, reveal, elements, hits, transcript_hash, policy_digest) "
        "VALUES (?,?,?,?,?,?,?,?,?,0,0,?,?)",
        (
            match_id,
            peer,
            request_id,
            created_at,
            purpose,
            legal_basis,
            case_reference,
            officer,
            reveal,
            transcript_hash,
            policy_digest,
        ),
    )


def add_request(
    conn: Connection,
    *,
    match_id: str,
    request_id: str,
    chunk: int,
    created_at: str,
    elements: int,
    hits: int,
    transcript_hash: str,
    policy_digest: str,
) -> None:
    """Record one chunk request of a match and add it to the match's totals."""
    conn.execute(
        "INSERT INTO match_requests (request_id, match_id, chunk, created_at, elements, hits, "
        "transcript_hash, policy_digest) VALUES (?,?,?,?,?,?,?,?)",
        (request_id, match_id, chunk, created_at, elements, hits, transcript_hash, policy_digest),
    )
    conn.execute(
        "UPDATE matches SET elements = elements + ?, hits = hits + ?, policy_digest = ? "
        "WHERE match_id = ?",
        (elements, hits, policy_digest, match_id),
    )


def add_hits(conn: Connection, match_id: str, hits: Iterable[tuple[int, str, str, str]]) -> None:
    """Store hits as (row number, record id, key type, match key)."""
    conn.executemany(
        "INSERT INTO match_hits (match_id, row_number, record_id, key_type, match_key) "
        "VALUES (?,?,?,?,?)",
        [(match_id, *hit) for hit in hits],
    )


def exists(conn: Connection, match_id: str) -> bool:
    return (
        conn.execute("SELECT 1 FROM matches WHERE match_id = ?", (match_id,)).fetchone() is not None
    )


def get(conn: Connection, match_id: str) -> dict[str, Any] | None:
    """The match row (peer, purpose, legal basis, case, officer, totals...), or None."""
    row = conn.execute(
        "SELECT match_id, peer, request_id, created_at, purpose, legal_basis, case_reference, "
        "officer, reveal, elements, hits, transcript_hash, policy_digest "
        "FROM matches WHERE match_id = ?",
        (match_id,),
    ).fetchone()
    return dict(row) if row else None


def requests_of(conn: Connection, match_id: str) -> list[dict[str, Any]]:
    """The chunk requests of a match, in order."""
    rows = conn.execute(
        "SELECT request_id, chunk, created_at, elements, hits, transcript_hash, policy_digest "
        "FROM match_requests WHERE match_id = ? ORDER BY chunk",
        (match_id,),
    )
    return [dict(r) for r in rows]


_HIT = (
    "SELECT h.hit_id, h.match_id, m.peer, h.row_number, h.record_id, h.key_type, h.match_key "
    "FROM match_hits h JOIN matches m ON m.match_id = h.match_id"
)


def hits(
    conn: Connection,
    match_id: str | None = None,
    hit_ids: Sequence[int] = (),
    rows: Sequence[int] = (),
) -> list[tuple[int, str, str, int, str, str, str]]:
    """(hit id, match id, peer, row, record id, key type, key) of hits meeting every filter."""
    clauses: list[str] = []
    args: list[object] = []
    if match_id:
        clauses.append("h.match_id = ?")
        args.append(match_id)
    if hit_ids:
        clauses.append(f"h.hit_id IN ({','.join('?' * len(hit_ids))})")
        args.extend(hit_ids)
    if rows:
        clauses.append(f"h.row_number IN ({','.join('?' * len(rows))})")
        args.extend(rows)
    where = f" WHERE {' AND '.join(clauses)}" if clauses else ""
    found = conn.execute(f"{_HIT}{where} ORDER BY h.hit_id", args)
    return [
        (int(r[0]), str(r[1]), str(r[2]), int(r[3]), str(r[4]), str(r[5]), str(r[6])) for r in found
    ]


def recent_hits(
    conn: Connection, match_id: str | None, peer: str | None, limit: int
) -> list[dict[str, Any]]:
    """Stored hits, newest match first, for listing (optionally of one match or one peer)."""
    rows = conn.execute(
        "SELECT h.hit_id, m.match_id, m.peer, m.created_at, m.case_reference, h.row_number, "
        "h.record_id, h.key_type FROM match_hits h JOIN matches m ON m.match_id = h.match_id "
        "WHERE (? IS NULL OR m.match_id = ?) AND (? IS NULL OR m.peer = ?) "
        "ORDER BY m.created_at DESC, h.hit_id LIMIT ?",
        (match_id, match_id, peer, peer, limit),
    )
    return [dict(r) for r in rows]


def latest(conn: Connection, peer: str, reveal: str = "intersection") -> str | None:
    """The id of the newest match with ``peer`` in the given reveal mode, or None."""
    row = conn.execute(
        "SELECT match_id FROM matches WHERE peer = ? AND reveal = ? "
        "ORDER BY created_at DESC, rowid DESC LIMIT 1",
        (peer, reveal),
    ).fetchone()
    return str(row[0]) if row else None
