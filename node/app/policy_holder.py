"""Holds the policy in force and swaps it only for one that checks clean.

An invalid edit is logged and audited as ``policy.rejected``; the node keeps
serving the last good policy. At start-up an invalid policy is fatal (fail
fast), because there is no last good policy to fall back to.
"""

from __future__ import annotations

import threading
from pathlib import Path

import policy as policy_lang
from node import audit, store
from node.app.logs import get_logger
from node.errors import ServiceUnavailable

log = get_logger("spoor.policy")


def _fingerprint(path: Path) -> tuple[tuple[str, int, int], ...]:
    if path.is_file():
        files = [path]
    elif path.is_dir():
        files = sorted(p for p in path.rglob("*") if p.is_file())
    else:
        return ()
    out = []
    for f in files:
        st = f.stat()
        out.append((str(f), st.st_mtime_ns, st.st_size))
    return tuple(out)


class PolicyHolder:
    """The agency's policy, reloaded when its files change."""

    def __init__(self, path: Path, db_path: Path) -> None:
        self.path = path
        self.db_path = db_path
        self._lock = threading.Lock()
        self._policy: policy_lang.Policy | None = None
        self._fingerprint: tuple[tuple[str, int, int], ...] = ()

    def load_initial(self) -> policy_lang.Policy:
        """Load the policy at start-up; raises ``policy.PolicyError`` if it does not check clean."""
        fingerprint = _fingerprint(self.path)
        loaded = policy_lang.load_policy(self.path)
        with self._lock:
            self._policy = loaded
            self._fingerprint = fingerprint
        self._audit("policy.loaded", loaded.digest, "OK", {})
        log.info("policy loaded", policy_digest=loaded.digest)
        return loaded

    def current(self) -> policy_lang.Policy:
        with self._lock:
            if self._policy is None:
                raise ServiceUnavailable("no valid policy is loaded")
            return self._policy

    def maybe_reload(self) -> bool:
        """Reload if the files changed; returns True if a new policy took effect."""
        fingerprint = _fingerprint(self.path)
        with self._lock:
            if fingerprint == self._fingerprint:
                return False
            self._fingerprint = fingerprint
            previous = self._policy
        try:
            loaded = policy_lang.load_policy(self.path)
        except policy_lang.PolicyError as exc:
            problems = [str(p) for p in getattr(exc, "problems", [])][:20]
            log.error(  # noqa: TRY400 - an expected outcome; the problems are the detail
                "policy edit rejected; still serving the last good policy",
                problems=problems,
                policy_digest=previous.digest if previous else None,
            )
            self._audit(
                "policy.rejected",
                previous.digest if previous else None,
                "REJECTED",
                {"problems": len(problems)},
            )
            return False
        with self._lock:
            self._policy = loaded
        self._audit("policy.loaded", loaded.digest, "OK", {"reload": True})
        log.info("policy reloaded", policy_digest=loaded.digest)
        return True

    def _audit(
        self, event: str, digest: str | None, status: str, details: dict[str, object]
    ) -> None:
        with (
            store.opened(self.db_path, check_schema=False) as conn,
            store.transaction(conn),
        ):
            audit.append(
                conn, event, actor="node", policy_digest=digest, status=status, details=details
            )
