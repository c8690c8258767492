"""Every policy version that went live, kept in the node home (``policy-history/``).

Layout::

    policy-history/
      index.jsonl        one line per activation, oldest first (append-only)
      status.json        the last refused activation, for 'spoor policy status'
      <version>/         a copy of the policy directory as it went live

A version is content-addressed: the first 16 hex digits of a SHA-256 over the
relative path and bytes of every file in the policy directory (policy files and
case tables alike), so the same files give the same version wherever they come
from. ``digest`` in the index is the policy's meaning digest (comments and rule
order left out), the one audit entries and disclosure decisions carry.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

HISTORY_DIR = "policy-history"
INDEX = "index.jsonl"
STATUS = "status.json"
VERSION_CHARS = 16


@dataclass(frozen=True)
class Activation:
    """One line of the index: a version that went live, when, by whom and why."""

    version: str
    digest: str
    activated_at: str
    activated_by: str  # "os:<user>" until officers authenticate; then the officer id
    reason: str  # "start" | "reload" | "rollback"
    previous: str | None = None


def policy_tree(path: Path) -> dict[str, bytes]:
    """Relative path -> bytes of every file the policy consists of (a file or a directory)."""
    if path.is_file():
        return {path.name: path.read_bytes()}
    out: dict[str, bytes] = {}
    for f in sorted(path.rglob("*")):
        if f.is_file() and not any(part.startswith(".") for part in f.relative_to(path).parts):
            out[f.relative_to(path).as_posix()] = f.read_bytes()
    return out


def version_of(tree: dict[str, bytes]) -> str:
    """The content address of a policy tree."""
    h = hashlib.sha256()
    for name in sorted(tree):
        data = tree[name]
        h.update(f"{name}\0{len(data)}\0".encode())
        h.update(data)
    return h.hexdigest()[:VERSION_CHARS]


class PolicyHistory:
    """The ``policy-history/`` directory of one node home."""

    def __init__(self, root: Path) -> None:
        self.root = root

    @classmethod
    def beside(cls, db_path: Path) -> PolicyHistory:
        """The history of the node home holding ``db_path``."""
        return cls(db_path.parent / HISTORY_DIR)

    def keep(self, tree: dict[str, bytes]) -> str:
        """Store a copy of ``tree`` (once per version) and return its version."""
        version = version_of(tree)
        target = self.root / version
        if target.is_dir():
            return version
        self.root.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=".incoming-", dir=self.root))
        for name, data in tree.items():
            dest = staging / name
            dest.parent.mkdir(parents=True, exist_ok=True)
            dest.write_bytes(data)
        try:
            staging.rename(target)
        except OSError:  # another process stored the same version meanwhile
            shutil.rmtree(staging, ignore_errors=True)
        return version

    def record(self, entry: Activation) -> None:
        """Append an activation to the index (one line, written in one call)."""
        self.root.mkdir(parents=True, exist_ok=True)
        line = json.dumps(asdict(entry), sort_keys=True, ensure_ascii=False) + "\n"
        fd = os.open(self.root / INDEX, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640)
        try:
            os.write(fd, line.encode("utf-8"))
        finally:
            os.close(fd)

    def entries(self) -> list[Activation]:
        """Every activation, oldest first (lines that cannot be read are skipped)."""
        path = self.root / INDEX
        if not path.is_file():
            return []
        out = []
        for line in path.read_text(encoding="utf-8").splitlines():
            try:
                out.append(Activation(**json.loads(line)))
            except (ValueError, TypeError):
                continue
        return out

    def active(self) -> Activation | None:
        """The version that went live last."""
        entries = self.entries()
        return entries[-1] if entries else None

    def path_of(self, version: str) -> Path | None:
        """Where the copy of ``version`` is kept (``None`` if it is not)."""
        if not version or not all(c in "0123456789abcdef" for c in version):
            return None
        target = self.root / version
        return target if target.is_dir() else None

    def note_refusal(self, version: str, problems: list[str], by: str) -> None:
        """Remember why the last activation was refused (shown by 'spoor policy status')."""
        self.root.mkdir(parents=True, exist_ok=True)
        data = {
            "version": version,
            "at": datetime.now(UTC).isoformat(timespec="seconds"),
            "by": by,
            "problems": problems[:50],
        }
        tmp = self.root / f".{STATUS}.tmp"
        tmp.write_text(json.dumps(data, ensure_ascii=False, indent=2), encoding="utf-8")
        tmp.replace(self.root / STATUS)

    def last_refusal(self) -> dict[str, Any] | None:
        path = self.root / STATUS
        if not path.is_file():
            return None
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except ValueError:
            return None
        return data if isinstance(data, dict) else None
