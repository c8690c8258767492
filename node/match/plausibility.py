"""What an honest responder cannot answer: the requester's checks on a match reply.

PSI hits are the counterpart's claims. A hostile responder cannot invent a hit
for a key it does not hold, but it can copy the re-encrypted point of one
genuine hit into every position of its response (every key then reads as a
hit), or permute the points (hits land on the wrong keys). Permutation cannot
be detected; copying can, and so can a hit count no honest setup could give:

- **Repeated points.** The responder multiplies each distinct request point by
  the same secret scalar, a bijection: distinct points in, distinct points
  out. A response holding one point twice is forged.
- **More hits than the setup holds.** A setup encodes the responder's set,
  padded to a bucket; a request cannot hit more distinct keys than that.
- **Every key a hit on a large request.** ``ALL_HIT_THRESHOLD`` distinct keys
  or more, all of them hits, is refused: an honest counterpart holding all of
  them is far less likely than a forged answer, and the analyst can re-send a
  smaller selection. Smaller requests may legitimately all hit.

A refused reply stores nothing; the analyst sees why. Whatever passes is still
a claim: the governed follow-up (``node.disclosure``) never sends a plaintext
key the counterpart has not shown it holds.
"""

from __future__ import annotations

from typing import Any

import private_set_intersection.python as psi
from google.protobuf.message import DecodeError

from node.errors import SpoorError

#: A request of at least this many distinct keys may not come back all hits.
ALL_HIT_THRESHOLD = 32


class ImplausibleReply(SpoorError):
    """A counterpart's match answer is impossible for an honest responder; nothing was stored."""

    FIELDS = ("peer", "reason")

    def __init__(self, peer: str, reason: str) -> None:
        self.peer = peer
        self.reason = reason
        super().__init__(
            f"{peer}: the match answer was refused as forged ({reason}); no hit was stored. "
            "Tell the counterpart's operator and the oversight officer."
        )


def _parse(message: Any, data: bytes) -> Any | None:
    try:
        message.ParseFromString(bytes(data))
    except DecodeError:
        return None
    return message


def check_response_points(peer: str, response_bytes: bytes) -> None:
    """Refuse a response holding any point twice (call before the intersection step)."""
    response = _parse(psi.Response(), response_bytes)
    if response is None:
        return  # the PSI layer refuses it with the precise reason
    points = list(response.encrypted_elements)
    if len(set(points)) != len(points):
        repeated = len(points) - len(set(points))
        raise ImplausibleReply(
            peer, f"the response repeats {repeated} of {len(points)} re-encrypted points"
        )


def setup_capacity(setup_bytes: bytes) -> int | None:
    """How many elements the counterpart's setup encodes (its padded set size), if readable."""
    setup = _parse(psi.ServerSetup(), setup_bytes)
    if setup is None:
        return None
    kind = setup.WhichOneof("data_structure")
    if kind == "raw":
        return len(setup.raw.encrypted_elements)
    if kind == "gcs":
        return _golomb_values(bytes(setup.gcs.bits), int(setup.gcs.div))
    return None  # a Bloom filter does not say how many elements went in


def _golomb_values(bits: bytes, div: int) -> int | None:
    """Values in a Golomb-coded stream: a unary quotient ended by a one, then ``div`` bits."""
    if div < 0:
        return None
    nbits = 8 * len(bits)
    stream = format(int.from_bytes(bits, "little"), f"0{nbits}b")[::-1]
    position = count = 0
    while (one := stream.find("1", position)) >= 0:
        position = one + 1 + div
        if position > nbits:
            return None
        count += 1
    return count


def check_hit_count(peer: str, distinct: int, hits: int, setup_bytes: bytes) -> None:
    """Refuse a hit count an honest responder could not produce."""
    capacity = setup_capacity(setup_bytes)
    if capacity is not None and hits > capacity:
        raise ImplausibleReply(
            peer, f"{hits} hits, but the counterpart's setup holds only {capacity} elements"
        )
    if distinct >= ALL_HIT_THRESHOLD and hits == distinct:
        raise ImplausibleReply(
            peer,
            f"all {distinct} keys came back as hits (at least {ALL_HIT_THRESHOLD} keys "
            "that all hit is refused; re-send a smaller selection if it is genuine)",
        )
