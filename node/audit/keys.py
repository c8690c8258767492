"""The audit signing key: where it lives, its explicit lifecycle, its history in the chain.

The key that signs checkpoints is kept apart from the data it vouches for:
by default in ``<home's parent>/<home name>-signing/audit-signing.key`` (a
directory of its own, mode 0700, the file 0600), or wherever ``[audit]
signing_key`` in ``spoor.toml`` says, or in a PKCS#11 token
(``signing_key = "pkcs11:token=<label>;object=<label>"``, see
:mod:`node.audit.pkcs11`) so the private key never sits in a file at all.
A home made before this layout keeps its key in ``keys/audit-signing.key``:
it is still read, with a warning naming ``spoor audit key move``.

The key is created once, with the home (an ``audit.key_created`` entry; a
trail that has neither a key entry nor a checkpoint gets its key at its first
checkpoint, which then names it).
After that, a missing key is an error, never a silent new key: losing or
replacing it is an explicit, audited command (``spoor audit key lost``,
``spoor audit key rotate``), and the chain itself records which public key
is in force from which entry on, so ``verify`` knows which key each
checkpoint must carry.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)

from node.app.home import NodeHome, write_private
from node.audit.errors import CheckpointError, SigningKeyMismatchError, SigningKeyMissingError
from node.store import audit as repo
from node.store.backend import Connection

KEY_FILE = "audit-signing.key"
ENV_KEY = "SPOOR_AUDIT_SIGNING_KEY"
PKCS11_PREFIX = "pkcs11:"
KEY_EVENTS = ("audit.key_created", "audit.key_rotated", "audit.key_lost")


class Signer(Protocol):
    """Something that signs checkpoints with the node's Ed25519 audit key."""

    def public_key_hex(self) -> str: ...

    def sign(self, payload: bytes) -> bytes: ...

    def describe(self) -> str: ...


def public_key_hex(key: Ed25519PrivateKey | Ed25519PublicKey) -> str:
    public = key.public_key() if isinstance(key, Ed25519PrivateKey) else key
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return raw.hex()


@dataclass(frozen=True)
class FileSigner:
    """An Ed25519 key in a PEM file (mode 0600) outside the node's database directory."""

    path: Path
    key: Ed25519PrivateKey

    def public_key_hex(self) -> str:
        return public_key_hex(self.key)

    def sign(self, payload: bytes) -> bytes:
        return self.key.sign(payload)

    def describe(self) -> str:
        return str(self.path)


def _configured(home: NodeHome) -> str:
    from node.app.config import ConfigError, load_config

    try:
        return load_config(home).audit.signing_key
    except ConfigError:
        return ""


def default_key_path(home: NodeHome) -> Path:
    """``<parent>/<home name>-signing/audit-signing.key``: beside the home, not inside it."""
    return home.root.parent / f"{home.root.name}-signing" / KEY_FILE


def key_location(home: NodeHome) -> str:
    """Where this node's key is: a file path, or a ``pkcs11:`` URI.

    ``[audit] signing_key`` wins; else ``$SPOOR_AUDIT_SIGNING_KEY`` (set by the
    container image, whose keys are a separate read-only mount); else the default.
    """
    configured = _configured(home) or os.environ.get(ENV_KEY, "")
    if configured.startswith(PKCS11_PREFIX):
        return configured
    if configured:
        path = Path(configured).expanduser()
        return str(path if path.is_absolute() else home.root / path)
    return str(default_key_path(home))


def legacy_key_in_use(home: NodeHome) -> bool:
    """True when the key still sits in ``keys/`` beside the database (a home from before)."""
    location = key_location(home)
    return (
        not location.startswith(PKCS11_PREFIX)
        and not Path(location).exists()
        and home.audit_key_path.exists()
    )


def legacy_warning(home: NodeHome) -> str:
    return (
        f"the audit signing key is still in {home.audit_key_path}, beside the database it "
        f"vouches for; move it apart with 'spoor audit key move' (to {key_location(home)})"
    )


def _read_pem(path: Path) -> Ed25519PrivateKey:
    try:
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    except (OSError, ValueError, TypeError) as exc:
        raise CheckpointError(str(path), f"cannot read the audit signing key: {exc}") from exc
    if not isinstance(key, Ed25519PrivateKey):
        raise CheckpointError(str(path), "the audit signing key is not an Ed25519 key")
    return key


def _write_pem(path: Path, key: Ed25519PrivateKey) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    os.chmod(path.parent, 0o700)
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    tmp = path.with_name(path.name + ".new")
    write_private(tmp, pem)
    tmp.replace(path)


def load_signer(home: NodeHome) -> Signer | None:
    """The node's signer, or None when no key is where it should be."""
    location = key_location(home)
    if location.startswith(PKCS11_PREFIX):
        from node.audit import pkcs11

        in_token = pkcs11.open_signer(home, location)
        if in_token is not None:
            return in_token
        # Moving to a token: the file key stays in force until 'spoor audit key rotate'.
        location = str(default_key_path(home))
    path = Path(location)
    if path.exists():
        return FileSigner(path, _read_pem(path))
    if home.audit_key_path.exists():
        return FileSigner(home.audit_key_path, _read_pem(home.audit_key_path))
    return None


def new_signer(home: NodeHome) -> Signer:
    """Create a fresh key where this node keeps it (replacing a file key that is there)."""
    location = key_location(home)
    if location.startswith(PKCS11_PREFIX):
        from node.audit import pkcs11

        return pkcs11.generate_signer(home, location)
    key = Ed25519PrivateKey.generate()
    _write_pem(Path(location), key)
    return FileSigner(Path(location), key)


def key_details(conn: Connection) -> list[tuple[int, str, dict[str, object]]]:
    out: list[tuple[int, str, dict[str, object]]] = []
    for seq, event, details in repo.events_of(conn, KEY_EVENTS):
        try:
            parsed = json.loads(details)
        except ValueError:
            parsed = {}
        out.append((seq, event, parsed if isinstance(parsed, dict) else {}))
    return out


def key_history(conn: Connection) -> list[tuple[int, str, str]]:
    """(seq, event, public key put in force) of every key entry, in chain order."""
    return [(seq, event, str(d.get("public_key", ""))) for seq, event, d in key_details(conn)]


def initial_key(conn: Connection, current: str | None) -> str | None:
    """The key in force before the first key entry (a home from before key entries)."""
    details = key_details(conn)
    if details and details[0][1] == "audit.key_created":
        return None
    if details:
        old = details[0][2].get("old_public_key")
        return str(old) if old else None
    # A home from before key entries: the key of its first checkpoint, else the one held now.
    return repo.first_checkpoint_key(conn) or current


def ever_had_key(conn: Connection) -> bool:
    """True once the trail has a key entry or a stored checkpoint: a new key must be explicit."""
    return bool(key_history(conn)) or repo.last_checkpoint(conn) is not None


def require_signer(conn: Connection, home: NodeHome) -> Signer:
    """The node's signer; a missing key is refused unless the trail never had one."""
    signer = load_signer(home)
    if signer is not None:
        return signer
    if ever_had_key(conn):
        raise SigningKeyMissingError(key_location(home))
    # A trail that never had a key or a checkpoint: its first checkpoint records the key.
    return new_signer(home)


def create_first_key(conn: Connection, home: NodeHome) -> Signer:
    """Create the node's first key and record ``audit.key_created`` in the open transaction."""
    from node.audit.chain import append_entry

    location = key_location(home)
    if not location.startswith(PKCS11_PREFIX) and Path(location).exists():
        from node.audit.errors import AuditError

        raise AuditError(
            f"a signing key already exists at {location} (from another home?); it was left "
            "untouched. Move it away, or set [audit] signing_key in spoor.toml to another path"
        )
    signer = new_signer(home)
    append_entry(
        conn,
        "audit.key_created",
        {
            "actor": "node",
            "status": "created",
            "details": {"public_key": signer.public_key_hex()},
        },
    )
    return signer


def keys_in_force(conn: Connection, current: str | None) -> list[tuple[int, str]]:
    """(first entry count, public key) steps: the key that must sign a checkpoint of each size.

    ``current`` is the key the node holds now; it stands for the initial key of a
    home whose trail predates key entries.
    """
    steps: list[tuple[int, str]] = []
    initial = initial_key(conn, current)
    if initial is not None:
        steps.append((0, initial))
    steps.extend((seq, key) for seq, _event, key in key_history(conn))
    return steps


def key_for_count(steps: list[tuple[int, str]], count: int) -> str | None:
    """The public key in force once the chain had ``count`` entries (None: unknown).

    Before the first key entry the first key recorded stands (a key created with
    the home signs checkpoints of the entries written before it).
    """
    chosen: str | None = steps[0][1] if steps else None
    for first, key in steps:
        if first <= count:
            chosen = key
    return chosen


def _current_key(conn: Connection, home: NodeHome, signer: Signer | None) -> str | None:
    steps = keys_in_force(conn, signer.public_key_hex() if signer else None)
    return steps[-1][1] if steps else None


def rotate_key(conn: Connection, home: NodeHome, *, actor: str) -> tuple[str, str]:
    """Replace the key in force by a new one, endorsed by the old; (old, new) public keys.

    Runs in the caller's open transaction: the new key is written, then the
    ``audit.key_rotated`` entry; if the entry fails the old key is put back.
    """
    from node.audit.chain import append_entry

    old = require_signer(conn, home)
    expected = _current_key(conn, home, old)
    if expected is not None and expected != old.public_key_hex():
        raise SigningKeyMismatchError(old.describe(), expected, old.public_key_hex())
    backup = Path(old.describe()).read_bytes() if isinstance(old, FileSigner) else None
    new = new_signer(home)
    endorsement = old.sign(_rotation_payload(old.public_key_hex(), new.public_key_hex()))
    try:
        append_entry(
            conn,
            "audit.key_rotated",
            {
                "actor": actor,
                "status": "rotated",
                "details": {
                    "old_public_key": old.public_key_hex(),
                    "public_key": new.public_key_hex(),
                    "endorsement": endorsement.hex(),
                },
            },
        )
    except BaseException:
        if backup is not None and isinstance(new, FileSigner):
            write_private(new.path, backup)
        raise
    if isinstance(old, FileSigner) and old.path != Path(new.describe()):
        old.path.unlink(missing_ok=True)
    return old.public_key_hex(), new.public_key_hex()


def _rotation_payload(old: str, new: str) -> bytes:
    from node.audit.chain import canonical_json

    return canonical_json({"type": "spoor-audit-key-rotation", "old": old, "new": new})


def endorsement_valid(old: str, new: str, endorsement: str) -> bool:
    """True when the old key signed the hand-over to the new one."""
    from cryptography.exceptions import InvalidSignature

    try:
        Ed25519PublicKey.from_public_bytes(bytes.fromhex(old)).verify(
            bytes.fromhex(endorsement), _rotation_payload(old, new)
        )
    except (InvalidSignature, ValueError):
        return False
    return True


def declare_key_lost(conn: Connection, home: NodeHome, *, actor: str, reason: str) -> str:
    """Record that the key in force is lost and put a new one in force; the new public key.

    Older checkpoints stay verifiable by the public key recorded for them; the
    entry says the hand-over is unendorsed, which an auditor sees.
    """
    from node.audit.chain import append_entry

    if not reason.strip():
        raise SigningKeyMissingError(key_location(home) + " (give --reason: why the key is lost)")
    found = load_signer(home)
    old = _current_key(conn, home, found)
    if found is not None and old == found.public_key_hex():
        from node.audit.errors import AuditError

        raise AuditError(
            f"the audit signing key in force is present in {found.describe()}; it is not lost. "
            "Use 'spoor audit key rotate' to replace it; nothing was changed"
        )
    new = new_signer(home)
    append_entry(
        conn,
        "audit.key_lost",
        {
            "actor": actor,
            "justification": reason,
            "status": "lost",
            "details": {"old_public_key": old or "", "public_key": new.public_key_hex()},
        },
    )
    return new.public_key_hex()


def move_legacy_key(home: NodeHome) -> Path:
    """Move ``keys/audit-signing.key`` to its own directory outside the home; the new path."""
    from node.audit.errors import AuditError

    if not legacy_key_in_use(home):
        raise AuditError(
            f"no key to move: {home.audit_key_path} is absent or {key_location(home)} "
            "already exists; nothing was changed"
        )
    target = Path(key_location(home))
    key = _read_pem(home.audit_key_path)
    _write_pem(target, key)
    home.audit_key_path.unlink()
    return target
