"""A counterpart's setup costs the PSI worker's limited time and memory, never the requester's."""

from __future__ import annotations

import tracemalloc
from collections.abc import Iterator, Sequence
from typing import Any

import pytest

from node.psi import MalformedPsiMessage, PsiPool, PsiWorkerFailed
from node.psi import messages as psi_messages
from tests.psi.helpers import Exchange, make_exchange, mutate_setup

# The size of the setup in the finding: about 13 MB of Golomb-coded bits.
FLOOD_BYTES = 13 * 1024 * 1024


def golomb_bits(gaps: Sequence[int], div: int) -> bytes:
    """Encode gaps the way the library does (unary quotient, ``div`` remainder bits, LSB first)."""
    stream: list[str] = []
    for gap in gaps:
        stream.append("0" * (gap >> div) + "1")
        stream.append(format(gap & ((1 << div) - 1), f"0{div}b")[::-1])
    text = "".join(stream)
    text += "0" * (-len(text) % 8)
    return int(text[::-1], 2).to_bytes(len(text) // 8, "little")


def flood(exchange: Exchange, gaps: Sequence[int], div: int, hash_range: int) -> bytes:
    """A setup whose stream repeats ``gaps`` until it is about FLOOD_BYTES long."""
    block = golomb_bits(gaps, div)
    assert len(block) * 8 == len(gaps) * (1 + div + max(g >> div for g in gaps)), "unaligned block"
    bits = block * (FLOOD_BYTES // len(block))

    def change(setup: Any) -> None:
        setup.gcs.div = div
        setup.gcs.hash_range = hash_range
        setup.gcs.bits = bits

    return mutate_setup(exchange.setup_bytes, change)


@pytest.fixture(scope="module")
def flood_exchange() -> Exchange:
    return make_exchange()


@pytest.fixture
def parent_never_decodes(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make decoding a Golomb stream in this (the requester's) process fail the test."""

    def forbidden(*args: object, **kwargs: object) -> int:
        raise AssertionError("the requester's process decoded a counterpart's setup")

    monkeypatch.setattr(psi_messages, "_check_golomb_stream", forbidden)


@pytest.fixture
def two_second_pool() -> Iterator[PsiPool]:
    with PsiPool(max_workers=1, timeout_s=2) as pool:
        yield pool


@pytest.fixture
def flood_pool() -> Iterator[PsiPool]:
    """A pool whose time limit leaves room for shipping 13 MB to a worker on a busy machine."""
    with PsiPool(max_workers=1, timeout_s=60) as pool:
        yield pool


class TestFloodedSetups:
    """Setups built to make validation expensive are refused inside the worker."""

    @pytest.mark.usefixtures("parent_never_decodes")
    def test_zero_gap_flood_is_refused_in_the_worker(
        self, flood_exchange: Exchange, flood_pool: PsiPool
    ) -> None:
        """The 13 MB zero-gap setup is refused by the worker, within its limits, as repetitive."""
        # 8 zero gaps with div=1 fill exactly two bytes; 2**40 keeps it under the density bound.
        setup = flood(flood_exchange, [0] * 8, div=1, hash_range=2**40)
        with pytest.raises(MalformedPsiMessage) as caught:
            flood_exchange.session.finish(setup, flood_exchange.response_bytes, pool=flood_pool)
        assert (caught.value.field, caught.value.reason) == (
            "setup.gcs.bits",
            "repeats the same value",
        )

    @pytest.mark.usefixtures("parent_never_decodes")
    def test_tightly_packed_flood_is_refused_early(
        self, flood_exchange: Exchange, flood_pool: PsiPool
    ) -> None:
        """Gaps of 1 under a divisor promising gaps near 2**20 are refused within 1024 values."""
        setup = flood(flood_exchange, [1] * 8, div=20, hash_range=2**50)
        with pytest.raises(MalformedPsiMessage) as caught:
            flood_exchange.session.finish(setup, flood_exchange.response_bytes, pool=flood_pool)
        assert caught.value.reason == "packs its values far closer than setup.gcs.div implies"

    def test_plausible_flood_costs_the_worker_time_limit(
        self, flood_exchange: Exchange, two_second_pool: PsiPool
    ) -> None:
        """A large, plausible-looking stream stops at the worker's time limit; the pool recovers."""
        # Gaps of exactly 2**7 under div=7: sparse, distinct, about 11 million values.
        setup = flood(flood_exchange, [1 << 7] * 8, div=7, hash_range=2**40)
        with pytest.raises(PsiWorkerFailed) as caught:
            flood_exchange.session.finish(
                setup, flood_exchange.response_bytes, pool=two_second_pool
            )
        assert "did not finish within 2 s" in caught.value.reason
        honest = make_exchange()
        result = two_second_pool.finish(honest.session, honest.setup_bytes, honest.response_bytes)
        assert result.count == 15

    def test_requester_memory_stays_flat(
        self, flood_exchange: Exchange, flood_pool: PsiPool
    ) -> None:
        """Checking a 13 MB setup allocates little more than the setup itself in the requester."""
        setup = flood(flood_exchange, [0] * 8, div=1, hash_range=2**40)
        tracemalloc.start()
        try:
            with pytest.raises(MalformedPsiMessage):
                flood_exchange.session.finish(setup, flood_exchange.response_bytes, pool=flood_pool)
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        # Decoding in this process took about 365 MB for this setup.
        assert peak < 3 * FLOOD_BYTES


class TestChunkedDecoder:
    """The block-wise decoder reads values that straddle block boundaries correctly."""

    @pytest.mark.parametrize("div", [1, 7, 29, 63])
    def test_values_across_blocks(self, div: int) -> None:
        """Gaps with long unary runs decode to the right count across 64 KB blocks."""
        gaps = [(5 << div) + 3, (70_000 << div) + 1, 1 << div] * 40
        bits = golomb_bits(gaps, div)
        assert len(bits) > 2 * 65536
        count = psi_messages._check_golomb_stream(bits, div, 2**100, float("inf"))
        assert count == len(gaps)

    def test_a_value_cut_at_the_end_is_refused(self) -> None:
        """A stream whose last value is missing remainder bits is refused, across blocks too."""
        bits = golomb_bits([(600_000 << 9) + 1], 9)
        with pytest.raises(MalformedPsiMessage) as caught:
            psi_messages._check_golomb_stream(bits[:-1], 9, 2**80, float("inf"))
        assert caught.value.reason == "ends in the middle of a value"
