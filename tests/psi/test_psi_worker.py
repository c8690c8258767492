"""The library runs in worker processes: a crash, hang or overrun loses only that call."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from node.psi import MalformedPsiMessage, PsiPool, PsiWorkerFailed, SetTooLarge
from node.psi.messages import parse_setup
from tests.psi.helpers import (
    REQUESTER_KEYS,
    SHARED_POSITIONS,
    Exchange,
    make_exchange,
    mutate_setup,
)


@pytest.fixture(scope="module")
def fuzz_pool() -> Iterator[PsiPool]:
    """One pool for all fuzz examples."""
    with PsiPool(max_workers=1, timeout_s=5) as pool:
        yield pool


@pytest.fixture(scope="module")
def fuzz_exchange() -> Exchange:
    """One honest exchange the fuzz examples mutate."""
    return make_exchange()


def _empty_bloom(setup: Any) -> None:
    setup.bloom_filter.num_hash_functions = 10
    setup.bloom_filter.bits = b""


def _gcs_hash_range_zero(setup: Any) -> None:
    setup.gcs.hash_range = 0


def _gcs_div_int32_max(setup: Any) -> None:
    setup.gcs.div = 2**31 - 1


def _gcs_div_minus_one(setup: Any) -> None:
    setup.gcs.div = -1


class TestCrashIsolation:
    """Inputs that kill the PSI library 2.0.6 kill only its worker when validation is bypassed."""

    @pytest.mark.parametrize(
        ("change", "reason"),
        [
            (_empty_bloom, "SIGABRT"),
            (_gcs_hash_range_zero, "SIGABRT"),
            (_gcs_div_int32_max, "SIGSEGV"),
            (_gcs_div_minus_one, "did not finish within 2 s"),
        ],
        ids=["bloom-empty-aborts", "gcs-hash-range-0-aborts", "gcs-div-segfaults", "gcs-div-hangs"],
    )
    def test_worker_dies_and_parent_survives(
        self, short_pool: PsiPool, change: Any, reason: str
    ) -> None:
        """Running a crashing setup in a worker raises PsiWorkerFailed; the next call works."""
        exchange = make_exchange()
        hostile = mutate_setup(exchange.setup_bytes, change)
        with pytest.raises(PsiWorkerFailed) as caught:
            exchange.session._run_library(hostile, exchange.response_bytes, pool=short_pool)
        assert reason in caught.value.reason
        dead = set(short_pool.worker_pids())

        result = short_pool.finish(exchange.session, exchange.setup_bytes, exchange.response_bytes)
        assert result.indices == SHARED_POSITIONS
        assert not dead & set(short_pool.worker_pids())
        assert os.getpid() not in short_pool.worker_pids()

    def test_validation_stops_the_same_inputs(self, short_pool: PsiPool) -> None:
        """Through finish(), each crashing setup is refused before any worker runs."""
        exchange = make_exchange()
        for change in (_empty_bloom, _gcs_hash_range_zero, _gcs_div_int32_max, _gcs_div_minus_one):
            hostile = mutate_setup(exchange.setup_bytes, change)
            with pytest.raises(MalformedPsiMessage):
                short_pool.finish(exchange.session, hostile, exchange.response_bytes)
        assert short_pool.worker_pids() == []


class TestValidatedSetupsNeverCrash:
    """Whatever passes validation runs in the library without killing the worker."""

    @settings(max_examples=60, deadline=None, derandomize=True)
    @given(
        div=st.integers(min_value=1, max_value=63),
        hash_range=st.one_of(
            st.integers(min_value=1, max_value=2**20),
            st.integers(min_value=1, max_value=2**63 - 1),
        ),
        bits=st.binary(min_size=1, max_size=160),
    )
    def test_random_gcs(
        self,
        fuzz_pool: PsiPool,
        fuzz_exchange: Exchange,
        div: int,
        hash_range: int,
        bits: bytes,
    ) -> None:
        """Random GCS parameters and bits are either refused or intersected cleanly."""
        exchange = fuzz_exchange

        def change(setup: Any) -> None:
            setup.gcs.div = div
            setup.gcs.hash_range = hash_range
            setup.gcs.bits = bits

        hostile = mutate_setup(exchange.setup_bytes, change)
        try:
            parse_setup(hostile)
        except MalformedPsiMessage:
            return
        raw = exchange.session._run_library(hostile, exchange.response_bytes, pool=fuzz_pool)
        assert all(0 <= i < exchange.session.element_count for i in raw)


class TestMisreportingGuards:
    """Inputs on which the library silently misreports are caught or corrected."""

    def test_out_of_range_indices_are_discarded(self, short_pool: PsiPool) -> None:
        """A longer response makes the library report indices past the request; they are dropped."""
        exchange = make_exchange()
        # Two serialized responses concatenate into one holding every element
        # twice: a response longer than the request, as a hostile peer could send.
        doubled = exchange.response_bytes * 2
        raw = exchange.session._run_library(exchange.setup_bytes, doubled, pool=short_pool)
        n = exchange.session.element_count
        assert any(i >= n for i in raw)
        interpreted = exchange.session._interpret(raw)
        assert interpreted.indices is not None
        assert all(0 <= i < len(REQUESTER_KEYS) for i in interpreted.indices)
        assert interpreted.indices == SHARED_POSITIONS


class TestPoolBehaviour:
    """The pool bounds workers, reports failures with structure and stays usable."""

    def test_memory_limit(self) -> None:
        """A task that exceeds the worker's address-space limit fails cleanly."""
        with PsiPool(max_workers=1, timeout_s=10, memory_limit_bytes=256 * 1024**2) as pool:
            with pytest.raises(PsiWorkerFailed) as caught:
                pool.run(bytearray, 1024**3)
            assert "memory" in caught.value.reason
            assert pool.run(len, b"still serving") == 13

    def test_responder_errors_keep_their_fields(self, psi_pool: PsiPool) -> None:
        """A refusal raised inside a worker arrives in the parent with its structured fields."""
        exchange = make_exchange(["a", "b", "c"])
        with pytest.raises(SetTooLarge) as too_large:
            psi_pool.serve(["a"], exchange.session.request_bytes, reveal=True, max_elements=2)
        assert (too_large.value.limit, too_large.value.actual) == (2, 3)
        with pytest.raises(MalformedPsiMessage) as malformed:
            psi_pool.serve(["a"], exchange.session.request_bytes, reveal=False)
        assert malformed.value.field == "request.reveal_intersection"

    def test_hang_does_not_block_another_worker(self) -> None:
        """While one worker hangs, a call in a second worker completes; close() ends the hang."""
        exchange = make_exchange()
        hostile = mutate_setup(exchange.setup_bytes, _gcs_div_minus_one)
        failures: list[BaseException] = []

        with PsiPool(max_workers=2, timeout_s=60) as pool:

            def hang() -> None:
                try:
                    exchange.session._run_library(hostile, exchange.response_bytes, pool=pool)
                except PsiWorkerFailed as exc:
                    failures.append(exc)

            thread = threading.Thread(target=hang)
            thread.start()
            other = make_exchange()
            result = pool.finish(other.session, other.setup_bytes, other.response_bytes)
            assert thread.is_alive()
            pool.close()
            thread.join(timeout=30)
        assert result.indices == SHARED_POSITIONS
        assert len(failures) == 1
        assert "SIGKILL" in str(failures[0])

    def test_cancelled_call_stops_its_worker(self) -> None:
        """When should_stop turns true (a cancelled RPC), the worker is killed and the call ends."""
        exchange = make_exchange()
        hostile = mutate_setup(exchange.setup_bytes, _gcs_div_minus_one)
        cancelled = threading.Event()
        with PsiPool(max_workers=1, timeout_s=60) as pool:
            threading.Timer(0.5, cancelled.set).start()
            with pytest.raises(PsiWorkerFailed) as caught:
                exchange.session._run_library(
                    hostile, exchange.response_bytes, pool=pool, should_stop=cancelled.is_set
                )
            assert "cancelled" in caught.value.reason
            assert pool.worker_pids() == []

    def test_closed_pool_refuses(self) -> None:
        """A closed pool raises PsiWorkerFailed instead of starting workers."""
        pool = PsiPool(max_workers=1, timeout_s=5)
        pool.close()
        exchange = make_exchange()
        with pytest.raises(PsiWorkerFailed):
            pool.finish(exchange.session, exchange.setup_bytes, exchange.response_bytes)

    def test_workers_are_reused(self, psi_pool: PsiPool) -> None:
        """Consecutive calls run in the same worker process rather than a new one each time."""
        psi_pool.run(len, b"warm")
        before = set(psi_pool.worker_pids())
        for _ in range(3):
            psi_pool.run(len, b"x")
        assert set(psi_pool.worker_pids()) == before

    def test_a_worker_grown_past_its_memory_bound_is_retired(self) -> None:
        """A worker whose resident memory passed the bound gets a successor before its quota."""
        from node.psi._worker import WorkerPool

        pool = WorkerPool(max_workers=1, timeout_s=30, max_resident_bytes=1)
        try:
            first = pool.call(os.getpid)
            for _ in range(3000):
                if pool.replaced:
                    break
                threading.Event().wait(0.01)
            assert pool.replaced == 1
            assert pool.call(os.getpid) != first
        finally:
            pool.close()

    def test_a_worker_within_its_bounds_serves_many_calls(self) -> None:
        """Hundreds of small calls run in the same worker: no process start every few calls."""
        from node.psi._worker import WorkerPool

        pool = WorkerPool(max_workers=1, timeout_s=30)
        try:
            pids = {pool.call(os.getpid) for _ in range(300)}
            assert len(pids) == 1
            assert pool.replaced == 0
        finally:
            pool.close()

    def test_a_recycled_worker_is_replaced_before_the_next_call(self) -> None:
        """A worker retired after its task quota has a successor started in the background."""
        from node.psi._worker import WorkerPool

        pool = WorkerPool(max_workers=1, timeout_s=30, max_tasks_per_worker=2)
        try:
            first = pool.call(os.getpid)
            assert pool.call(os.getpid) == first  # the second task retires it
            for _ in range(3000):
                if pool.replaced:
                    break
                threading.Event().wait(0.01)
            assert pool.replaced == 1
            successor = pool.worker_pids()
            assert len(successor) == 1
            assert successor[0] != first
            assert pool.call(os.getpid) == successor[0]
        finally:
            pool.close()

    def test_a_call_runs_in_the_worker_it_prefers(self) -> None:
        """A call naming an idle worker runs there, whichever worker was used last."""
        import time

        pool = PsiPool(max_workers=2, timeout_s=30)
        try:
            with ThreadPoolExecutor(max_workers=2) as threads:
                list(threads.map(lambda _: pool.run(time.sleep, 0.3), range(2)))
            pids = pool.worker_pids()
            assert len(pids) == 2
            for pid in [*pids, *reversed(pids)]:
                assert pool.run(os.getpid, prefer_worker=pid) == pid
            assert pool.run(os.getpid, prefer_worker=1) in pids  # an unknown id: any worker
        finally:
            pool.close()
