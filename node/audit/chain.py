"""Appending entries to the hash-chained audit trail.

Every entry's hash is ``SHA-256(prev_hash || SHA-256(canonical_json(body)))``
(chain version 2; entries written before it, version 1, hash ``prev_hash ||
canonical_json(body)``) where the body holds the sequence number, time, event,
every non-personal field and the salted-hash commitments to personal content.
Hashing the body's digest lets a witness check that a new head extends an old
one from digests alone, never an entry's content. Sequence numbers start at 1
and are contiguous; the first entry's ``prev_hash`` is :data:`GENESIS_HASH`.

The entry is written in the caller's open transaction (``BEGIN IMMEDIATE``
already holds the database write lock), so the head read here cannot change
before the insert: two processes appending at once queue on the lock instead
of forking the chain, and an action and its entry commit together or not at all.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from node.audit.errors import InvalidAuditFieldError, NotInTransactionError, UnknownEventError
from node.audit.events import EVENTS
from node.store import audit as repo
from node.store import timecodec
from node.store.backend import Connection, Row

CHAIN_VERSION = 2
#: Every chain version verify understands (1: body hashed directly; 2: its digest).
CHAIN_VERSIONS = (1, 2)
GENESIS_HASH = "0" * 64

# Personal content: committed by salted hash, clear value kept in a purgeable table.
PERSONAL_FIELDS: tuple[str, ...] = ("actor", "officer", "justification", "case_reference")
# Non-personal fields stored in clear, with their type.
TEXT_FIELDS: tuple[str, ...] = (
    "counterpart",
    "purpose",
    "legal_basis",
    "request_id",
    "transcript_hash",
    "policy_digest",
    "status",
)
INT_FIELDS: tuple[str, ...] = ("elements", "hits")
ALL_FIELDS: frozenset[str] = frozenset(
    (*PERSONAL_FIELDS, *TEXT_FIELDS, *INT_FIELDS, "key_types", "details")
)

MAX_TEXT = 512
MAX_PERSONAL_TEXT = 8192  # justifications are free text written by officers
MAX_DETAILS_BYTES = 4096
# ``details`` keys that always name personal content: refused whatever the value.
PERSONAL_DETAIL_KEYS = frozenset((*PERSONAL_FIELDS, "name", "names", "justifications"))
# Keys that would carry match material or record contents unless they are mere counts
# (``{"keys": 120}`` is a count; ``{"keys": ["v1|passport|..."]}`` is not).
CONTENT_DETAIL_KEYS = frozenset(
    (
        "identifier",
        "identifiers",
        "key",
        "keys",
        "match_keys",
        "elements",
        "psi",
        "setup",
        "request_bytes",
        "response_bytes",
        "record",
        "records",
        "fields",
        "content",
        "value",
        "values",
    )
)


@dataclass(frozen=True)
class AuditEntry:
    """One entry of the audit trail as stored (personal content only as commitments)."""

    seq: int
    entry_id: str
    ts: str
    event: str
    fields: Mapping[str, Any]
    commitments: Mapping[str, str]
    prev_hash: str
    entry_hash: str
    personal: Mapping[str, str] = field(default_factory=dict)

    @property
    def timestamp(self) -> datetime:
        return parse_ts(self.ts)


def format_ts(moment: datetime) -> str:
    """Fixed-width UTC text, so string order equals time order in SQL (the store's codec)."""
    if moment.tzinfo is None:
        raise ValueError("audit timestamps must be timezone-aware")
    return timecodec.format_ts(moment)


def parse_ts(text: str) -> datetime:
    """Read an entry's timestamp in any form the trail ever wrote."""
    return timecodec.parse_ts(text)


def canonical_json(value: object) -> bytes:
    """The one byte form hashed and signed: sorted keys, no spaces, UTF-8."""
    return json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    ).encode("utf-8")


def commit_personal(field_name: str, value: str, salt_hex: str) -> str:
    """Salted-hash commitment to one personal value (the salt makes guessing useless)."""
    digest = hashlib.sha256()
    digest.update(b"spoor-audit-personal-v1\x00")
    digest.update(field_name.encode("utf-8") + b"\x00")
    digest.update(bytes.fromhex(salt_hex))
    digest.update(value.encode("utf-8"))
    return digest.hexdigest()


def entry_body(
    *,
    seq: int,
    entry_id: str,
    ts: str,
    event: str,
    fields: Mapping[str, Any],
    commitments: Mapping[str, str],
    version: int = CHAIN_VERSION,
) -> dict[str, Any]:
    """The hashed content of an entry: everything except the hashes themselves."""
    return {
        "v": version,
        "seq": seq,
        "id": entry_id,
        "ts": ts,
        "event": event,
        "fields": dict(fields),
        "commitments": dict(commitments),
    }


def body_digest(body: Mapping[str, Any]) -> str:
    """SHA-256 of an entry body: what a witness sees of an entry (chain version 2)."""
    return hashlib.sha256(canonical_json(body)).hexdigest()


def link_hash(prev_hash: str, digest: str) -> str:
    """A version-2 entry hash from its predecessor's hash and its body digest."""
    return hashlib.sha256(bytes.fromhex(prev_hash) + bytes.fromhex(digest)).hexdigest()


def chain_hash(prev_hash: str, body: Mapping[str, Any]) -> str:
    """The entry hash of ``body`` after ``prev_hash``, by the body's chain version."""
    version = body.get("v", 1)
    if version not in CHAIN_VERSIONS:
        raise ValueError(f"unknown audit chain version {version!r}")
    if version >= 2:
        return link_hash(prev_hash, body_digest(body))
    digest = hashlib.sha256()
    digest.update(bytes.fromhex(prev_hash))
    digest.update(canonical_json(body))
    return digest.hexdigest()


def _check_text(name: str, value: object, limit: int = MAX_TEXT) -> str:
    if not isinstance(value, str):
        raise InvalidAuditFieldError(name, f"expected text, got {type(value).__name__}")
    if len(value) > limit:
        raise InvalidAuditFieldError(name, f"longer than {limit} characters")
    return value


def _check_key_types(value: object) -> list[str]:
    if isinstance(value, str | bytes) or not isinstance(value, list | tuple):
        raise InvalidAuditFieldError("key_types", "expected a list of key type names")
    names = [_check_text("key_types", item) for item in value]
    if not all(names):
        raise InvalidAuditFieldError("key_types", "key type names must not be empty")
    return names


def _check_details(value: object) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise InvalidAuditFieldError("details", f"expected a dict, got {type(value).__name__}")
    for key, item in value.items():
        if not isinstance(key, str):
            raise InvalidAuditFieldError("details", "keys must be text")
        is_count = isinstance(item, int | float) or item is None
        if key.lower() in PERSONAL_DETAIL_KEYS or (
            key.lower() in CONTENT_DETAIL_KEYS and not is_count
        ):
            raise InvalidAuditFieldError(
                "details",
                f"key {key!r} would carry personal content or match material; "
                "details hold only non-personal counts and ids",
            )
    try:
        encoded = canonical_json(value)
    except (TypeError, ValueError) as exc:
        raise InvalidAuditFieldError("details", f"not JSON-serialisable ({exc})") from exc
    if len(encoded) > MAX_DETAILS_BYTES:
        raise InvalidAuditFieldError("details", f"larger than {MAX_DETAILS_BYTES} bytes")
    parsed: dict[str, Any] = json.loads(encoded)
    return parsed


def validate_fields(
    event: str, given: Mapping[str, object]
) -> tuple[dict[str, Any], dict[str, str]]:
    """Split keyword fields into (clear non-personal fields, personal values); refuse bad ones."""
    if event not in EVENTS:
        raise UnknownEventError(event)
    clear: dict[str, Any] = {}
    personal: dict[str, str] = {}
    for name, value in given.items():
        if name not in ALL_FIELDS:
            raise InvalidAuditFieldError(name, "not an audit field (see node.audit.append)")
        if value is None or value == "":  # absent: nothing to record
            continue
        if name in PERSONAL_FIELDS:
            personal[name] = _check_text(name, value, MAX_PERSONAL_TEXT)
        elif name in TEXT_FIELDS:
            clear[name] = _check_text(name, value)
        elif name in INT_FIELDS:
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise InvalidAuditFieldError(name, "expected a non-negative integer")
            clear[name] = value
        elif name == "key_types":
            clear[name] = _check_key_types(value)
        else:
            details = _check_details(value)
            if details:  # an empty dict is stored as absent, so it hashes the same way back
                clear[name] = details
    return clear, personal


def head(conn: Connection) -> tuple[int, str]:
    """(last sequence number, its hash); (0, GENESIS_HASH) for an empty trail."""
    return repo.head(conn) or (0, GENESIS_HASH)


def append_entry(
    conn: Connection,
    event: str,
    fields: Mapping[str, object],
    *,
    now: datetime | None = None,
) -> AuditEntry:
    """Validate, chain and insert one entry in the caller's open transaction."""
    if not conn.in_transaction:
        raise NotInTransactionError(event)
    clear, personal = validate_fields(event, fields)
    salts = {name: secrets.token_hex(16) for name in personal}
    commitments = {name: commit_personal(name, personal[name], salts[name]) for name in personal}
    last_seq, prev_hash = head(conn)
    seq = last_seq + 1
    entry_id = str(uuid.uuid4())
    ts = format_ts(now or datetime.now(UTC))
    body = entry_body(
        seq=seq, entry_id=entry_id, ts=ts, event=event, fields=clear, commitments=commitments
    )
    entry_hash = chain_hash(prev_hash, body)
    repo.add_entry(
        conn,
        (
            seq,
            entry_id,
            ts,
            event,
            *(clear.get(name) for name in ("counterpart", "purpose", "legal_basis")),
            *(clear.get(name) for name in ("request_id", "transcript_hash", "policy_digest")),
            json.dumps(clear["key_types"]) if "key_types" in clear else None,
            clear.get("elements"),
            clear.get("hits"),
            clear.get("status"),
            canonical_json(clear.get("details", {})).decode("utf-8"),
            canonical_json(commitments).decode("utf-8"),
            prev_hash,
            entry_hash,
            CHAIN_VERSION,
        ),
    )
    repo.add_personal(conn, [(seq, name, personal[name], salts[name]) for name in sorted(personal)])
    return AuditEntry(seq, entry_id, ts, event, clear, commitments, prev_hash, entry_hash, personal)


def row_fields(row: Row) -> dict[str, Any]:
    """The clear (non-personal) fields of a stored row, exactly as they were hashed."""
    out: dict[str, Any] = {}
    for name in TEXT_FIELDS:
        if row[name] is not None:
            out[name] = row[name]
    for name in INT_FIELDS:
        if row[name] is not None:
            out[name] = row[name]
    if row["key_types"] is not None:
        out["key_types"] = json.loads(row["key_types"])
    details = json.loads(row["details"])
    if details:
        out["details"] = details
    return out


def row_body(row: Row) -> dict[str, Any]:
    """The hashed body of a stored row, in the chain version it was written in."""
    return entry_body(
        seq=int(row["seq"]),
        entry_id=str(row["entry_id"]),
        ts=str(row["ts"]),
        event=str(row["event"]),
        fields=row_fields(row),
        commitments=json.loads(row["commitments"]),
        version=int(row["chain_version"]),
    )


def row_to_entry(row: Row, personal: Mapping[str, str] | None = None) -> AuditEntry:
    return AuditEntry(
        seq=int(row["seq"]),
        entry_id=str(row["entry_id"]),
        ts=str(row["ts"]),
        event=str(row["event"]),
        fields=row_fields(row),
        commitments=json.loads(row["commitments"]),
        prev_hash=str(row["prev_hash"]),
        entry_hash=str(row["entry_hash"]),
        personal=dict(personal or {}),
    )
