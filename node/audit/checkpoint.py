"""Signed checkpoints: the node's signed statement of (entry count, head hash, time).

A checkpoint pins the chain's length. An auditor who keeps one elsewhere can
later detect a truncated tail or a rewritten history, which a hash chain alone
cannot show. Checkpoints are signed with the node's Ed25519 audit key, kept
apart from the database (:mod:`node.audit.keys`); the public key travels
inside every checkpoint and export, and the chain records which key is in
force from which entry on.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)

from node import store
from node.app.home import NodeHome
from node.audit import keys
from node.audit.chain import canonical_json, format_ts, head, parse_ts
from node.audit.errors import CheckpointError, SigningKeyMismatchError, SigningKeyMissingError
from node.audit.keys import Signer, public_key_hex
from node.store import audit as repo
from node.store.backend import Connection

CHECKPOINT_TYPE = "spoor-audit-checkpoint"
CHECKPOINT_VERSION = 1


@dataclass(frozen=True)
class Checkpoint:
    """A signed (entry count, head hash) statement about this node's audit chain."""

    entry_count: int
    head_hash: str
    created_at: str
    public_key: str  # raw Ed25519 public key, hex
    signature: str  # Ed25519 signature over signed_payload(), hex
    agency_id: str | None = None

    def signed_payload(self) -> bytes:
        return canonical_json(
            {
                "type": CHECKPOINT_TYPE,
                "v": CHECKPOINT_VERSION,
                "agency_id": self.agency_id,
                "entry_count": self.entry_count,
                "head_hash": self.head_hash,
                "created_at": self.created_at,
                "public_key": self.public_key,
            }
        )

    def signature_valid(self) -> bool:
        """True when the signature matches the payload under the embedded public key."""
        try:
            key = Ed25519PublicKey.from_public_bytes(bytes.fromhex(self.public_key))
            key.verify(bytes.fromhex(self.signature), self.signed_payload())
        except (InvalidSignature, ValueError):
            return False
        return True

    def to_json(self) -> str:
        data: dict[str, Any] = {"type": CHECKPOINT_TYPE, "v": CHECKPOINT_VERSION, **asdict(self)}
        data["algorithm"] = "Ed25519"
        return json.dumps(data, indent=2, sort_keys=True)

    @classmethod
    def from_mapping(cls, data: object, source: str) -> Checkpoint:
        if not isinstance(data, dict) or data.get("type") != CHECKPOINT_TYPE:
            raise CheckpointError(source, "not a Spoor audit checkpoint")
        if data.get("v") != CHECKPOINT_VERSION:
            raise CheckpointError(source, f"unsupported checkpoint version {data.get('v')!r}")
        try:
            checkpoint = cls(
                entry_count=int(data["entry_count"]),
                head_hash=str(data["head_hash"]),
                created_at=str(data["created_at"]),
                public_key=str(data["public_key"]),
                signature=str(data["signature"]),
                agency_id=None if data.get("agency_id") is None else str(data["agency_id"]),
            )
            parse_ts(checkpoint.created_at)
        except (KeyError, TypeError, ValueError) as exc:
            raise CheckpointError(source, f"missing or malformed field ({exc})") from exc
        return checkpoint


def load_checkpoint_file(path: Path) -> Checkpoint:
    """Read a checkpoint JSON file as printed by ``spoor audit checkpoint``."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise CheckpointError(str(path), f"cannot read checkpoint: {exc}") from exc
    return Checkpoint.from_mapping(data, str(path))


def ensure_signing_key(home: NodeHome) -> Signer:
    """The node's audit signer as it is now; raises when there is none (see :mod:`keys`)."""
    signer = keys.load_signer(home)
    if signer is None:
        raise SigningKeyMissingError(keys.key_location(home))
    return signer


def node_public_key(home: NodeHome) -> str | None:
    """The hex public audit key of this node, or None if no key is where it should be."""
    signer = keys.load_signer(home)
    return None if signer is None else signer.public_key_hex()


def _agency_id(home: NodeHome) -> str | None:
    from node.app.config import ConfigError, load_config

    try:
        return load_config(home).agency_id
    except ConfigError:
        return None


def sign_checkpoint(
    key: Ed25519PrivateKey | Signer,
    entry_count: int,
    head_hash: str,
    created_at: str,
    agency_id: str | None = None,
) -> Checkpoint:
    public = key.public_key_hex() if not isinstance(key, Ed25519PrivateKey) else public_key_hex(key)
    unsigned = Checkpoint(entry_count, head_hash, created_at, public, "", agency_id)
    signature = key.sign(unsigned.signed_payload()).hex()
    return Checkpoint(entry_count, head_hash, created_at, unsigned.public_key, signature, agency_id)


def _store(conn: Connection, checkpoint: Checkpoint) -> None:
    repo.add_checkpoint(
        conn,
        (
            checkpoint.entry_count,
            checkpoint.head_hash,
            checkpoint.created_at,
            checkpoint.public_key,
            checkpoint.signature,
            checkpoint.agency_id,
        ),
    )


def write_checkpoint(
    conn: Connection, home: NodeHome, *, now: datetime | None = None
) -> Checkpoint:
    """Sign the current head, store the checkpoint and return it.

    Runs in its own ``BEGIN IMMEDIATE`` transaction (or the caller's, if one is
    open), so the head cannot move between reading and storing it.
    """
    if conn.in_transaction:
        return _write_checkpoint(conn, home, now)
    with store.transaction(conn):
        return _write_checkpoint(conn, home, now)


def _write_checkpoint(conn: Connection, home: NodeHome, now: datetime | None) -> Checkpoint:
    key = keys.require_signer(conn, home)
    expected = keys.keys_in_force(conn, key.public_key_hex())
    in_force = expected[-1][1] if expected else key.public_key_hex()
    if in_force != key.public_key_hex():
        raise SigningKeyMismatchError(key.describe(), in_force, key.public_key_hex())
    count, head_hash = head(conn)
    created = format_ts(now or datetime.now(UTC))
    checkpoint = sign_checkpoint(key, count, head_hash, created, _agency_id(home))
    _store(conn, checkpoint)
    return checkpoint


def stored_checkpoints(conn: Connection) -> list[Checkpoint]:
    """Every checkpoint stored in the database, oldest first."""
    rows = repo.checkpoints(conn)
    return [
        Checkpoint(
            int(r[0]), str(r[1]), str(r[2]), str(r[3]), str(r[4]), None if r[5] is None else r[5]
        )
        for r in rows
    ]


def maybe_checkpoint(
    conn: Connection,
    home: NodeHome,
    every_entries: int = 100,
    every_seconds: float = 3600,
    *,
    now: datetime | None = None,
) -> Checkpoint | None:
    """Write a checkpoint when enough entries or time passed since the last one.

    Meant to be called periodically by the server; returns None when nothing
    new needs pinning.
    """
    moment = now or datetime.now(UTC)
    count, _ = head(conn)
    last = repo.last_checkpoint(conn)
    if last is None:
        due = count > 0
    else:
        new_entries = count - int(last[0])
        age = (moment - parse_ts(str(last[1]))).total_seconds()
        due = new_entries >= every_entries or (new_entries > 0 and age >= every_seconds)
    return write_checkpoint(conn, home, now=moment) if due else None
