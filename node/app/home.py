"""Paths inside a node home directory.

A node home is one directory holding everything a node needs::

    spoor.toml          configuration (agency id, country, listen address, limits)
    node.db             SQLite database (records, keys, peers, budgets, audit, tickets)
    keys/               node.key (0600), node.crt, ca.crt, ca.key (0600) if this
                        agency runs its own CA, audit-signing.key (0600)
    policy/             the agency's policy files (the baseline library is built in)
    exports/            files written by 'spoor disclose export' and 'spoor audit export'
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

ENV_HOME = "SPOOR_HOME"


@dataclass(frozen=True)
class NodeHome:
    """A node home directory and the well-known paths inside it."""

    root: Path

    @classmethod
    def resolve(cls, path: str | Path | None) -> NodeHome:
        """The home given on the command line, else ``$SPOOR_HOME``, else ``./spoor-home``."""
        chosen = path or os.environ.get(ENV_HOME) or "spoor-home"
        return cls(Path(chosen).expanduser().resolve())

    @property
    def config_path(self) -> Path:
        return self.root / "spoor.toml"

    @property
    def db_path(self) -> Path:
        return self.root / "node.db"

    @property
    def keys_dir(self) -> Path:
        return self.root / "keys"

    @property
    def node_key_path(self) -> Path:
        return self.keys_dir / "node.key"

    @property
    def node_cert_path(self) -> Path:
        return self.keys_dir / "node.crt"

    @property
    def ca_cert_path(self) -> Path:
        return self.keys_dir / "ca.crt"

    @property
    def ca_key_path(self) -> Path:
        return self.keys_dir / "ca.key"

    @property
    def audit_key_path(self) -> Path:
        return self.keys_dir / "audit-signing.key"

    @property
    def policy_dir(self) -> Path:
        return self.root / "policy"

    @property
    def exports_dir(self) -> Path:
        return self.root / "exports"

    def exists(self) -> bool:
        return self.config_path.is_file()


def write_private(path: Path, data: bytes) -> None:
    """Write secret material with mode 0600 from the first byte (never world-readable)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)
    os.chmod(tmp, 0o600)
    os.replace(tmp, path)
