"""Participation views: which match keys may enter PSI for a counterpart and context.

Deciding participation for every record costs seconds at 100k records, so a
view is computed once and reused until something it depends on changes: the
stored records (their fingerprint), the policy in force (its digest) or the
UTC day (review dates). A view is keyed by counterpart, purpose and legal
basis. It is the *standing* view: it is evaluated without a case reference, so
an assurance scoped to one case never widens it (those apply to direct,
one-shot matches only); that errs on the side of matching less.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date


@dataclass(frozen=True)
class ViewKey:
    """Who a view is for and in which context."""

    peer: str
    purpose: str
    legal_basis: str

    @property
    def name(self) -> str:
        """A short stable name of the context (not secret; used to bind epochs to views)."""
        text = f"{self.purpose}\x00{self.legal_basis}".encode()
        return hashlib.sha256(text).hexdigest()[:16]


@dataclass(frozen=True)
class ViewStamp:
    """What a view depends on; a different stamp means the view must be recomputed."""

    records: tuple[object, ...]
    policy_digest: str
    day: date


@dataclass(frozen=True)
class View:
    """The match keys admitted for one (counterpart, context) under one stamp."""

    key: ViewKey
    stamp: ViewStamp
    elements: frozenset[str] = field(repr=False)
    admitted_records: int

    @property
    def size(self) -> int:
        """Number of distinct admitted keys."""
        return len(self.elements)


# compute(view key, day) -> (admitted keys, admitted record count)
ComputeView = Callable[[ViewKey, date], tuple[frozenset[str], int]]
# extend(previous view, new stamp) -> (keys, records) when the change since the
# previous view can be applied incrementally (records only appended), else None.
ExtendView = Callable[[View, ViewStamp], tuple[frozenset[str], int] | None]


class ViewCache:
    """Views by key, recomputed only when their stamp changes.

    When only records were appended since the cached view (same policy, same
    day), ``extend`` decides just the new records instead of every record.
    ``computations`` and ``extensions`` count full and incremental updates
    (diagnostics, and what the tests watch).
    """

    def __init__(self, compute: ComputeView, extend: ExtendView | None = None) -> None:
        self._compute = compute
        self._extend = extend
        self._lock = threading.Lock()
        self._views: dict[ViewKey, View] = {}
        self._slot_locks: dict[ViewKey, threading.Lock] = {}
        self.computations = 0
        self.extensions = 0

    def _slot_lock(self, key: ViewKey) -> threading.Lock:
        with self._lock:
            return self._slot_locks.setdefault(key, threading.Lock())

    def get(self, key: ViewKey, stamp: ViewStamp) -> View:
        """The view for ``key`` under ``stamp`` (computed at most once per stamp)."""
        with self._lock:
            view = self._views.get(key)
        if view is not None and view.stamp == stamp:
            return view
        with self._slot_lock(key):
            with self._lock:
                view = self._views.get(key)
            if view is not None and view.stamp == stamp:
                return view
            extended = self._extend(view, stamp) if view is not None and self._extend else None
            if extended is not None:
                elements, admitted = extended
                self.extensions += 1
            else:
                elements, admitted = self._compute(key, stamp.day)
                self.computations += 1
            view = View(key=key, stamp=stamp, elements=elements, admitted_records=admitted)
            with self._lock:
                self._views[key] = view
            return view

    def cached(self, key: ViewKey) -> View | None:
        """The last view computed for ``key``, whatever its stamp."""
        with self._lock:
            return self._views.get(key)

    def keys(self) -> list[ViewKey]:
        """Every view key held."""
        with self._lock:
            return list(self._views)

    def forget_peer(self, peer: str) -> None:
        """Drop every view of a removed counterpart."""
        with self._lock:
            for key in [k for k in self._views if k.peer == peer]:
                del self._views[key]
