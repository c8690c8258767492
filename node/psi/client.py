"""The requester's side of OpenMined PSI.

``start`` creates a fresh client key for every request and encrypts the
requester's distinct elements in a random order. ``ClientSession.finish``
treats the counterpart's setup and response as hostile: their sizes,
structure and header fields are checked here, then a worker process
(``node.psi.pool``) validates every element and bit (``node.psi.messages``)
and runs the library's intersection step. The full validation costs time and
memory in proportion to what the counterpart sent (a 13 MB setup is about
100 million bits to decode), so it runs under the worker's time and memory
limits, where a crash, hang or overrun loses only that call. Indices the
library returns outside the request are discarded.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import private_set_intersection.python as psi

from node.psi.errors import MalformedPsiMessage
from node.psi.messages import (
    DEFAULT_LIMITS,
    Limits,
    parse_response,
    parse_setup,
    parse_setup_shallow,
)

if TYPE_CHECKING:
    from node.psi.pool import PsiPool


@dataclass(frozen=True)
class ClientResult:
    """The outcome of one match.

    ``indices`` are positions in the caller's element list whose element the
    counterpart also holds (every position, when an element was given twice),
    sorted; ``None`` in cardinality-only mode. ``count`` is the number of
    distinct elements matched, in both modes.
    """

    indices: list[int] | None
    count: int


def library_intersection(
    key: bytes, reveal: bool, setup_bytes: bytes, response_bytes: bytes
) -> list[int] | int:
    """Run the library's intersection step (in a worker process).

    No validation happens here; callers validate first. Returns the raw
    library answer: indices into the request in reveal mode, else a count.
    """
    client = psi.client.CreateFromKey(key, reveal)
    setup = psi.ServerSetup()
    setup.ParseFromString(setup_bytes)
    response = psi.Response()
    response.ParseFromString(response_bytes)
    try:
        if reveal:
            return [int(i) for i in client.GetIntersection(setup, response)]
        return int(client.GetIntersectionSize(setup, response))
    except RuntimeError:
        # Lengths and prefixes were checked; what is left is a point that
        # does not lie on the curve.
        raise MalformedPsiMessage(
            "response.encrypted_elements", "holds an element that is not a point on P-256"
        ) from None


def validated_intersection(
    key: bytes,
    reveal: bool,
    setup_bytes: bytes,
    response_bytes: bytes,
    limits: Limits,
    client_count: int,
) -> list[int] | int:
    """Validate the counterpart's setup and response in full, then intersect (in a worker).

    Raises ``MalformedPsiMessage`` (sent back to the parent with its fields)
    for anything the library must not see.
    """
    parse_setup(setup_bytes, limits=limits, client_count=client_count)
    parse_response(response_bytes, expected_count=client_count)
    return library_intersection(key, reveal, setup_bytes, response_bytes)


class ClientSession:
    """One PSI request in flight: the request bytes and what is needed to finish it.

    The client key lives only in this object (and, during ``finish``, in the
    worker computing the intersection). It is dropped once ``finish`` succeeds,
    so a session answers exactly one response.
    """

    def __init__(
        self, *, key: bytes, reveal: bool, request_bytes: bytes, positions: list[list[int]]
    ) -> None:
        self._key: bytes | None = key
        self.reveal = reveal
        self.request_bytes = request_bytes
        # positions[i] lists the caller's indices holding request element i.
        self._positions = positions

    def __repr__(self) -> str:
        return f"ClientSession(reveal={self.reveal}, element_count={self.element_count})"

    @property
    def element_count(self) -> int:
        """Number of distinct elements in the request (what a budget is charged)."""
        return len(self._positions)

    def validate(self, setup_bytes: bytes, response_bytes: bytes, limits: Limits) -> None:
        """Check the counterpart's setup and response in full, in this process; raise if malformed.

        ``finish`` does not call this: it checks only the cheap parts here and
        the rest in a worker. Kept for tools that want the whole verdict inline.
        """
        parse_setup(setup_bytes, limits=limits, client_count=self.element_count)
        parse_response(response_bytes, expected_count=self.element_count)

    def validate_shallow(self, setup_bytes: bytes, response_bytes: bytes, limits: Limits) -> None:
        """Check sizes, structure, header fields and counts (cheap); raise if malformed.

        The response is checked in full: its length was just checked against
        the request, so its cost is bounded by what this node sent.
        """
        parse_setup_shallow(setup_bytes, limits=limits, client_count=self.element_count)
        parse_response(response_bytes, expected_count=self.element_count)

    def finish(
        self,
        setup_bytes: bytes,
        response_bytes: bytes,
        *,
        pool: PsiPool | None = None,
        limits: Limits = DEFAULT_LIMITS,
        timeout_s: float | None = None,
        should_stop: Callable[[], bool] | None = None,
    ) -> ClientResult:
        """Validate the counterpart's answer and compute the intersection in a worker.

        Cheap checks run here, so an obviously malformed answer never starts a
        worker; the element-by-element validation and the library step run
        together in the worker, within ``timeout_s`` and its memory limit.
        Raises ``MalformedPsiMessage`` for a setup or response that fails
        validation and ``PsiWorkerFailed`` when the worker crashes, hangs or
        runs out of memory. Uses ``pool`` or the process-wide default pool.
        """
        if self._key is None:
            raise RuntimeError("this PSI session has already been finished")
        if self.element_count == 0:
            parse_response(response_bytes, expected_count=0)
            return ClientResult(indices=[] if self.reveal else None, count=0)
        self.validate_shallow(setup_bytes, response_bytes, limits)
        raw = self._run(
            validated_intersection,
            setup_bytes,
            response_bytes,
            limits,
            self.element_count,
            pool=pool,
            timeout_s=timeout_s,
            should_stop=should_stop,
        )
        result = self._interpret(raw)
        self._key = None
        return result

    def _run_library(
        self,
        setup_bytes: bytes,
        response_bytes: bytes,
        *,
        pool: PsiPool | None = None,
        timeout_s: float | None = None,
        should_stop: Callable[[], bool] | None = None,
    ) -> Any:
        """Run the library step in a worker without validating (tests use this directly)."""
        return self._run(
            library_intersection,
            setup_bytes,
            response_bytes,
            pool=pool,
            timeout_s=timeout_s,
            should_stop=should_stop,
        )

    def _run(
        self,
        fn: Callable[..., Any],
        setup_bytes: bytes,
        response_bytes: bytes,
        *extra: Any,
        pool: PsiPool | None = None,
        timeout_s: float | None = None,
        should_stop: Callable[[], bool] | None = None,
    ) -> Any:
        from node.psi.pool import default_pool

        if self._key is None:
            raise RuntimeError("this PSI session has already been finished")
        chosen = pool if pool is not None else default_pool()
        return chosen.run(
            fn,
            self._key,
            self.reveal,
            bytes(setup_bytes),
            bytes(response_bytes),
            *extra,
            timeout_s=timeout_s,
            should_stop=should_stop,
        )

    def _interpret(self, raw: Any) -> ClientResult:
        n = self.element_count
        if not self.reveal:
            # The response length was checked, so the library cannot count
            # more hits than there are elements; clamp in any case.
            return ClientResult(indices=None, count=min(max(int(raw), 0), n))
        hits = {i for i in raw if isinstance(i, int) and 0 <= i < n}
        indices = sorted(p for i in hits for p in self._positions[i])
        return ClientResult(indices=indices, count=len(hits))


def start(elements: Sequence[str], *, reveal: bool) -> ClientSession:
    """Begin a PSI request for ``elements`` with a fresh client key.

    Duplicates are sent once (identical elements would encrypt identically and
    show the counterpart which of them repeat) and the distinct elements are
    sent in a random order.
    """
    positions_by_element: dict[str, list[int]] = {}
    for index, element in enumerate(elements):
        if not isinstance(element, str):
            raise TypeError("PSI elements must be strings")
        positions_by_element.setdefault(element, []).append(index)
    distinct = list(positions_by_element)
    secrets.SystemRandom().shuffle(distinct)
    positions = [positions_by_element[e] for e in distinct]

    client = psi.client.CreateWithNewKey(reveal)
    request = client.CreateRequest(distinct)
    return ClientSession(
        key=bytes(client.GetPrivateKeyBytes()),
        reveal=reveal,
        request_bytes=request.SerializeToString(),
        positions=positions,
    )
