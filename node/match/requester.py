"""The requester's side of a match: from a file of rows to hits per counterpart.

The requester derives match keys from its own rows, blinds them under a fresh
PSI client key per request, and learns which of them each counterpart holds.
The counterpart's setup and response are treated as hostile: they are
validated and the intersection runs in a worker process (``node.psi``).

Counterparts are reached through a :class:`~node.match.channel.MatchChannel`
(gRPC in production, a fake in tests); who asks and why is one
``policy.RequestContext`` per counterpart, checked where the request entered.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import policy as policy_lang
from node import audit, store
from node.errors import InvalidRequest, SpoorError, VersionMismatch
from node.match import limits, vocabulary
from node.match.channel import ChannelFactory, MatchChannel
from node.match.plausibility import ImplausibleReply, check_hit_count, check_response_points
from node.match.responder import (
    PROTOCOL_VERSION,
    MatchCall,
    MatchReply,
    key_types_of,
    transcript_hash,
)
from node.peers.channel import PeerCallFailed, PeerDescription
from node.psi import PSI_PROTOCOL_VERSION
from node.psi import client as psi_client
from node.psi.errors import MalformedPsiMessage, PsiWorkerFailed
from node.records.io import read_records
from node.records.keys import KEY_SCHEME_VERSION, SUPPORTED_SCHEMES, derive_keys
from node.records.model import Record
from node.records.schemes import choose_scheme, keys_of_scheme
from node.store import Connection, matches
from node.store.timecodec import now_ts


class QueryFileInvalid(SpoorError):
    """The file of rows to match has rows that could not be read."""

    FIELDS = ("path", "errors")

    def __init__(self, path: Path, errors: Sequence[str]) -> None:
        self.path = path
        self.errors = list(errors)
        super().__init__(f"{path}: {len(self.errors)} row(s) could not be read; nothing was sent")


@dataclass
class RowResult:
    """One input row and what matched where."""

    row_number: int
    record_id: str
    kind: str
    keys: dict[str, str]  # key value -> key type, matchable keys only
    problems: list[str] = field(default_factory=list)
    hits: dict[str, list[str]] = field(default_factory=dict)  # peer -> key types


@dataclass
class PeerOutcome:
    """What one counterpart answered."""

    agency_id: str
    match_id: str | None = None
    elements: int = 0
    hits: int = 0
    cardinality_only: bool = False
    error: str | None = None
    policy_digest: str = ""
    budget_remaining: int | None = None


@dataclass
class MatchReport:
    """The whole result of ``spoor match``."""

    rows: list[RowResult]
    peers: list[PeerOutcome]
    reveal: str


def load_rows(
    path: Path,
    fmt: str | None = None,
    mapping: dict[str, str] | None = None,
    *,
    default_region: str | None = None,
) -> list[RowResult]:
    """Read the rows to match and derive their keys in every supported scheme.

    Each counterpart is then asked in the newest scheme it shares
    (:func:`node.records.schemes.choose_scheme`); problems are reported from
    the newest scheme's derivation.
    """
    result = read_records(path, fmt=fmt, mapping=mapping)
    if result.errors:
        raise QueryFileInvalid(path, [str(e) for e in result.errors])
    return rows_of_records(result.records, default_region=default_region)


def rows_of_records(
    records: Sequence[Record], *, default_region: str | None = None
) -> list[RowResult]:
    """Rows to match from validated records, numbered from 1, with keys of every scheme."""
    rows: list[RowResult] = []
    for index, record in enumerate(records, start=1):
        keys: dict[str, str] = {}
        problems: list[str] = []
        for scheme in sorted(SUPPORTED_SCHEMES, reverse=True):
            derivation = derive_keys(record, scheme, default_region=default_region)
            keys.update({k.value: k.key_type for k in derivation.keys if k.matchable})
            if scheme == KEY_SCHEME_VERSION:
                problems = list(derivation.problems)
        if not keys_of_scheme(keys, KEY_SCHEME_VERSION):
            problems.append("no matchable key (a bare name or year is not matched alone)")
        rows.append(RowResult(index, record.record_id, record.kind, keys, problems))
    return rows


def _chunks(items: list[str], size: int) -> list[list[str]]:
    return [items[i : i + size] for i in range(0, len(items), size)] or [[]]


def _check_description(channel: MatchChannel, described: PeerDescription) -> None:
    """Refuse a counterpart that is not who we called or speaks other versions."""
    if described.agency_id != channel.peer_id:
        raise InvalidRequest(
            "peer",
            f"the node at {channel.address} says it is {described.agency_id!r}, "
            f"not {channel.peer_id!r}; check 'spoor peers list'",
        )
    if described.protocol_version != PROTOCOL_VERSION:
        raise VersionMismatch("protocol version", PROTOCOL_VERSION, described.protocol_version)
    choose_scheme(described.schemes())  # VersionMismatch when no scheme is shared


def match_peer(
    conn: Connection,
    channel: MatchChannel,
    rows: list[RowResult],
    context: policy_lang.RequestContext,
    *,
    reveal_intersection: bool,
) -> PeerOutcome:
    """Run PSI against one counterpart and record hits on the rows.

    The keys go in chunks of at most what the counterpart's Describe says one
    request may carry; each chunk is a fresh PSI session.
    """
    peer_id = channel.peer_id
    outcome = PeerOutcome(agency_id=peer_id, cardinality_only=not reveal_intersection)
    described = channel.describe()
    _check_description(channel, described)
    scheme = choose_scheme(described.schemes())
    by_key: dict[str, list[RowResult]] = {}
    for row in rows:
        for k in keys_of_scheme(row.keys, scheme):
            by_key.setdefault(k, []).append(row)
    all_keys = sorted(by_key)
    if vocabulary.CAPABILITY in described.capabilities and described.vocabulary is not None:
        # Refused here, before anything is sent, rather than answered "0 hits".
        vocabulary.check_advertised(peer_id, described.vocabulary, context, len(all_keys))
    matched: set[str] = set()
    chunk_size = limits.chunk_size(peer_id, described.max_elements_per_request, len(all_keys))
    # One user-level match has one match id however many requests it takes.
    match_id = str(uuid.uuid4())
    for number, chunk in enumerate(_chunks(all_keys, chunk_size), start=1):
        if not chunk:
            break
        session = psi_client.start(chunk, reveal=reveal_intersection)
        call = MatchCall(
            context=context,
            protocol_version=PROTOCOL_VERSION,
            key_scheme_version=scheme,
            psi_protocol_version=PSI_PROTOCOL_VERSION,
            reveal_intersection=reveal_intersection,
            psi_request=session.request_bytes,
            request_id=str(uuid.uuid4()),
            key_types=tuple(key_types_of(chunk)),
        )
        reply = channel.match(call)
        check_response_points(peer_id, reply.psi_response)
        limits.check_policy_digest(peer_id, reply.policy_digest)
        result = session.finish(reply.server_setup, reply.psi_response)
        check_hit_count(peer_id, len(chunk), result.count, reply.server_setup)
        chunk_hits = [chunk[i] for i in (result.indices or [])]
        matched.update(chunk_hits)
        outcome.elements += len(chunk)
        outcome.hits += result.count
        outcome.policy_digest = reply.policy_digest
        outcome.budget_remaining = reply.budget_remaining
        save_chunk(
            conn, peer_id, call, reply, chunk, result.count, chunk_hits, by_key, match_id, number
        )
        outcome.match_id = match_id
    for key in matched:
        for row in by_key[key]:
            row.hits.setdefault(peer_id, [])
            if row.keys[key] not in row.hits[peer_id]:
                row.hits[peer_id].append(row.keys[key])
    return outcome


def save_chunk(
    conn: Connection,
    peer_id: str,
    call: MatchCall,
    reply: MatchReply,
    chunk: list[str],
    count: int,
    chunk_hits: list[str],
    by_key: Mapping[str, list[RowResult]],
    match_id: str,
    number: int,
) -> None:
    """Store one answered chunk (request ``number`` of match ``match_id``), its hits and
    its audit entry in one transaction."""
    ctx = call.context
    request_id = call.request_id
    reveal = "intersection" if call.reveal_intersection else "cardinality"
    digest = transcript_hash(request_id, call.psi_request, reply.server_setup, reply.psi_response)
    now = now_ts()
    with store.transaction(conn):
        if number == 1:
            matches.create(
                conn,
                match_id=match_id,
                peer=peer_id,
                request_id=request_id,
                created_at=now,
                purpose=ctx.purpose,
                legal_basis=ctx.legal_basis,
                case_reference=ctx.case_reference,
                officer=ctx.officer,
                reveal=reveal,
                transcript_hash=digest,
                policy_digest=reply.policy_digest,
            )
        matches.add_request(
            conn,
            match_id=match_id,
            request_id=request_id,
            chunk=number,
            created_at=now,
            elements=len(chunk),
            hits=count,
            transcript_hash=digest,
            policy_digest=reply.policy_digest,
        )
        matches.add_hits(
            conn,
            match_id,
            (
                (row.row_number, row.record_id, row.keys[key], key)
                for key in chunk_hits
                for row in by_key[key]
            ),
        )
        audit.append(
            conn,
            "match.requested",
            counterpart=peer_id,
            purpose=ctx.purpose,
            legal_basis=ctx.legal_basis,
            case_reference=ctx.case_reference,
            officer=ctx.officer,
            request_id=request_id,
            transcript_hash=digest,
            policy_digest=reply.policy_digest,
            key_types=key_types_of(chunk),
            elements=len(chunk),
            hits=count,
            status="OK",
            details={"match_id": match_id, "reveal": reveal, "chunk": number},
        )


@dataclass
class DryRunOutcome:
    """What a match would send one counterpart, and whether it would be accepted."""

    agency_id: str
    elements: int = 0
    requests: int = 0
    budget_remaining: int | None = None
    vocabulary_checked: bool = False
    error: str | None = None


def dry_run(
    rows: list[RowResult],
    contexts: Mapping[str, policy_lang.RequestContext],
    channels: ChannelFactory,
) -> list[DryRunOutcome]:
    """Describe each counterpart and check the match against what it advertises; send no Match."""
    outcomes: list[DryRunOutcome] = []
    for peer_id, context in contexts.items():
        outcome = DryRunOutcome(peer_id)
        try:
            with channels(peer_id) as channel:
                described = channel.describe()
                _check_description(channel, described)
                scheme = choose_scheme(described.schemes())
                keys = sorted({k for row in rows for k in keys_of_scheme(row.keys, scheme)})
                outcome.elements = len(keys)
                size = max(1, described.max_elements_per_request)
                outcome.requests = -(-len(keys) // size)
                advertised = described.vocabulary
                if vocabulary.CAPABILITY in described.capabilities and advertised is not None:
                    outcome.budget_remaining = advertised.budget_remaining
                    outcome.vocabulary_checked = True
                    vocabulary.check_advertised(peer_id, advertised, context, len(keys))
        except (PeerCallFailed, VersionMismatch, InvalidRequest) as exc:
            outcome.error = str(exc)
        outcomes.append(outcome)
    return outcomes


def run_match(
    conn: Connection,
    rows: list[RowResult],
    contexts: Mapping[str, policy_lang.RequestContext],
    channels: ChannelFactory,
    *,
    reveal_intersection: bool = True,
) -> MatchReport:
    """Match the rows against each counterpart in turn; one failing peer does not stop the rest.

    ``contexts`` maps each counterpart to who asks and why with it (the legal
    basis differs from one counterpart to the next), already checked.
    """
    outcomes: list[PeerOutcome] = []
    for peer_id, context in contexts.items():
        try:
            with channels(peer_id) as channel:
                outcomes.append(
                    match_peer(
                        conn, channel, rows, context, reveal_intersection=reveal_intersection
                    )
                )
        except (
            PeerCallFailed,
            VersionMismatch,
            InvalidRequest,
            MalformedPsiMessage,
            PsiWorkerFailed,
            ImplausibleReply,
        ) as exc:
            # A counterpart's bad answer loses only its own result.
            outcomes.append(PeerOutcome(agency_id=peer_id, error=str(exc)))
    return MatchReport(
        rows=rows,
        peers=outcomes,
        reveal="intersection" if reveal_intersection else "cardinality",
    )
