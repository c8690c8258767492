"""Parse and validate OpenMined PSI messages in pure Python.

The PSI library trusts its inputs: some malformed server setups abort,
segfault or hang it (an empty Bloom filter, a GCS ``hash_range`` of 0, a GCS
``div`` of 2**31-1 or -1), and others make it silently misreport (an unsorted
raw setup, a response longer than the request, a saturated Bloom filter).
Fuzzing 2.0.6 also showed that GCS bit strings which end in the middle of a
value make it read past its buffer and segfault, so GCS setups are decoded
here in full. So every message a counterpart sends is checked here, field by
field, before the library ever sees it.

The checks come in two depths. The shallow ones (sizes, protobuf structure,
header fields, element counts) cost little and run in the calling process,
so an obviously bad message never starts a worker. The deep ones walk every
element or bit (the Golomb stream, a Bloom filter's fill, each raw point)
and cost time and memory in proportion to what the counterpart chose to
send: the requester runs them inside the PSI worker, under its time and
memory limits, just before the library step (``node.psi.client``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import private_set_intersection.python as psi
from google.protobuf import unknown_fields
from google.protobuf.message import DecodeError

from node.psi.errors import MalformedPsiMessage, SetTooLarge

# OpenMined PSI uses P-256 and sends points in SEC1 compressed form: one
# prefix byte (0x02 or 0x03, the parity of y) followed by the 32-byte x.
POINT_LENGTH = 33
POINT_PREFIXES = frozenset((0x02, 0x03))

# The library derives a Bloom filter's hash count as ceil(-log2(fpr / n));
# even fpr=1e-15 with ten million client elements stays under 80.
MAX_BLOOM_HASH_FUNCTIONS = 128
# The Golomb divisor is a shift width applied to 64-bit integers.
MAX_GCS_DIV = 63
# The false hits a setup may imply over a whole request. An honest setup is
# built for a total false-positive rate ``fpr`` (1e-9 by default, at most 1e-3
# by node configuration), so it covers about fpr / n_client of the hash space:
# a GCS holds n_server values in a range of n_server * n_client / fpr, and a
# Bloom filter at capacity has half its bits set with -log2(fpr / n_client)
# hash functions. A denser setup (up to "everything matches") is refused.
MAX_EXPECTED_FALSE_HITS = 2e-3


@dataclass(frozen=True)
class Limits:
    """Size limits applied to untrusted PSI messages.

    ``max_setup_bytes`` bounds a serialized server setup; ``max_setup_elements``
    bounds the number of points in a raw setup. (A response is bounded by the
    request it answers; a request by the responder's ``max_elements``.)
    """

    max_setup_bytes: int = 64 * 1024 * 1024
    max_setup_elements: int = 4_000_000


DEFAULT_LIMITS = Limits()


def _parse(message: Any, data: bytes, field: str) -> Any:
    if not isinstance(data, bytes | bytearray | memoryview):
        raise MalformedPsiMessage(field, "is not bytes")
    try:
        message.ParseFromString(bytes(data))
    except DecodeError:
        raise MalformedPsiMessage(field, "is not a valid protobuf message") from None
    if len(unknown_fields.UnknownFieldSet(message)) > 0:
        raise MalformedPsiMessage(field, "carries fields this protocol version does not define")
    return message


def _check_points(points: Sequence[bytes], field: str) -> None:
    for point in points:
        if len(point) != POINT_LENGTH or point[0] not in POINT_PREFIXES:
            raise MalformedPsiMessage(
                field, f"holds an element that is not a {POINT_LENGTH}-byte compressed point"
            )


def parse_request_shallow(request_bytes: bytes, *, max_elements: int | None = None) -> Any:
    """Parse a client request without looking at each element.

    Raises ``MalformedPsiMessage`` for bytes that are not a request or a request
    with no elements, and ``SetTooLarge`` past ``max_elements``.
    """
    request = _parse(psi.Request(), request_bytes, "request")
    count = len(request.encrypted_elements)
    if count == 0:
        raise MalformedPsiMessage("request.encrypted_elements", "holds no elements")
    if max_elements is not None and count > max_elements:
        raise SetTooLarge(limit=max_elements, actual=count)
    return request


def parse_request(request_bytes: bytes, *, reveal: bool, max_elements: int | None = None) -> Any:
    """Parse and fully validate a client request for a call in the given reveal mode."""
    request = parse_request_shallow(request_bytes, max_elements=max_elements)
    if bool(request.reveal_intersection) != reveal:
        raise MalformedPsiMessage(
            "request.reveal_intersection", "does not match the reveal mode of the call"
        )
    _check_points(request.encrypted_elements, "request.encrypted_elements")
    return request


def parse_response_shallow(response_bytes: bytes, *, expected_count: int) -> Any:
    """Parse a server response and check its length without looking at each element.

    A response longer than the request makes the library report indices the
    requester never asked about; a shorter one silently drops hits. Both are
    refused.
    """
    response = _parse(psi.Response(), response_bytes, "response")
    count = len(response.encrypted_elements)
    if count != expected_count:
        raise MalformedPsiMessage(
            "response.encrypted_elements",
            f"holds {count} elements but the request held {expected_count}",
        )
    return response


def parse_response(response_bytes: bytes, *, expected_count: int) -> Any:
    """Parse and fully validate a server response to a request of ``expected_count`` elements."""
    response = parse_response_shallow(response_bytes, expected_count=expected_count)
    _check_points(response.encrypted_elements, "response.encrypted_elements")
    return response


def parse_setup_shallow(
    setup_bytes: bytes, *, limits: Limits = DEFAULT_LIMITS, client_count: int = 1
) -> Any:
    """Check a server setup's size, structure, header fields and element count.

    Cheap enough for the calling process: nothing here decodes the Golomb
    stream or walks the points (a Bloom filter's fill is one pass in C over
    bits already in memory). ``parse_setup`` adds the checks that do.
    """
    if len(setup_bytes) > limits.max_setup_bytes:
        raise MalformedPsiMessage(
            "setup", f"is {len(setup_bytes)} bytes, above the limit of {limits.max_setup_bytes}"
        )
    setup = _parse(psi.ServerSetup(), setup_bytes, "setup")
    kind = setup.WhichOneof("data_structure")
    if kind is not None and len(unknown_fields.UnknownFieldSet(getattr(setup, kind))) > 0:
        raise MalformedPsiMessage(
            f"setup.{kind}", "carries fields this protocol version does not define"
        )
    max_coverage = MAX_EXPECTED_FALSE_HITS / max(client_count, 1)
    if kind == "gcs":
        _check_gcs_header(setup.gcs)
    elif kind == "bloom_filter":
        _check_bloom_filter(setup.bloom_filter, max_coverage)
    elif kind == "raw":
        _check_raw_header(setup.raw, limits)
    else:
        raise MalformedPsiMessage("setup.data_structure", "is missing")
    return setup


def parse_setup(
    setup_bytes: bytes, *, limits: Limits = DEFAULT_LIMITS, client_count: int = 1
) -> Any:
    """Parse and fully validate a server setup before the library may read it.

    ``client_count`` is the number of elements the requester sent; it sets how
    dense a filter may be (see ``MAX_EXPECTED_FALSE_HITS``). The work is
    proportional to the setup's size: the requester runs this in a PSI worker.
    """
    setup = parse_setup_shallow(setup_bytes, limits=limits, client_count=client_count)
    max_coverage = MAX_EXPECTED_FALSE_HITS / max(client_count, 1)
    kind = setup.WhichOneof("data_structure")
    if kind == "gcs":
        _check_gcs_stream(setup.gcs, max_coverage)
    elif kind == "raw":
        _check_raw_points(setup.raw)
    return setup


def _check_gcs_header(gcs: Any) -> None:
    # hash_range 0 divides by zero inside the library (abort); a negative one
    # makes every lookup miss.
    if gcs.hash_range <= 0:
        raise MalformedPsiMessage("setup.gcs.hash_range", "must be positive")
    # div is a shift width: -1 hangs the decoder, 2**31-1 reads far past the
    # end of the bit string (segfault). The encoder picks div close to
    # log2(hash_range / n), so it can never exceed the bit length of hash_range.
    if not 0 < gcs.div <= MAX_GCS_DIV:
        raise MalformedPsiMessage("setup.gcs.div", f"must be between 1 and {MAX_GCS_DIV}")
    if gcs.div > gcs.hash_range.bit_length():
        raise MalformedPsiMessage("setup.gcs.div", "is too large for setup.gcs.hash_range")
    if len(gcs.bits) == 0:
        raise MalformedPsiMessage("setup.gcs.bits", "is empty")


def _check_gcs_stream(gcs: Any, max_coverage: float) -> None:
    max_count = gcs.hash_range * max_coverage
    count = _check_golomb_stream(bytes(gcs.bits), gcs.div, gcs.hash_range, max_count)
    if count > max_count:
        raise MalformedPsiMessage(
            "setup.gcs.bits", "is dense enough to report many elements as hits"
        )


# The stream is decoded in blocks so memory stays flat whatever its size.
_GOLOMB_BLOCK_BYTES = 1 << 16
# An honest setup holds distinct hashes: two of n elements collide in a range of
# n * n_client / fpr with probability about n * fpr / n_client. A few repeats are
# tolerated; a stream of them (the zero-gap flood) is stopped within 64 values.
MAX_GCS_REPEATS = 64
# The encoder picks div so the mean gap is 2**div to 2**(div+1). After each
# power-of-two number of values (from 1024 on), the values must span at least
# 1/64 of what that mean implies: 1024 honest gaps fall that short with a
# probability far below 1e-100, while a stream of tiny gaps is stopped early.
_GAP_CHECK_FROM = 1024
_GAP_SLACK = 64


def _check_golomb_stream(bits: bytes, div: int, hash_range: int, max_count: float) -> int:
    """Decode the Golomb-coded stream and return how many values it holds.

    The library's decoder trusts the stream: a code that runs past the last
    byte makes it read beyond the buffer (fuzzing 2.0.6 with well-sized
    parameters and random bits segfaults it in about one case in seven). The
    format, as the library writes it: bits least-significant first within each
    byte; each value is the gap from the previous one, written as a unary
    quotient (zeros ended by a one) followed by ``div`` remainder bits.

    Decoding stops as soon as the stream is known to be refused: more values
    than ``max_count``, repeated values, or values packed far tighter than
    ``div`` implies, so a hostile stream costs little more than an honest one.
    """
    total = count = repeats = zeros = 0
    next_gap_check = _GAP_CHECK_FROM
    carry = ""
    for start in range(0, len(bits), _GOLOMB_BLOCK_BYTES):
        block = bits[start : start + _GOLOMB_BLOCK_BYTES]
        window = carry + format(int.from_bytes(block, "little"), f"0{8 * len(block)}b")[::-1]
        carry = ""
        position = 0
        while True:
            one = window.find("1", position)
            if one < 0:
                zeros += len(window) - position
                break
            end = one + 1 + div
            if end > len(window):
                # The value continues in the next block.
                zeros += one - position
                carry = window[one:]
                break
            gap = ((zeros + one - position) << div) | int(window[one + 1 : end][::-1], 2)
            zeros = 0
            position = end
            total += gap
            if total >= hash_range:
                raise MalformedPsiMessage(
                    "setup.gcs.bits", "encodes a value outside setup.gcs.hash_range"
                )
            count += 1
            if gap == 0 and count > 1:
                repeats += 1
                if repeats > MAX_GCS_REPEATS:
                    raise MalformedPsiMessage("setup.gcs.bits", "repeats the same value")
            if count > max_count:
                raise MalformedPsiMessage(
                    "setup.gcs.bits", "is dense enough to report many elements as hits"
                )
            if count == next_gap_check:
                next_gap_check *= 2
                if total < (count << div) // _GAP_SLACK:
                    raise MalformedPsiMessage(
                        "setup.gcs.bits", "packs its values far closer than setup.gcs.div implies"
                    )
    if carry:
        raise MalformedPsiMessage("setup.gcs.bits", "ends in the middle of a value")
    if count == 0:
        raise MalformedPsiMessage("setup.gcs.bits", "encodes no values")
    return count


def _check_bloom_filter(bloom: Any, max_coverage: float) -> None:
    # No bits means a modulo by zero in the library (abort); a hash count of 0
    # or less makes every element a hit; a huge one hangs the lookup.
    if not 1 <= bloom.num_hash_functions <= MAX_BLOOM_HASH_FUNCTIONS:
        raise MalformedPsiMessage(
            "setup.bloom_filter.num_hash_functions",
            f"must be between 1 and {MAX_BLOOM_HASH_FUNCTIONS}",
        )
    bits = bytes(bloom.bits)
    if not bits:
        raise MalformedPsiMessage("setup.bloom_filter.bits", "is empty")
    fill = int.from_bytes(bits, "big").bit_count() / (8 * len(bits))
    if fill**bloom.num_hash_functions > max_coverage:
        raise MalformedPsiMessage(
            "setup.bloom_filter.bits", "is saturated and would report almost every element"
        )


def _check_raw_header(raw: Any, limits: Limits) -> None:
    elements = raw.encrypted_elements
    if len(elements) == 0:
        raise MalformedPsiMessage("setup.raw.encrypted_elements", "holds no elements")
    if len(elements) > limits.max_setup_elements:
        raise MalformedPsiMessage(
            "setup.raw.encrypted_elements",
            f"holds {len(elements)} elements, above the limit of {limits.max_setup_elements}",
        )


def _check_raw_points(raw: Any) -> None:
    elements = raw.encrypted_elements
    _check_points(elements, "setup.raw.encrypted_elements")
    # The library merges the raw setup with the sorted client points and
    # silently misses hits when the setup is not sorted.
    previous = b""
    for element in elements:
        if element < previous:
            raise MalformedPsiMessage("setup.raw.encrypted_elements", "is not sorted")
        previous = element
