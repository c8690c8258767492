"""Backups of a node home, taken while it serves, and their verified restore.

A backup is one file: a tar archive of the database (a consistent copy made
with the backend's online backup, :meth:`node.store.backend.Backend.backup`,
never a raw file copy), ``spoor.toml``, ``keys/``, ``policy/`` and
``policy-history/``, plus ``manifest.json`` (agency, schema version, row counts,
audit head). It is written with mode 0600 and, with a passphrase, encrypted:
AES-256-GCM under a key derived with scrypt, so a copy on a backup server
discloses nothing without the passphrase.

A restore unpacks into a fresh directory next to the target, checks the
archive against its manifest (schema version, audit chain verifies, counts
equal), and only then moves it into place; a failed check leaves nothing.

A home whose store is PostgreSQL is refused both ways (:func:`refuse_postgres`):
its database is backed up and restored with ``pg_dump`` / ``pg_restore``, its
``spoor.toml``, ``keys/`` and ``policy/`` with the files (docs/operators.md,
"Backup and restore").
"""

from __future__ import annotations

import io
import json
import os
import secrets
import shutil
import tarfile
import tempfile
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, ClassVar

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

from node import audit, store
from node.errors import SpoorError
from node.store import audit as audit_repo
from node.store import migrations
from node.store import peers as peers_repo
from node.store import records as records_repo
from node.store.backend import BACKEND

MAGIC = b"SPOORBK1"
PLAIN_MAGIC = b"ustar"  # a plain backup is a tar archive
SALT_BYTES = 16
NONCE_BYTES = 12
#: scrypt cost: 2**15 * 8 * 128 bytes = 32 MiB of memory, ~0.1 s per attempt.
SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**15, 8, 1

#: What a backup holds besides the database and the manifest (relative to the home).
HOME_PARTS = ("spoor.toml", "keys", "policy", "policy-history")
DB_MEMBER = "node.db"
MANIFEST = "manifest.json"


class BackupError(SpoorError):
    """A backup could not be written, read, decrypted or verified."""

    FIELDS: ClassVar[tuple[str, ...]] = ("reason",)

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(reason)


@dataclass(frozen=True)
class Manifest:
    """What a backup says about itself; a restore checks every field."""

    agency_id: str
    created_at: str
    schema_version: int
    records: int
    peers: int
    audit_entries: int
    audit_head: str
    encrypted: bool


def _derive(passphrase: str, salt: bytes) -> bytes:
    kdf = Scrypt(salt=salt, length=32, n=SCRYPT_N, r=SCRYPT_R, p=SCRYPT_P)
    return kdf.derive(passphrase.encode("utf-8"))


def encrypt(data: bytes, passphrase: str) -> bytes:
    salt = secrets.token_bytes(SALT_BYTES)
    nonce = secrets.token_bytes(NONCE_BYTES)
    sealed = AESGCM(_derive(passphrase, salt)).encrypt(nonce, data, MAGIC)
    return MAGIC + salt + nonce + sealed


def decrypt(blob: bytes, passphrase: str) -> bytes:
    salt = blob[len(MAGIC) : len(MAGIC) + SALT_BYTES]
    nonce = blob[len(MAGIC) + SALT_BYTES : len(MAGIC) + SALT_BYTES + NONCE_BYTES]
    sealed = blob[len(MAGIC) + SALT_BYTES + NONCE_BYTES :]
    try:
        return AESGCM(_derive(passphrase, salt)).decrypt(nonce, sealed, MAGIC)
    except InvalidTag:
        raise BackupError(
            "the passphrase is wrong or the backup was altered; nothing was restored"
        ) from None


def _facts(db_path: Path) -> dict[str, Any]:
    with store.opened(db_path, check_schema=False) as conn:
        version = migrations.recorded_version(conn, BACKEND.tables(conn))
        head = audit_repo.head(conn)
        return {
            "schema_version": version,
            "records": records_repo.count(conn),
            "peers": len(peers_repo.all_peers(conn)),
            "audit_entries": head[0] if head else 0,
            "audit_head": head[1] if head else "",
        }


def refuse_postgres(db_path: Path, doing: str) -> None:
    """Raise :class:`BackupError` when the home's store is PostgreSQL (pg_dump's job)."""
    where = store.located(db_path)
    if where.engine == "postgresql":
        raise BackupError(
            f"{doing} covers SQLite homes only; this home's store is PostgreSQL "
            f"({where.describe()}). Back the database up with pg_dump --format=custom and "
            "restore it with pg_restore, and keep copies of spoor.toml, keys/ and policy/ "
            "with your file backups (see docs/operators.md, 'Backup and restore'). "
            "Nothing was written."
        )


def _write_private(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, path)


def create_backup(
    home_root: Path, agency_id: str, out: Path, *, passphrase: str | None = None
) -> Manifest:
    """Write a backup of the home at ``home_root`` to ``out`` (mode 0600), safe while serving."""
    db_path = home_root / "node.db"
    refuse_postgres(db_path, "spoor backup")
    if not db_path.is_file():
        raise BackupError(f"{db_path}: no node database to back up — is this a node home?")
    if out.exists() and out.is_dir():
        raise BackupError(f"{out} is a directory; name the backup file to write")
    with store.opened(db_path) as conn, store.transaction(conn):
        audit.append(
            conn,
            "node.backed_up",
            actor="operator",
            details={"encrypted": passphrase is not None, "file": out.name},
        )
    with tempfile.TemporaryDirectory(prefix="spoor-backup-") as scratch:
        copy = Path(scratch) / DB_MEMBER
        with store.opened(db_path, check_schema=False) as conn:
            BACKEND.backup(conn, copy)  # consistent while the node writes
        facts = _facts(copy)
        manifest = Manifest(
            agency_id=agency_id,
            created_at=datetime.now(UTC).isoformat(timespec="seconds"),
            encrypted=passphrase is not None,
            **facts,
        )
        buffer = io.BytesIO()
        with tarfile.open(fileobj=buffer, mode="w", format=tarfile.USTAR_FORMAT) as tar:
            body = json.dumps(asdict(manifest), indent=2, sort_keys=True).encode()
            info = tarfile.TarInfo(MANIFEST)
            info.size, info.mode = len(body), 0o600
            tar.addfile(info, io.BytesIO(body))
            tar.add(copy, arcname=DB_MEMBER)
            for part in HOME_PARTS:
                if (home_root / part).exists():
                    tar.add(home_root / part, arcname=part)
    data = buffer.getvalue()
    _write_private(out, encrypt(data, passphrase) if passphrase is not None else data)
    return manifest


def is_encrypted(path: Path) -> bool:
    with path.open("rb") as f:
        return f.read(len(MAGIC)) == MAGIC


def _open_archive(path: Path, passphrase: str | None) -> tarfile.TarFile:
    if not path.is_file():
        raise BackupError(f"{path}: no such backup file")
    blob = path.read_bytes()
    if blob.startswith(MAGIC):
        if passphrase is None:
            raise BackupError(f"{path} is encrypted: give its passphrase (--passphrase-file)")
        blob = decrypt(blob, passphrase)
    try:
        return tarfile.open(fileobj=io.BytesIO(blob), mode="r")
    except tarfile.TarError as exc:
        raise BackupError(f"{path} is not a Spoor backup ({exc}); nothing was restored") from exc


def _allowed(name: str) -> bool:
    top = name.split("/", 1)[0]
    return (
        not name.startswith("/")
        and ".." not in name.split("/")
        and top in {MANIFEST, DB_MEMBER, *HOME_PARTS}
    )


def restore_backup(path: Path, target: Path, *, passphrase: str | None = None) -> Manifest:
    """Restore the backup at ``path`` into the new home ``target``, verified before it is kept."""
    if target.exists() and any(target.iterdir()):
        raise BackupError(
            f"{target} exists and is not empty; restore into a new directory (never over a "
            "home that may be serving), then point the service at it"
        )
    refuse_postgres(target / DB_MEMBER, "spoor restore")
    with _open_archive(path, passphrase) as tar:
        members = tar.getmembers()
        bad = [m.name for m in members if not _allowed(m.name) or not (m.isfile() or m.isdir())]
        if bad:
            raise BackupError(f"{path} holds unexpected entries {bad[:3]}; nothing was restored")
        target.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{target.name}-restore-", dir=target.parent))
        try:
            os.chmod(staging, 0o700)
            tar.extractall(staging, filter="data")
            manifest = _verify(staging, path)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
    for private in [staging / DB_MEMBER, *(staging / "keys").glob("*.key")]:
        if private.exists():
            os.chmod(private, 0o600)
    if target.exists():
        target.rmdir()
    staging.rename(target)
    with store.opened(target / DB_MEMBER) as conn, store.transaction(conn):
        audit.append(
            conn,
            "node.restored",
            actor="operator",
            details={"file": path.name, "backup_created_at": manifest.created_at},
        )
    return manifest


def _verify(staging: Path, path: Path) -> Manifest:
    try:
        raw = json.loads((staging / MANIFEST).read_text(encoding="utf-8"))
        manifest = Manifest(**raw)
    except (OSError, ValueError, TypeError) as exc:
        raise BackupError(f"{path}: the manifest is missing or unreadable ({exc})") from exc
    (staging / MANIFEST).unlink()
    db = staging / DB_MEMBER
    if not db.is_file():
        raise BackupError(f"{path} holds no database; nothing was restored")
    facts = _facts(db)
    if facts["schema_version"] > migrations.LATEST:
        raise BackupError(
            f"{path} was written at schema version {facts['schema_version']}; this release knows "
            f"up to {migrations.LATEST}. Restore it with the release that wrote it."
        )
    expected = {k: getattr(manifest, k) for k in facts}
    if facts != expected:
        differ = ", ".join(
            f"{k}: {expected[k]} -> {facts[k]}" for k in facts if facts[k] != expected[k]
        )
        raise BackupError(f"{path}: the database does not match its manifest ({differ})")
    with store.opened(db, check_schema=False) as conn:
        report = audit.verify(conn)
    if not report.ok:
        raise BackupError(f"{path}: {report.summary()}; nothing was restored")
    return manifest
