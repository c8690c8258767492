"""What a requester accepts from a counterpart's Describe and Match answers.

A counterpart's Describe answer steers the requester: its advertised
per-request maximum decides how many calls a match takes, and each call costs
the requester a full setup to check. A hostile counterpart advertising a
maximum of 1 turned one 587-key match into 587 calls (about three hours of
setup checking). So the advertised maximum has a floor, a match has a
ceiling on its number of calls, and every string the counterpart sends is
bounded before it is shown, stored or audited. A counterpart outside these
bounds is refused with :class:`CounterpartRefused` (a per-peer failure: the
other counterparts of the same ``spoor match`` keep their results), and
nothing more is sent to it.

These functions take plain values, so the wire mapping only has to pass the
decoded fields.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from node import bounds
from node.errors import InvalidRequest

#: The smallest per-request maximum a counterpart may advertise. Nodes default
#: to 20,000; below 100 a match becomes a stream of calls that each cost a full
#: setup, which only a misconfigured or hostile node would ask for.
MIN_ELEMENTS_PER_REQUEST = 100
#: The most calls one match makes to one counterpart (two million keys at the
#: default per-request maximum); a larger file is split by the user.
MAX_CALLS_PER_MATCH = 100
#: Below the floor a counterpart is still matched when the whole match takes at
#: most this many calls (a handful of keys against a small test node).
SMALL_MATCH_CALLS = 4


class CounterpartRefused(InvalidRequest):
    """A counterpart's description or answer is outside what this node accepts.

    ``peer`` is the counterpart, ``field`` the part of its answer, ``reason``
    what was wrong. Nothing more is sent to that counterpart in this run.
    """

    # One field more than InvalidRequest, whose FIELDS mypy reads as a 2-tuple.
    FIELDS = ("peer", "field", "reason")  # type: ignore[assignment]

    def __init__(self, peer: str, field: str, reason: str) -> None:
        super().__init__(field, reason)
        self.peer = peer
        self.args = (
            f"{peer}: refused, its {field} {reason}; nothing more was sent to it — "
            "ask its operator to check the node",
        )


def _text(peer: str, field: str, value: str, limit: int) -> None:
    if len(value) > limit:
        raise CounterpartRefused(peer, field, f"is longer than {limit} characters")
    if bounds.has_control(value):
        raise CounterpartRefused(peer, field, "contains control or invisible characters")


def check_description(
    peer: str,
    *,
    agency_id: str,
    country: str,
    capabilities: Sequence[str],
    policy_digest: str,
    software_version: str,
) -> None:
    """Refuse a Describe answer whose strings are overlong, unprintable or malformed."""
    _text(peer, "agency id", agency_id, bounds.MAX_DESCRIBE_TEXT)
    _text(peer, "country", country, bounds.MAX_DESCRIBE_TEXT)
    _text(peer, "software version", software_version, bounds.MAX_DESCRIBE_TEXT)
    if len(capabilities) > bounds.MAX_CAPABILITIES:
        raise CounterpartRefused(
            peer, "capability list", f"holds more than {bounds.MAX_CAPABILITIES} entries"
        )
    for capability in capabilities:
        _text(peer, "capability list", capability, bounds.MAX_DESCRIBE_TEXT)
    check_policy_digest(peer, policy_digest)


def check_policy_digest(peer: str, policy_digest: str) -> None:
    """Refuse a policy digest of the wrong shape (empty means "not given")."""
    if policy_digest and not bounds.is_policy_digest(policy_digest):
        raise CounterpartRefused(
            peer, "policy digest", "is not a digest (at most 64 letters, digits or -_.:)"
        )


def chunk_size(peer: str, advertised_max: int, key_count: int) -> int:
    """The chunk size for ``key_count`` keys, or ``CounterpartRefused`` past the bounds.

    ``advertised_max`` is the counterpart's Describe-advertised maximum number
    of elements per request.
    """
    calls = math.ceil(key_count / max(advertised_max, 1))
    if advertised_max < MIN_ELEMENTS_PER_REQUEST and (
        advertised_max < 1 or calls > SMALL_MATCH_CALLS
    ):
        raise CounterpartRefused(
            peer,
            "advertised maximum per request",
            f"is {advertised_max}, below the {MIN_ELEMENTS_PER_REQUEST} this node accepts "
            f"for a match of more than {SMALL_MATCH_CALLS} calls "
            "(each request costs a full setup to check)",
        )
    if calls > MAX_CALLS_PER_MATCH:
        raise InvalidRequest(
            "file",
            f"holds {key_count} keys, which would take {calls} calls to {peer} "
            f"(at most {MAX_CALLS_PER_MATCH} per match); split the file",
        )
    return advertised_max
