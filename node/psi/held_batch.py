"""One lookup against many counterparts in two worker calls, whatever their number.

Making the library's object for a client key costs milliseconds (far more
than blinding or intersecting a lookup's few keys), so a fan-out that made
one per counterpart on the requester's path would pay that N times. Here a
worker makes fresh client keys and their objects ahead, while it is idle
(``_refill_one``, run from the worker loop between tasks). A fan-out then
costs two calls: ``create_requests`` blinds every counterpart's request, each
under its own fresh key, and keeps those objects for a short while;
``intersect_many`` validates and intersects every counterpart's response
against the respective held shards, reusing the kept objects when it runs in
the same worker (the caller asks for it; elsewhere it makes them itself).

Every key comes from the OS generator and serves exactly one counterpart of
one lookup; keys and objects live in the worker's memory only (workers never
dump core) and go with it when it is recycled. Counterpart bytes are only
ever read here, inside the worker, and one counterpart's malformed response
fails only that counterpart's entry.
"""

from __future__ import annotations

import os
import time
from collections import OrderedDict
from collections.abc import Sequence
from typing import Any

import private_set_intersection.python as psi

from node.psi import _worker
from node.psi.errors import MalformedPsiMessage, PsiError
from node.psi.held import check_response, intersect_with, new_client_key

# Spare (key, client object) pairs this worker keeps ready.
SPARE_CLIENTS = 8
# Objects handed out by ``create_requests`` wait this long for their responses
# (beyond it they are dropped and ``intersect_many`` makes them again), and
# no more than this many are kept.
_KEPT_FOR_S = 120.0
_MAX_KEPT = 64
# While a handed-out object is younger than this, the worker does not refill
# spares, so the intersection call that follows finds it idle.
_QUIET_FOR_S = 2.0

_spare: list[tuple[bytes, Any]] = []
_kept: OrderedDict[bytes, tuple[float, Any]] = OrderedDict()
_hooked = False


def _prune(now: float) -> None:
    while _kept and (len(_kept) > _MAX_KEPT or next(iter(_kept.values()))[0] < now - _KEPT_FOR_S):
        _kept.popitem(last=False)


def _refill_one() -> bool:
    """Make one spare client if one is wanted now; False when there is nothing to do."""
    now = time.monotonic()
    _prune(now)
    if len(_spare) >= SPARE_CLIENTS:
        return False
    if _kept and next(reversed(_kept.values()))[0] > now - _QUIET_FOR_S:
        return False
    key = new_client_key()
    _spare.append((key, psi.client.CreateFromKey(key, True)))
    return True


def create_requests(
    element_lists: Sequence[Sequence[str]],
) -> tuple[int, list[tuple[bytes, bytes]]]:
    """Blind each list under its own fresh client key (runs in a worker).

    Returns this worker's process id (for the caller to send the matching
    ``intersect_many`` here) and, per list, (client key, request bytes).
    """
    global _hooked  # noqa: PLW0603 - the refill hook is registered once per worker
    if not _hooked:
        _worker.add_idle_hook(_refill_one)
        _hooked = True
    now = time.monotonic()
    out: list[tuple[bytes, bytes]] = []
    for elements in element_lists:
        if _spare:
            key, client = _spare.pop()
        else:
            key = new_client_key()
            client = psi.client.CreateFromKey(key, True)
        request: bytes = client.CreateRequest(list(elements)).SerializeToString()
        _kept[key] = (now, client)
        out.append((key, request))
    _prune(now)
    return os.getpid(), out


Item = tuple[bytes, bytes, int, Sequence[tuple[bytes, Sequence[int]]]]


def intersect_many(items: Sequence[Item]) -> list[tuple[str, Any]]:
    """Validate and intersect each counterpart's response (runs in a worker).

    Each item is (client key, response bytes, request size, groups) as for
    :func:`node.psi.held.held_intersection`. Returns per item ``("ok",
    indices)`` or ``("psi_error", payload)``: one malformed response costs
    only its own entry.
    """
    out: list[tuple[str, Any]] = []
    for key, response_bytes, count, groups in items:
        kept = _kept.pop(bytes(key), None)
        try:
            check_response(response_bytes, count)
            client = kept[1] if kept is not None else psi.client.CreateFromKey(key, True)
            out.append(("ok", intersect_with(client, response_bytes, groups)))
        except PsiError as exc:
            out.append(("psi_error", exc.to_payload()))
        except (RuntimeError, ValueError, TypeError):
            bad = MalformedPsiMessage("response", "could not be read as a PSI response")
            out.append(("psi_error", bad.to_payload()))
    return out
