"""The responder's side of OpenMined PSI.

For every call the responder creates a fresh server key (kept only in memory
and dropped when the call returns), pads its set with random dummy elements
up to a size bucket, builds a GCS setup sized for the number of elements the
request actually holds, and re-encrypts the request's points.

Why per-call keys: a key reused across sessions lets a requester compare
setups over time and see which elements were added or removed. A short
per-peer epoch key would let a node cache setups, but the key would have to
outlive the worker process that holds it and every setup in the epoch would
be diffable; until there is a cache that needs it, per-call keys are what
ships.

Why buckets: the setup reveals how many elements it encodes. Padding to the
next power of two (at least 64) means the requester learns the responder's
set size only to within a factor of two, and a record added or removed shows
up only when it crosses a bucket boundary.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Sequence
from dataclasses import dataclass

import private_set_intersection.python as psi

from node.psi.errors import MalformedPsiMessage
from node.psi.messages import parse_request, parse_request_shallow

MIN_BUCKET = 64
DEFAULT_FPR = 1e-9
# The library computes the GCS hash range as max(n_client, n_server) * n_client
# / fpr into a signed 64-bit integer, which silently wraps negative beyond 2**63
# (about 96k client elements at fpr=1e-9). It then picks the Golomb divisor
# from 1 - n_server / hash_range in double precision, which rounds to exactly 1
# once the average gap exceeds about 2**53 and breaks the encoder (a 40k-element
# request against a 64-element set fails). Both bounds below keep clear of that.
_MAX_HASH_RANGE = 2**62
_MAX_AVERAGE_GAP = 2**48
# Dummy elements start with a NUL byte, which no match key can contain, so a
# dummy never equals a real key on either side.
_DUMMY_PREFIX = "\x00spoor-padding|"


@dataclass(frozen=True)
class ServerResult:
    """What the responder sends back for one PSI request.

    ``setup_digest`` is the SHA-256 (hex) of ``setup_bytes`` for audit entries;
    ``elements_in_request`` is the count parsed from the request itself;
    ``padded_set_size`` is the bucket the responder's set was padded to.
    """

    setup_bytes: bytes
    response_bytes: bytes
    setup_digest: str
    elements_in_request: int
    padded_set_size: int


def bucket_size(n: int) -> int:
    """The padded set size for ``n`` distinct elements: next power of two, at least 64."""
    if n < 0:
        raise ValueError("a set size cannot be negative")
    return max(MIN_BUCKET, 1 << max(0, n - 1).bit_length())


def padded_elements(elements: Sequence[str]) -> list[str]:
    """Distinct ``elements`` followed by random dummies up to ``bucket_size``."""
    distinct = list(dict.fromkeys(elements))
    dummies = bucket_size(len(distinct)) - len(distinct)
    distinct.extend(_DUMMY_PREFIX + secrets.token_hex(16) for _ in range(dummies))
    return distinct


def effective_fpr(fpr: float, num_client: int, num_server: int) -> float:
    """The false-positive rate to build a GCS with so the library can encode it.

    ``fpr`` is the chance that any of the ``num_client`` lookups is a false hit.
    When the request is large compared with the responder's set it is raised
    just enough to keep the library's hash range below 2**62 and its average
    gap below 2**48 (still a tiny rate: about 1e-8 for 40k elements against 64).
    """
    if not 0 < fpr < 1:
        raise ValueError("fpr must be between 0 and 1")
    hash_range_cap = min(_MAX_HASH_RANGE, max(num_server, 1) * _MAX_AVERAGE_GAP)
    floor = max(num_client, num_server) * num_client / hash_range_cap
    chosen = max(fpr, floor)
    if chosen >= 1:
        raise ValueError("sets this large cannot be matched in one request")
    return chosen


def count_request_elements(request_bytes: bytes, *, max_elements: int | None = None) -> int:
    """Count the elements in a request without any elliptic-curve work.

    Call this to charge the element budget before ``process``. Raises
    ``MalformedPsiMessage`` for bytes that are not a request or hold no
    elements, and ``SetTooLarge`` when ``max_elements`` is given and exceeded.
    """
    request = parse_request_shallow(request_bytes, max_elements=max_elements)
    return len(request.encrypted_elements)


def process(
    elements: Sequence[str],
    request_bytes: bytes,
    *,
    reveal: bool,
    fpr: float = DEFAULT_FPR,
    max_elements: int | None = None,
    pad: bool = True,
) -> ServerResult:
    """Answer one PSI request against the responder's ``elements``.

    ``pad=False`` builds the setup over exactly the distinct ``elements`` (for a
    setup whose size is charged, as in a private disclosure selection).

    The request is validated first (``MalformedPsiMessage``, ``SetTooLarge``);
    the setup's client-set size is the number of elements in the request, never
    a number the peer declares. A fresh server key is created for this call and
    never stored.
    """
    request = parse_request(request_bytes, reveal=reveal, max_elements=max_elements)
    num_client = len(request.encrypted_elements)
    server_set = padded_elements(elements) if pad else list(dict.fromkeys(elements))
    chosen_fpr = effective_fpr(fpr, num_client, len(server_set))

    server = psi.server.CreateWithNewKey(reveal)
    setup = server.CreateSetupMessage(chosen_fpr, num_client, server_set, psi.DataStructure.GCS)
    try:
        response = server.ProcessRequest(request)
    except RuntimeError:
        # Lengths and prefixes were checked; what is left is a point that
        # does not lie on the curve.
        raise MalformedPsiMessage(
            "request.encrypted_elements", "holds an element that is not a point on P-256"
        ) from None
    setup_bytes: bytes = setup.SerializeToString()
    response_bytes: bytes = response.SerializeToString()
    return ServerResult(
        setup_bytes=setup_bytes,
        response_bytes=response_bytes,
        setup_digest=hashlib.sha256(setup_bytes).hexdigest(),
        elements_in_request=num_client,
        padded_set_size=len(server_set),
    )
