"""Holds the policy in force and swaps it only for one that checks clean and passes its tests.

Activation rule: a policy goes live only when it loads without errors and every
case of its own case tables passes (:func:`policy.activation.vet_policy`).
Otherwise the node keeps serving the version it had, logs why, audits
``policy.rejected`` and remembers the refusal for ``spoor policy status``. At
start-up a policy that may not go live is fatal (fail fast): nothing would be
safe to serve; ``spoor policy rollback`` puts a kept version back.

Every activation is audited as ``policy.loaded`` with who activated it and a
copy of the files is kept in ``policy-history/`` (see
:mod:`node.app.policy_history`). Who: the authenticated officer id when the
caller gives one (``officer_id``), else the operating-system user (``os:<name>``).

With ``officer_activation`` (``[policy] officer_activation = true``) a running
node never activates edited files by itself: it serves the version an officer
last activated (the console's review, ``spoor policy activate`` or
``rollback``, each of which records it in the history) and follows the next
one. Edited files wait, logged, until an officer activates them.
"""

from __future__ import annotations

import getpass
import os
import threading
from datetime import UTC, datetime
from pathlib import Path

import policy as policy_lang
from node import audit, store
from node.app.logs import get_logger
from node.app.policy_history import Activation, PolicyHistory, policy_tree, version_of
from node.errors import ServiceUnavailable
from policy.activation import vet_policy

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


def os_user() -> str:
    """Who is acting, until officers authenticate: the operating-system user."""
    try:
        return f"os:{getpass.getuser()}"
    except (KeyError, OSError):  # no name for this uid (containers)
        return f"os:uid-{os.getuid()}"


def activator(officer_id: str | None) -> str:
    """The actor recorded for an activation."""
    return officer_id.strip() if officer_id and officer_id.strip() else os_user()


class PolicyHolder:
    """The agency's policy, reloaded when its files change."""

    def __init__(
        self,
        path: Path,
        db_path: Path,
        history: PolicyHistory | None = None,
        *,
        officer_activation: bool = False,
    ) -> None:
        self.path = path
        self.db_path = db_path
        self.history = history or PolicyHistory.beside(db_path)
        self.officer_activation = officer_activation
        self._waiting: str | None = None  # the last edited version logged as waiting
        self._refused_version: str | None = None  # an officer's version that failed its vet
        self._lock = threading.Lock()
        self._policy: policy_lang.Policy | None = None
        self._version: str | None = None
        self._fingerprint: tuple[tuple[str, int, int], ...] = ()

    def load_initial(self, officer_id: str | None = None) -> policy_lang.Policy:
        """Load the policy at start-up; raises ``policy.PolicyError`` if it may not go live."""
        active = self.history.active()
        if self.officer_activation and active is not None:
            return self._serve_activated(active.version, at_start=True)
        fingerprint = _fingerprint(self.path)
        tree = policy_tree(self.path)
        try:
            loaded, _ = vet_policy(self.path)
        except policy_lang.PolicyError as exc:
            self._refused(version_of(tree), exc, officer_id, serving=None)
            raise
        with self._lock:
            self._fingerprint = fingerprint
        self._activate(loaded, tree, "start", officer_id)
        return loaded

    def activate_files(self, officer_id: str, reason: str = "activate") -> str:
        """Check, test and put the files now in the directory in force in an officer's name.

        Returns the version now active; raises ``policy.PolicyError`` (the
        refusal recorded and audited) when they may not go live.
        """
        fingerprint = _fingerprint(self.path)
        tree = policy_tree(self.path)
        try:
            loaded, _ = vet_policy(self.path)
        except policy_lang.PolicyError as exc:
            self._refused(version_of(tree), exc, officer_id, serving=None)
            raise
        with self._lock:
            self._fingerprint = fingerprint
        self._activate(loaded, tree, reason, officer_id)
        return version_of(tree)

    def current(self) -> policy_lang.Policy:
        with self._lock:
            if self._policy is None:
                raise ServiceUnavailable("no valid policy is loaded")
            return self._policy

    @property
    def version(self) -> str | None:
        """The version in force (its copy is in ``policy-history/``)."""
        with self._lock:
            return self._version

    def _serve_activated(self, version: str, *, at_start: bool = False) -> policy_lang.Policy:
        """Serve the kept copy of the version an officer activated (checked and tested again)."""
        kept = self.history.path_of(version)
        if kept is None:
            raise ServiceUnavailable(f"the active policy version {version} is not kept")
        tree = policy_tree(kept)
        loaded, _ = vet_policy(kept)  # raises PolicyError: at start fatal, later refused
        self._activate(loaded, tree, "start" if at_start else "reload", None)
        on_disk = version_of(policy_tree(self.path)) if self.path.exists() else None
        if on_disk != version:
            self._note_waiting(on_disk)
        return loaded

    def _note_waiting(self, version: str | None) -> None:
        if version is not None and version not in (self._waiting, self._version):
            self._waiting = version
            log.warning(
                "policy files changed; they go live only when an officer activates them "
                "(console review, or 'spoor policy activate')",
                version=version,
                serving=self._version,
            )

    def _follow_officers(self) -> bool:
        """Officer activation: switch when the history names another active version."""
        active = self.history.active()
        if active is None or active.version == self._version:
            self._note_waiting(
                version_of(policy_tree(self.path)) if _fingerprint(self.path) else None
            )
            return False
        if active.version == self._refused_version:
            return False  # refused once already; logged and audited then
        try:
            self._serve_activated(active.version)
        except policy_lang.PolicyError as exc:
            self._refused_version = active.version
            with self._lock:
                serving = self._policy
            self._refused(active.version, exc, None, serving=serving)
            return False
        return True

    def maybe_reload(self, officer_id: str | None = None) -> bool:
        """Reload if the files changed; returns True if a new policy took effect."""
        if self.officer_activation:
            return self._follow_officers()
        fingerprint = _fingerprint(self.path)
        with self._lock:
            if fingerprint == self._fingerprint or not fingerprint:
                # Unchanged, or the directory is being swapped (rollback): look again later.
                return False
            self._fingerprint = fingerprint
            previous = self._policy
        tree = policy_tree(self.path)
        try:
            loaded, _ = vet_policy(self.path)
        except policy_lang.PolicyError as exc:
            self._refused(version_of(tree), exc, officer_id, serving=previous)
            return False
        self._activate(loaded, tree, "reload", officer_id)
        return True

    def _activate(
        self,
        loaded: policy_lang.Policy,
        tree: dict[str, bytes],
        reason: str,
        officer_id: str | None,
    ) -> None:
        version = self.history.keep(tree)
        last = self.history.active()
        with self._lock:
            self._policy = loaded
            self._version = version
        if last is not None and last.version == version and last.digest == loaded.digest:
            # Already recorded as active (the node restarted, or 'spoor policy rollback'
            # activated it): this node now serves it; the index keeps who activated it.
            self._audit(
                "policy.loaded",
                loaded.digest,
                "OK",
                {"version": version, "reason": reason, "activated_by": last.activated_by},
            )
            log.info("policy loaded", policy_digest=loaded.digest, version=version)
            return
        by = activator(officer_id)
        entry = Activation(
            version,
            loaded.digest,
            now_iso(),
            by,
            reason,
            last.version if last else None,
        )
        self.history.record(entry)
        self._audit(
            "policy.loaded",
            loaded.digest,
            "OK",
            {"version": version, "reason": reason, "previous": entry.previous},
            actor=by,
        )
        log.info("policy activated", policy_digest=loaded.digest, version=version, reason=reason)

    def _refused(
        self,
        version: str,
        exc: policy_lang.PolicyError,
        officer_id: str | None,
        serving: policy_lang.Policy | None,
    ) -> None:
        problems = [str(p) for p in getattr(exc, "problems", [])]
        by = activator(officer_id)
        self.history.note_refusal(version, problems, by)
        log.error(
            "policy edit refused; still serving the last good policy"
            if serving
            else "policy refused; the node cannot start until it checks clean and passes its tests",
            problems=problems[:20],
            version=version,
            policy_digest=serving.digest if serving else None,
        )
        self._audit(
            "policy.rejected",
            serving.digest if serving else None,
            "REJECTED",
            {"problems": len(problems), "version": version},
            actor=by,
        )

    def _audit(
        self,
        event: str,
        digest: str | None,
        status: str,
        details: dict[str, object],
        *,
        actor: str = "node",
    ) -> None:
        audit_policy_event(self.db_path, event, digest, status, details, actor=actor)


def audit_policy_event(
    db_path: Path,
    event: str,
    digest: str | None,
    status: str,
    details: dict[str, object],
    *,
    actor: str,
) -> None:
    """Append one policy event to the audit trail in its own transaction."""
    with store.opened(db_path, check_schema=False) as conn, store.transaction(conn):
        audit.append(conn, event, actor=actor, policy_digest=digest, status=status, details=details)


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")
