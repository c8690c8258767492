"""Refusals audited in aggregate, so that no caller can grow the audit trail without bound.

A refusal a caller can repeat at will — a failed TLS handshake, a certificate
failing the per-call checks, a call over its peer's fair share — is audited,
but not one entry per refusal: the first refusal per (key, reason) in a window
of ``window_s`` seconds writes an entry at once; further ones in the window are
only counted (with any figures such as the elements they carried), and the
counts are written with the next entry after the window, or by :meth:`flush`
when the node stops. At most ``max_keys`` distinct (key, reason) pairs are
tracked; the rest share one bucket ``*``. So a flood writes a bounded number of
entries per window, whatever it sends.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from node import audit, store
from node.app.logs import get_logger

log = get_logger("spoor.rpc")

#: Longest key (agency id or host) an entry records; a longer one is cut.
MAX_KEY_LENGTH = 64
#: Longest peer address an entry records.
MAX_ADDRESS_LENGTH = 128


@dataclass
class _Pending:
    """What one (key, reason) collected in its current window and has not written yet."""

    started: float
    failures: int = 0
    totals: dict[str, int] = field(default_factory=dict)
    peer_address: str = ""


class AggregatedRefusals:
    """Write ``event`` entries for repeated refusals, one per (key, reason) and window."""

    def __init__(
        self,
        db_path: Path,
        event: str,
        status: str,
        *,
        key_field: str = "counterpart",
        window_s: float = 60.0,
        max_keys: int = 64,
    ) -> None:
        self.db_path = db_path
        self.event = event
        self.status = status
        # "counterpart" when the key is an agency id; else the details field naming it.
        self.key_field = key_field
        self.window_s = window_s
        self.max_keys = max_keys
        self._lock = threading.Lock()
        self._seen: dict[tuple[str, str], _Pending] = {}

    def refused(
        self,
        key: str,
        reason: str,
        peer_address: str = "",
        figures: Mapping[str, int] | None = None,
    ) -> bool:
        """Count one refusal; True when an audit entry was written for it."""
        now = time.monotonic()
        slot = (key[:MAX_KEY_LENGTH] or "-", reason[:MAX_KEY_LENGTH])
        with self._lock:
            if slot not in self._seen and len(self._seen) >= self.max_keys:
                self._forget_quiet(now)
            if slot not in self._seen and len(self._seen) >= self.max_keys:
                slot = ("*", slot[1])
            pending = self._seen.get(slot)
            if pending is not None and now - pending.started < self.window_s:
                _add(pending, peer_address, figures)
                return False
            due = pending or _Pending(started=now)
            _add(due, peer_address, figures)
            self._seen[slot] = _Pending(started=now)
        self._write(slot, due)
        return True

    def _forget_quiet(self, now: float) -> None:
        """Drop the slots whose window is over with nothing left to write (lock held)."""
        for slot, pending in list(self._seen.items()):
            if not pending.failures and now - pending.started >= self.window_s:
                del self._seen[slot]

    def flush(self) -> int:
        """Write every count not yet written (at shutdown); the number of entries written."""
        with self._lock:
            due = [(slot, p) for slot, p in self._seen.items() if p.failures]
            self._seen = {}
        for slot, pending in due:
            self._write(slot, pending)
        return len(due)

    def _write(self, slot: tuple[str, str], pending: _Pending) -> None:
        key, reason = slot
        details: dict[str, object] = {
            "reason": reason,
            "peer_address": pending.peer_address[:MAX_ADDRESS_LENGTH],
            "failures": pending.failures,
            "window_seconds": self.window_s,
            **pending.totals,
        }
        fields: dict[str, object] = {"status": self.status, "details": details}
        if self.key_field == "counterpart":
            fields["counterpart"] = key
        else:
            details[self.key_field] = key
        try:
            with store.opened(self.db_path, check_schema=False) as conn, store.transaction(conn):
                audit.append(conn, self.event, **fields)
        except Exception:  # an audit write failing must not turn a refusal into a crash
            log.exception("could not audit a refusal", audit_event=self.event, reason=reason)


def _add(pending: _Pending, peer_address: str, figures: Mapping[str, int] | None) -> None:
    pending.failures += 1
    if peer_address:
        pending.peer_address = peer_address
    for name, value in (figures or {}).items():
        pending.totals[name] = pending.totals.get(name, 0) + value
