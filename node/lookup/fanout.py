"""The local lookup: one question to every counterpart at once, from held setups.

The agency's own systems ask the running node which of some match keys any
counterpart holds. ``LocalLookup`` asks every named (or every configured)
counterpart in parallel through its pooled channel, each against the setups
held for it; one counterpart failing loses only its own answer. Several
counterparts are asked in one batch (``node.match.held_fanout``): the
requester's PSI work for all of them is two worker calls, and a counterpart
that has not answered by the deadline is reported as timed out. Keys that are
not well-formed match keys are refused before anything is sent.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from node.errors import InvalidRequest
from node.match.held_fanout import lookup_many
from node.match.held_requester import Context, HeldChannel, HeldRequester, LookupResult
from node.records.keys import KEY_SCHEME_VERSION

MAX_KEYS_PER_LOOKUP = 200_000
MAX_KEY_LENGTH = 512
_KEY_RE = re.compile(r"^v[0-9]+\|[a-z][a-z0-9_]{0,31}\|.+$", re.DOTALL)
_MAX_TEXT = 256
# Lookups of up to this many distinct keys ask their counterparts, one or several,
# in one batch (two PSI worker calls for all of them, with client keys the worker
# made ahead); larger ones use every worker per counterpart.
MAX_BATCHED_KEYS = 512


@dataclass(frozen=True)
class PeerAnswer:
    """One counterpart's answer: positions of the keys it holds, or a safe error."""

    agency_id: str
    hits: tuple[int, ...] = ()
    held: bool = True
    error: str = ""
    elements_charged: int = 0
    request_id: str = ""
    policy_digest: str = ""


def check_keys(keys: Sequence[str]) -> None:
    """Refuse keys that are not complete match keys (nothing is sent)."""
    if not keys:
        raise InvalidRequest("match_keys", "is empty; give at least one match key")
    if len(keys) > MAX_KEYS_PER_LOOKUP:
        raise InvalidRequest("match_keys", f"holds more than {MAX_KEYS_PER_LOOKUP} keys")
    prefix = f"v{KEY_SCHEME_VERSION}|"
    for position, key in enumerate(keys):
        if len(key) > MAX_KEY_LENGTH or not _KEY_RE.match(key):
            raise InvalidRequest(
                "match_keys",
                f"entry {position} is not a match key like '{prefix}passport|VNM|C1234567'",
            )
        if not key.startswith(prefix):
            raise InvalidRequest(
                "match_keys",
                f"entry {position} is in another key scheme; this node looks up "
                f"key scheme {KEY_SCHEME_VERSION} keys ('{prefix}...')",
            )


def check_context(context: Context) -> None:
    """Purpose, legal basis, case reference and officer are all required."""
    for name in ("purpose", "legal_basis", "case_reference", "officer"):
        value = getattr(context, name).strip()
        if not value or len(value) > _MAX_TEXT:
            raise InvalidRequest(name, f"is required and at most {_MAX_TEXT} characters")


class LocalLookup:
    """Fans a lookup out to counterparts through pooled held-setup channels."""

    def __init__(
        self,
        requester: HeldRequester,
        channel_for: Callable[[str], HeldChannel],
        configured_peers: Callable[[], list[str]],
        *,
        max_parallel: int = 8,
        deadline_s: float = 60.0,
    ) -> None:
        self.requester = requester
        self._channel_for = channel_for
        self._configured = configured_peers
        self._max_parallel = max(1, max_parallel)
        self.deadline_s = deadline_s
        # Kept for the node's lifetime: every counterpart is asked at once, and a
        # lookup does not pay for starting threads.
        self._threads: ThreadPoolExecutor | None = None
        self._threads_lock = threading.Lock()

    def _executor(self) -> ThreadPoolExecutor:
        with self._threads_lock:
            if self._threads is None:
                self._threads = ThreadPoolExecutor(
                    max_workers=self._max_parallel, thread_name_prefix="spoor-lookup"
                )
            return self._threads

    def close(self) -> None:
        """Stop the fan-out threads (lookups in flight finish first)."""
        with self._threads_lock:
            threads, self._threads = self._threads, None
        if threads is not None:
            threads.shutdown(wait=True)

    def lookup(
        self, keys: Sequence[str], context: Context, peers: Sequence[str] = ()
    ) -> list[PeerAnswer]:
        """Ask each counterpart which of ``keys`` it holds."""
        check_keys(keys)
        check_context(context)
        configured = self._configured()
        asked = list(dict.fromkeys(peers)) or configured
        unknown = [p for p in asked if p not in configured]
        if unknown:
            raise InvalidRequest("peers", f"{unknown[0]!r} is not a configured counterpart")
        if not asked:
            return []
        positions: dict[str, list[int]] = {}
        for i, key in enumerate(keys):
            positions.setdefault(key, []).append(i)

        if len(positions) <= MAX_BATCHED_KEYS:
            return self._batched(asked, context, positions)

        def one(peer: str) -> PeerAnswer:
            try:
                result = self.requester.lookup(peer, self._channel_for(peer), context, positions)
            except Exception as exc:
                return _failed(peer, exc)
            return _answer(peer, result, positions)

        if len(asked) == 1:
            return [one(asked[0])]
        # The first counterpart is asked on this thread while the others run on the pool.
        rest = [self._executor().submit(one, peer) for peer in asked[1:]]
        first = one(asked[0])
        return [first, *(f.result() for f in rest)]

    def _batched(
        self, asked: list[str], context: Context, positions: dict[str, list[int]]
    ) -> list[PeerAnswer]:
        """Every counterpart at once, with two PSI worker calls for all of them."""
        targets: list[tuple[str, HeldChannel]] = []
        answers: dict[str, PeerAnswer] = {}
        for peer in asked:
            try:
                targets.append((peer, self._channel_for(peer)))
            except Exception as exc:
                answers[peer] = _failed(peer, exc)
        outcomes = lookup_many(
            self.requester,
            targets,
            context,
            list(positions),
            threads=self._executor(),
            deadline_s=self.deadline_s,
        )
        for peer, outcome in outcomes.items():
            if isinstance(outcome, Exception):
                answers[peer] = _failed(peer, outcome)
            else:
                answers[peer] = _answer(peer, outcome, positions)
        return [answers[peer] for peer in asked]


def _failed(peer: str, exc: BaseException) -> PeerAnswer:
    # Only our own catalogue's words go back, never a counterpart's raw text.
    return PeerAnswer(agency_id=peer, held=False, error=_safe(exc))


def _answer(peer: str, result: LookupResult, positions: dict[str, list[int]]) -> PeerAnswer:
    hits = sorted(i for key in result.hits for i in positions.get(key, []))
    return PeerAnswer(
        agency_id=peer,
        hits=tuple(hits),
        elements_charged=result.elements_charged,
        request_id=result.request_id,
        policy_digest=result.policy_digest,
    )


def _safe(exc: BaseException) -> str:
    text = str(exc).replace("\n", " ").strip()
    printable = "".join(c for c in text if c.isprintable())
    return f"{type(exc).__name__}: {printable[:300]}"
