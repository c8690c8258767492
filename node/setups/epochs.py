"""Epoch keys: one PSI server key per counterpart, view and epoch, in memory only.

A fresh server key per match makes every lookup cost the whole store; one key
per epoch lets a setup be built once and answer every lookup of that epoch.
The price is that setups of one epoch are diffable (a requester comparing two
syncs sees how many values changed in a shard), so epochs are short (24 h by
default) and keys never outlive them: they live in this process's memory,
never in the database, the audit trail, a log line or a file, and a node
restart simply starts new epochs.

Each epoch also carries a shard salt (public to the counterpart: it needs it
to know which shard its own keys fall in) and a padding secret (private: it
makes padding dummies stable within the epoch, so a rebuilt shard shows only
how many values changed, not its real size).
"""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from node.psi.held import KEY_BYTES, valid_key

DEFAULT_EPOCH_SECONDS = 24 * 3600.0
# After rotation the previous epoch keeps answering for this long, so a
# requester holding its setups gets a consistent (older) answer until it syncs.
DEFAULT_GRACE_SECONDS = 600.0
SHARD_SALT_BYTES = 16
PADDING_SECRET_BYTES = 32


def new_server_key() -> bytes:
    """A uniformly random P-256 scalar from the OS generator."""
    while True:
        key = secrets.token_bytes(KEY_BYTES)
        if valid_key(key):
            return key


@dataclass(frozen=True)
class Epoch:
    """One epoch of one (counterpart, view): its key material and validity."""

    epoch_id: str
    peer: str
    view: str
    started_at: float
    expires_at: float
    shard_salt: bytes
    _key: bytes = field(repr=False)
    _padding_secret: bytes = field(repr=False)

    @property
    def key(self) -> bytes:
        """The server key (pass it only to PSI worker calls)."""
        return self._key

    @property
    def padding_secret(self) -> bytes:
        """The secret that derives this epoch's padding dummies."""
        return self._padding_secret

    def __repr__(self) -> str:
        return f"Epoch(epoch_id={self.epoch_id!r}, peer={self.peer!r}, view={self.view!r})"


class EpochKeys:
    """Per (counterpart, view) epochs: rotate on expiry, keep one previous for a grace period.

    ``clock`` is injectable so tests can move time; it returns seconds
    (``time.time`` by default).
    """

    def __init__(
        self,
        *,
        epoch_seconds: float = DEFAULT_EPOCH_SECONDS,
        grace_seconds: float = DEFAULT_GRACE_SECONDS,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if epoch_seconds <= 0:
            raise ValueError("epoch_seconds must be positive")
        self.epoch_seconds = epoch_seconds
        self.grace_seconds = grace_seconds
        self._clock = clock
        self._lock = threading.Lock()
        self._current: dict[tuple[str, str], Epoch] = {}
        self._previous: dict[tuple[str, str], Epoch] = {}

    def _new(self, peer: str, view: str, now: float) -> Epoch:
        return Epoch(
            epoch_id=secrets.token_hex(16),
            peer=peer,
            view=view,
            started_at=now,
            expires_at=now + self.epoch_seconds,
            shard_salt=secrets.token_bytes(SHARD_SALT_BYTES),
            _key=new_server_key(),
            _padding_secret=secrets.token_bytes(PADDING_SECRET_BYTES),
        )

    def current(self, peer: str, view: str) -> Epoch:
        """The epoch in force for (peer, view), starting a new one when it expired."""
        now = self._clock()
        with self._lock:
            slot = (peer, view)
            epoch = self._current.get(slot)
            if epoch is None or now >= epoch.expires_at:
                if epoch is not None:
                    self._previous[slot] = epoch
                epoch = self._current[slot] = self._new(peer, view, now)
            return epoch

    def peek(self, peer: str, view: str) -> Epoch | None:
        """The current epoch without rotating (``None`` when none or expired)."""
        with self._lock:
            epoch = self._current.get((peer, view))
        if epoch is None or self._clock() >= epoch.expires_at:
            return None
        return epoch

    def find(self, peer: str, epoch_id: str) -> Epoch | None:
        """The epoch ``epoch_id`` of ``peer`` if it still answers (current or in grace)."""
        now = self._clock()
        with self._lock:
            for table, limit in ((self._current, 0.0), (self._previous, self.grace_seconds)):
                for (owner, _), epoch in table.items():
                    if (
                        owner == peer
                        and epoch.epoch_id == epoch_id
                        and now < epoch.expires_at + limit
                    ):
                        return epoch
        return None

    def forget_peer(self, peer: str) -> None:
        """Drop every key of a removed counterpart at once."""
        with self._lock:
            for table in (self._current, self._previous):
                for slot in [s for s in table if s[0] == peer]:
                    del table[slot]

    def retire(self, peer: str, view: str) -> None:
        """End the (peer, view) epoch now, e.g. when its view is gone."""
        with self._lock:
            self._current.pop((peer, view), None)
            self._previous.pop((peer, view), None)

    def rotate(self, peer: str, view: str) -> Epoch:
        """Start a new epoch now; the old one answers for the grace period."""
        now = self._clock()
        with self._lock:
            slot = (peer, view)
            old = self._current.get(slot)
            if old is not None:
                self._previous[slot] = old
            epoch = self._current[slot] = self._new(peer, view, now)
            return epoch

    def previous(self, peer: str, view: str) -> Epoch | None:
        """The previous epoch of (peer, view) while it may still answer (its grace period)."""
        with self._lock:
            epoch = self._previous.get((peer, view))
        if epoch is None or self._clock() >= epoch.expires_at + self.grace_seconds:
            return None
        return epoch

    def held(self, epoch_ids: set[str]) -> list[Epoch]:
        """The epochs among ``epoch_ids`` this process holds and that may still answer."""
        now = self._clock()
        with self._lock:
            found = [*self._current.values(), *self._previous.values()]
        return [
            e for e in found if e.epoch_id in epoch_ids and now < e.expires_at + self.grace_seconds
        ]

    def adopt(self, epoch: Epoch) -> None:
        """Make ``epoch`` (built by another replica of this agency) current for its slot.

        A replica that takes over building continues the epochs it already
        holds, so counterparts holding their setups need not sync again.
        """
        with self._lock:
            slot = (epoch.peer, epoch.view)
            current = self._current.get(slot)
            if current is not None and current.epoch_id != epoch.epoch_id:
                self._previous[slot] = current
            self._current[slot] = epoch

    def drop_previous(self, peer: str, view: str) -> None:
        """Stop the previous epoch of (peer, view) answering now (no grace)."""
        with self._lock:
            self._previous.pop((peer, view), None)
