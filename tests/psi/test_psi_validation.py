"""Hostile setups, responses and requests are refused before the PSI library sees them."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import private_set_intersection.python as psi
import pytest

from node.psi import (
    DEFAULT_LIMITS,
    Limits,
    MalformedPsiMessage,
    PsiPool,
    SetTooLarge,
    count_request_elements,
    process,
    start,
)
from node.psi.messages import parse_setup
from node.psi.server import padded_elements
from tests.psi.helpers import (
    RESPONDER_KEYS,
    Exchange,
    make_exchange,
    mutate_response,
    mutate_setup,
)


@pytest.fixture(scope="module")
def untouched_pool() -> Iterator[PsiPool]:
    """A pool that validation failures must never start a worker in."""
    with PsiPool(max_workers=1, timeout_s=5) as pool:
        yield pool
        assert pool.worker_pids() == []


@pytest.fixture(scope="module")
def validating_pool() -> Iterator[PsiPool]:
    """A pool for setups whose refusal needs the full, element-by-element validation.

    That validation runs in a worker, under its time and memory limits, so these
    refusals come back from the worker.
    """
    with PsiPool(max_workers=1, timeout_s=30) as pool:
        yield pool


def _refused(exchange: Exchange, pool: PsiPool, setup: bytes, response: bytes) -> Any:
    with pytest.raises(MalformedPsiMessage) as caught:
        exchange.session.finish(setup, response, pool=pool)
    return caught.value


def _set_bloom(k: int, bits: bytes) -> Callable[[Any], None]:
    def change(setup: Any) -> None:
        setup.bloom_filter.num_hash_functions = k
        setup.bloom_filter.bits = bits

    return change


def _set_gcs(field: str, value: int | bytes) -> Callable[[Any], None]:
    def change(setup: Any) -> None:
        setattr(setup.gcs, field, value)

    return change


def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        byte, n = n & 0x7F, n >> 7
        out.append(byte | (0x80 if n else 0))
        if not n:
            return bytes(out)


def _dense_gcs(setup: Any) -> None:
    setup.gcs.hash_range = 1 << 20
    setup.gcs.div = 1
    setup.gcs.bits = b"\x55" * 64


class TestHostileSetup:
    """Every field of the counterpart's setup is checked in pure Python."""

    @pytest.mark.parametrize(
        ("change", "field"),
        [
            (_set_bloom(10, b""), "setup.bloom_filter.bits"),
            (_set_bloom(0, b"\x01" * 64), "setup.bloom_filter.num_hash_functions"),
            (_set_bloom(-5, b"\x01" * 64), "setup.bloom_filter.num_hash_functions"),
            (_set_bloom(2**31 - 1, b"\x01" * 64), "setup.bloom_filter.num_hash_functions"),
            (_set_bloom(30, b"\xff" * 64), "setup.bloom_filter.bits"),
            (_set_gcs("hash_range", 0), "setup.gcs.hash_range"),
            (_set_gcs("hash_range", -5), "setup.gcs.hash_range"),
            (_set_gcs("div", 2**31 - 1), "setup.gcs.div"),
            (_set_gcs("div", -1), "setup.gcs.div"),
            (_set_gcs("div", 0), "setup.gcs.div"),
            (_set_gcs("div", 64), "setup.gcs.div"),
            (_set_gcs("bits", b""), "setup.gcs.bits"),
            (lambda s: s.ClearField("gcs"), "setup.data_structure"),
        ],
        ids=[
            "bloom-empty-bits",
            "bloom-zero-hashes",
            "bloom-negative-hashes",
            "bloom-huge-hashes",
            "bloom-saturated",
            "gcs-hash-range-0",
            "gcs-hash-range-negative",
            "gcs-div-int32-max",
            "gcs-div-minus-1",
            "gcs-div-0",
            "gcs-div-64",
            "gcs-empty-bits",
            "no-data-structure",
        ],
    )
    def test_malformed_field_is_named(
        self,
        exchange: Exchange,
        untouched_pool: PsiPool,
        change: Callable[[Any], None],
        field: str,
    ) -> None:
        """A malformed setup field raises MalformedPsiMessage naming that field."""
        setup = mutate_setup(exchange.setup_bytes, change)
        error = _refused(exchange, untouched_pool, setup, exchange.response_bytes)
        assert error.field == field

    def test_gcs_div_too_large_for_its_hash_range(
        self, exchange: Exchange, untouched_pool: PsiPool
    ) -> None:
        """A divisor wider than the hash range could ever need is refused."""

        def change(setup: Any) -> None:
            setup.gcs.hash_range = 1000
            setup.gcs.div = 40

        error = _refused(
            exchange,
            untouched_pool,
            mutate_setup(exchange.setup_bytes, change),
            exchange.response_bytes,
        )
        assert error.field == "setup.gcs.div"

    @pytest.mark.parametrize(
        ("change", "reason"),
        [
            (lambda s: setattr(s.gcs, "bits", s.gcs.bits[:-3]), "ends in the middle of a value"),
            (lambda s: setattr(s.gcs, "bits", bytes(len(s.gcs.bits))), "encodes no values"),
            (
                lambda s: setattr(s.gcs, "hash_range", s.gcs.hash_range // 4),
                "encodes a value outside setup.gcs.hash_range",
            ),
            (_dense_gcs, "is dense enough to report many elements as hits"),
        ],
        ids=["truncated-stream", "all-zero-stream", "value-past-hash-range", "dense"],
    )
    def test_gcs_stream_is_decoded(
        self,
        exchange: Exchange,
        validating_pool: PsiPool,
        change: Callable[[Any], None],
        reason: str,
    ) -> None:
        """The Golomb-coded bits must decode to values inside the hash range, sparsely."""
        setup = mutate_setup(exchange.setup_bytes, change)
        error = _refused(exchange, validating_pool, setup, exchange.response_bytes)
        assert (error.field, error.reason) == ("setup.gcs.bits", reason)

    @pytest.mark.parametrize(
        ("structure", "field"),
        [
            (psi.DataStructure.GCS, "setup.gcs.bits"),
            (psi.DataStructure.BLOOM_FILTER, "setup.bloom_filter.bits"),
        ],
        ids=["gcs", "bloom"],
    )
    def test_filter_too_coarse_for_the_request(self, structure: Any, field: str) -> None:
        """A filter sized for one lookup is refused for a 5000-element request it would flood."""
        server = psi.server.CreateWithNewKey(True)
        setup = server.CreateSetupMessage(9.9e-4, 1, padded_elements(["a"]), structure)
        with pytest.raises(MalformedPsiMessage) as caught:
            parse_setup(setup.SerializeToString(), client_count=5000)
        assert caught.value.field == field

    def test_unsorted_raw_setup(self, validating_pool: PsiPool) -> None:
        """A raw setup whose points are not sorted is refused (the library would miss hits)."""
        honest = make_exchange()
        server = psi.server.CreateWithNewKey(True)
        raw = server.CreateSetupMessage(1e-9, 40, ["a", "b", "c", "d"], psi.DataStructure.RAW)
        points = sorted(raw.raw.encrypted_elements, reverse=True)
        del raw.raw.encrypted_elements[:]
        raw.raw.encrypted_elements.extend(points)
        error = _refused(honest, validating_pool, raw.SerializeToString(), honest.response_bytes)
        assert (error.field, error.reason) == ("setup.raw.encrypted_elements", "is not sorted")

    @pytest.mark.parametrize(
        "points",
        [[], [b"\x02" + b"\x01" * 31], [b"\x04" + b"\x01" * 32], [b"\x02" + b"\x01" * 40]],
        ids=["empty", "short-point", "bad-prefix", "long-point"],
    )
    def test_raw_setup_points(
        self, exchange: Exchange, validating_pool: PsiPool, points: list[bytes]
    ) -> None:
        """A raw setup with no points or points of the wrong size is refused."""

        def change(setup: Any) -> None:
            setup.raw.encrypted_elements.extend(points)
            setup.raw.SetInParent()

        error = _refused(
            exchange,
            validating_pool,
            mutate_setup(exchange.setup_bytes, change),
            exchange.response_bytes,
        )
        assert error.field == "setup.raw.encrypted_elements"

    @pytest.mark.parametrize(
        "setup",
        [b"\xff\xff\xff\xff", b"\x12\x05\x08", b"\x0a"],
        ids=["garbage", "truncated", "dangling-tag"],
    )
    def test_garbage_bytes(self, exchange: Exchange, untouched_pool: PsiPool, setup: bytes) -> None:
        """Bytes that are not a ServerSetup are refused as a whole."""
        error = _refused(exchange, untouched_pool, setup, exchange.response_bytes)
        assert error.field == "setup"

    def test_truncated_setup(self, exchange: Exchange, untouched_pool: PsiPool) -> None:
        """An honest setup cut short is refused."""
        setup = exchange.setup_bytes[: len(exchange.setup_bytes) // 2]
        error = _refused(exchange, untouched_pool, setup, exchange.response_bytes)
        assert error.field == "setup"

    def test_unknown_fields(self, exchange: Exchange, untouched_pool: PsiPool) -> None:
        """A setup carrying fields this protocol does not define is refused."""
        setup = exchange.setup_bytes + b"\x20\x07"
        error = _refused(exchange, untouched_pool, setup, exchange.response_bytes)
        assert error.field == "setup"

    def test_unknown_fields_inside_the_filter(
        self, exchange: Exchange, untouched_pool: PsiPool
    ) -> None:
        """Unknown fields nested inside the GCS message are refused too."""
        setup = psi.ServerSetup()
        setup.ParseFromString(exchange.setup_bytes)
        gcs = setup.gcs.SerializeToString() + b"\x20\x01"
        nested = b"\x12" + _varint(len(gcs)) + gcs
        error = _refused(exchange, untouched_pool, nested, exchange.response_bytes)
        assert error.field == "setup.gcs"

    def test_oversized_setup(self, exchange: Exchange, untouched_pool: PsiPool) -> None:
        """A setup above the size limit is refused before it is parsed."""
        with pytest.raises(MalformedPsiMessage) as caught:
            exchange.session.finish(
                exchange.setup_bytes,
                exchange.response_bytes,
                pool=untouched_pool,
                limits=Limits(max_setup_bytes=16),
            )
        assert caught.value.field == "setup"


class TestHonestSetupsPass:
    """Validation accepts every setup an honest responder can build."""

    @pytest.mark.parametrize("client_count", [1, 40, 5000])
    @pytest.mark.parametrize("fpr", [1e-9, 9.9e-4])
    @pytest.mark.parametrize(
        "structure",
        [psi.DataStructure.GCS, psi.DataStructure.BLOOM_FILTER, psi.DataStructure.RAW],
        ids=["gcs", "bloom", "raw"],
    )
    def test_library_setups(self, client_count: int, fpr: float, structure: Any) -> None:
        """Setups from the library at the node's lowest and highest allowed rates pass."""
        server = psi.server.CreateWithNewKey(True)
        for size in (1, 200):
            items = padded_elements([f"v1|phone|+2547000{i:05d}" for i in range(size)])
            setup = server.CreateSetupMessage(fpr, client_count, items, structure)
            parse_setup(setup.SerializeToString(), client_count=client_count)

    def test_spoor_setups(self) -> None:
        """Setups built by process() pass the requester's validation."""
        for n in (1, 300):
            session = start([f"k{i}" for i in range(n)], reveal=True)
            result = process(RESPONDER_KEYS, session.request_bytes, reveal=True, fpr=9.9e-4)
            session.validate(result.setup_bytes, result.response_bytes, DEFAULT_LIMITS)


class TestHostileResponse:
    """The counterpart's response must answer exactly the request that was sent."""

    def test_longer_than_request(self, exchange: Exchange, untouched_pool: PsiPool) -> None:
        """A response with more elements than the request is refused."""
        extra = make_exchange(["x1", "x2"]).response_bytes
        response = exchange.response_bytes + extra
        error = _refused(exchange, untouched_pool, exchange.setup_bytes, response)
        assert error.field == "response.encrypted_elements"
        assert "42 elements" in error.reason

    def test_shorter_than_request(self, exchange: Exchange, untouched_pool: PsiPool) -> None:
        """A response with fewer elements than the request is refused."""
        response = mutate_response(exchange.response_bytes, lambda r: r.encrypted_elements.pop())
        error = _refused(exchange, untouched_pool, exchange.setup_bytes, response)
        assert error.field == "response.encrypted_elements"

    @pytest.mark.parametrize(
        "point",
        [b"", b"\x02" * 32, b"\x02" * 34, b"\x05" + b"\x01" * 32],
        ids=["empty", "short", "long", "bad-prefix"],
    )
    def test_wrong_point_size(
        self, exchange: Exchange, untouched_pool: PsiPool, point: bytes
    ) -> None:
        """A response element that is not a 33-byte compressed point is refused."""

        def change(response: Any) -> None:
            response.encrypted_elements[0] = point

        response = mutate_response(exchange.response_bytes, change)
        error = _refused(exchange, untouched_pool, exchange.setup_bytes, response)
        assert error.field == "response.encrypted_elements"

    @pytest.mark.parametrize("response", [b"\xff\xff", b"\x0a\x21\x02"], ids=["garbage", "cut"])
    def test_garbage_bytes(
        self, exchange: Exchange, untouched_pool: PsiPool, response: bytes
    ) -> None:
        """Bytes that are not a Response are refused as a whole."""
        error = _refused(exchange, untouched_pool, exchange.setup_bytes, response)
        assert error.field == "response"

    def test_empty_response(self, exchange: Exchange, untouched_pool: PsiPool) -> None:
        """An empty response to a non-empty request is refused."""
        error = _refused(exchange, untouched_pool, exchange.setup_bytes, b"")
        assert error.field == "response.encrypted_elements"


class TestHostileRequest:
    """The responder validates a request before any curve work."""

    @pytest.mark.parametrize(
        ("request_bytes", "field"),
        [
            (b"\xff\xff\xff", "request"),
            (b"", "request.encrypted_elements"),
            (b"\x08\x01", "request.encrypted_elements"),
            (b"\x08\x01\x12\x03abc", "request.encrypted_elements"),
        ],
        ids=["garbage", "empty-bytes", "no-elements", "three-byte-point"],
    )
    def test_malformed_request(self, request_bytes: bytes, field: str) -> None:
        """Garbage, empty and wrong-size requests are refused with the field named."""
        with pytest.raises(MalformedPsiMessage) as caught:
            process(["a"], request_bytes, reveal=True)
        assert caught.value.field == field

    def test_reveal_mode_mismatch(self) -> None:
        """A cardinality-only request answered in reveal mode is refused."""
        session = start(["a", "b"], reveal=False)
        with pytest.raises(MalformedPsiMessage) as caught:
            process(["a"], session.request_bytes, reveal=True)
        assert caught.value.field == "request.reveal_intersection"

    def test_point_not_on_curve(self) -> None:
        """A well-sized element that is not a curve point is refused, not crashed on."""
        request = psi.Request(reveal_intersection=True, encrypted_elements=[b"\x02" + b"\xff" * 32])
        with pytest.raises(MalformedPsiMessage) as caught:
            process(["a"], request.SerializeToString(), reveal=True)
        assert caught.value.field == "request.encrypted_elements"

    def test_too_many_elements(self) -> None:
        """A request above max_elements raises SetTooLarge with the limit and the count."""
        session = start([f"k{i}" for i in range(5)], reveal=True)
        with pytest.raises(SetTooLarge) as caught:
            process(["a"], session.request_bytes, reveal=True, max_elements=4)
        assert (caught.value.limit, caught.value.actual) == (4, 5)

    def test_count_is_cheap_and_strict(self) -> None:
        """count_request_elements counts a valid request and refuses garbage or excess."""
        session = start(["a", "b", "c"], reveal=True)
        assert count_request_elements(session.request_bytes) == 3
        with pytest.raises(SetTooLarge):
            count_request_elements(session.request_bytes, max_elements=2)
        with pytest.raises(MalformedPsiMessage):
            count_request_elements(b"\xff\xfe")

    def test_unknown_fields(self) -> None:
        """A request with fields this protocol does not define is refused."""
        session = start(["a"], reveal=True)
        with pytest.raises(MalformedPsiMessage) as caught:
            process(["a"], session.request_bytes + b"\x18\x05", reveal=True)
        assert caught.value.field == "request"


class TestErrorMessages:
    """Errors describe the problem without carrying element values."""

    def test_messages_never_carry_elements(self) -> None:
        """Refusals name fields and counts but never the elements involved."""
        secret = "v1|passport|VNM|C7654321"
        session = start([secret], reveal=True)
        errors: list[Exception] = []
        for call in (
            lambda: process([secret], session.request_bytes, reveal=False),
            lambda: process([secret], session.request_bytes, reveal=True, max_elements=0),
            lambda: session.finish(b"\xff", b"", pool=None),
        ):
            with pytest.raises((MalformedPsiMessage, SetTooLarge)) as caught:
                call()
            errors.append(caught.value)
        for error in errors:
            assert secret not in str(error)
            assert "C7654321" not in repr(error.args)
