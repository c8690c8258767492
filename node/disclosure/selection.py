"""Private selection: the requester names the hits it pursues without sending a plaintext key.

A match hit is the responder's claim, and a hostile responder can forge or
permute hits. If the follow-up then sent the pursued keys in plaintext, the
responder would learn keys it never held. So for the follow-up the roles of
the match reverse (OpenMined PSI, nothing else):

1. ``OpenDisclosure``: the responder blinds the keys of the records it may
   disclose for this requester and context (participation policy), padded to
   a size bucket, under a fresh PSI client key kept in memory only, and sends
   that PSI request.
2. The requester, as PSI server, builds an unpadded setup over the pursued
   keys and re-encrypts the responder's points (:func:`answer_request`).
3. ``Disclose`` carries that setup and response. The responder computes the
   intersection: it learns exactly the pursued keys it genuinely holds, and
   nothing of the others. It charges the requester's element budget with the
   number of elements the setup encodes, like a match, so the step cannot be
   used to test membership for free.

The responder's session is single-use, bound to the requester and request id,
and expires after ``SESSION_TTL_S``; each peer may hold at most
``MAX_SESSIONS_PER_PEER`` open selections.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass

from node.disclosure.model import OpenCall, PrivateSelection
from node.errors import InvalidRequest, SpoorError
from node.match.plausibility import setup_capacity
from node.psi import client as psi_client
from node.psi import server as psi_server
from node.psi.errors import MalformedPsiMessage, SetTooLarge
from node.psi.messages import parse_request
from node.psi.pool import PsiPool

SESSION_TTL_S = 300.0
# Padding elements start with a NUL byte, which no match key contains (node.psi.server).
_DUMMY_MARK = "\x00"
MAX_SESSIONS_PER_PEER = 4


class SelectionExpired(SpoorError):
    """No open selection for this request id (never opened, already used, or expired)."""

    FIELDS = ("reference",)

    def __init__(self, reference: str) -> None:
        self.reference = reference
        super().__init__(f"no open selection for request {reference}")


@dataclass
class _Session:
    requester: str
    purpose: str
    legal_basis: str
    session: psi_client.ClientSession
    elements: list[str]
    expires: float


class SelectionSessions:
    """Open selections held in memory, keyed by (requester, request id)."""

    def __init__(self, ttl_s: float = SESSION_TTL_S) -> None:
        self.ttl_s = ttl_s
        self._lock = threading.Lock()
        self._open: dict[tuple[str, str], _Session] = {}

    def _expire(self, now: float) -> None:
        for key in [k for k, s in self._open.items() if s.expires <= now]:
            del self._open[key]

    def open(self, call: OpenCall, eligible: Sequence[str]) -> bytes:
        """Blind ``eligible`` under a fresh client key; the PSI request to send back."""
        now = time.monotonic()
        with self._lock:
            self._expire(now)
            if (call.requester, call.request_id) in self._open:
                raise InvalidRequest("request_id", "already has an open selection; use a new UUID")
            held = sum(1 for r, _ in self._open if r == call.requester)
            if held >= MAX_SESSIONS_PER_PEER:
                raise InvalidRequest(
                    "request_id",
                    f"your agency already has {held} open selections; complete or let them expire",
                )
        # Dummies (never a match key) hide the exact number of eligible keys.
        elements = psi_server.padded_elements(eligible)
        session = psi_client.start(elements, reveal=True)
        with self._lock:
            self._open[(call.requester, call.request_id)] = _Session(
                call.requester,
                call.context.purpose,
                call.context.legal_basis,
                session,
                elements,
                now + self.ttl_s,
            )
        return session.request_bytes

    def take(self, requester: str, request_id: str, purpose: str, legal_basis: str) -> _Session:
        """The open selection for this request (removed: a selection answers once)."""
        with self._lock:
            self._expire(time.monotonic())
            found = self._open.pop((requester, request_id), None)
        if found is None:
            raise SelectionExpired(request_id)
        if (found.purpose, found.legal_basis) != (purpose, legal_basis):
            raise InvalidRequest(
                "purpose", "differs from the OpenDisclosure call of this request id"
            )
        return found


def pursued_count(selection: PrivateSelection, max_elements: int) -> int:
    """How many elements the requester's setup encodes (what is charged); refuse a bad one."""
    capacity = setup_capacity(selection.psi_setup)
    if capacity is None or capacity < 1:
        raise MalformedPsiMessage(
            "private_selection.psi_setup", "must be a GCS or raw setup holding elements"
        )
    if capacity > max_elements:
        raise SetTooLarge(max_elements, capacity)
    return capacity


def resolve(
    found: _Session, selection: PrivateSelection, pool: PsiPool, timeout_s: float | None = None
) -> list[str]:
    """The pursued keys the responder holds (validated in full, intersection in a worker)."""
    result = pool.finish(
        found.session, selection.psi_setup, selection.psi_response, timeout_s=timeout_s
    )
    held = {found.elements[i] for i in (result.indices or [])}
    return sorted(k for k in held if not k.startswith(_DUMMY_MARK))


def answer_request(
    pursued: Sequence[str], request_bytes: bytes, *, max_elements: int, fpr: float = 1e-9
) -> PrivateSelection:
    """The requester's side: a setup over ``pursued`` and the responder's points re-encrypted.

    The responder's request is hostile input: its points are checked and its
    size bounded before any curve work.
    """
    try:
        request = parse_request(request_bytes, reveal=True, max_elements=max_elements)
    except SetTooLarge as exc:
        raise InvalidRequest(
            "psi_request",
            f"the counterpart asked with {exc.actual} keys, more than the {max_elements} "
            "this node answers; nothing was sent",
        ) from None
    result = psi_server.process(
        list(dict.fromkeys(pursued)), request.SerializeToString(), reveal=True, fpr=fpr, pad=False
    )
    return PrivateSelection(result.setup_bytes, result.response_bytes)
