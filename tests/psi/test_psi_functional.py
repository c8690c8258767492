"""PSI gives the right answer in both reveal modes, through the worker pool."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from node.psi import (
    DEFAULT_LIMITS,
    ClientResult,
    MalformedPsiMessage,
    PsiPool,
    default_pool,
    process,
    start,
)
from node.psi.client import library_intersection
from tests.psi.helpers import REQUESTER_KEYS, RESPONDER_KEYS, SHARED_POSITIONS


def _match(
    pool: PsiPool, requester: list[str], responder: list[str], *, reveal: bool
) -> ClientResult:
    session = start(requester, reveal=reveal)
    result = pool.serve(responder, session.request_bytes, reveal=reveal)
    return pool.finish(session, result.setup_bytes, result.response_bytes)


class TestIntersection:
    """The requester learns exactly which of its elements the responder holds."""

    def test_reveal_mode(self, psi_pool: PsiPool) -> None:
        """Reveal mode returns the positions of the shared elements and their count."""
        result = _match(psi_pool, REQUESTER_KEYS, RESPONDER_KEYS, reveal=True)
        assert result.indices == SHARED_POSITIONS
        assert result.count == len(SHARED_POSITIONS)

    def test_cardinality_mode(self, psi_pool: PsiPool) -> None:
        """Cardinality-only mode returns the count and no positions."""
        result = _match(psi_pool, REQUESTER_KEYS, RESPONDER_KEYS, reveal=False)
        assert result == ClientResult(indices=None, count=len(SHARED_POSITIONS))

    @pytest.mark.parametrize("reveal", [True, False])
    def test_no_overlap(self, psi_pool: PsiPool, reveal: bool) -> None:
        """Disjoint sets give no hits in either mode."""
        result = _match(psi_pool, ["a", "b"], ["c", "d"], reveal=reveal)
        assert result.count == 0
        assert result.indices == ([] if reveal else None)

    def test_everything_matches(self, psi_pool: PsiPool) -> None:
        """Identical sets match on every position."""
        keys = [f"v1|container|MSCU{i:07d}" for i in range(10)]
        result = _match(psi_pool, keys, list(reversed(keys)), reveal=True)
        assert result.indices == list(range(10))

    def test_non_ascii_elements(self, psi_pool: PsiPool) -> None:
        """Elements outside ASCII match byte for byte."""
        requester = ["v1|name|nguyễn văn hùng", "v1|name|王伟", "v1|name|иванов"]
        result = _match(psi_pool, requester, ["v1|name|王伟", "v1|name|ivanov"], reveal=True)
        assert result.indices == [1]


class TestEdgeSets:
    """Empty sets and duplicates behave as an analyst would expect."""

    @pytest.mark.parametrize("reveal", [True, False])
    def test_empty_responder_set(self, psi_pool: PsiPool, reveal: bool) -> None:
        """A responder with no eligible records answers with zero hits."""
        result = _match(psi_pool, ["a", "b"], [], reveal=reveal)
        assert result.count == 0

    def test_empty_requester_set(self) -> None:
        """An empty request is refused by the responder; the session finishes with no hits."""
        session = start([], reveal=True)
        assert session.element_count == 0
        with pytest.raises(MalformedPsiMessage):
            process(["a"], session.request_bytes, reveal=True)
        assert session.finish(b"", b"") == ClientResult(indices=[], count=0)

    def test_requester_duplicates(self, psi_pool: PsiPool) -> None:
        """A key given twice is sent once and reported at both positions."""
        requester = ["a", "b", "a", "c", "b"]
        session = start(requester, reveal=True)
        assert session.element_count == 3
        served = psi_pool.serve(["a", "x"], session.request_bytes, reveal=True)
        result = psi_pool.finish(session, served.setup_bytes, served.response_bytes)
        assert result.indices == [0, 2]
        assert result.count == 1

    def test_responder_duplicates(self, psi_pool: PsiPool) -> None:
        """Duplicate responder records count once."""
        result = _match(psi_pool, ["a", "b"], ["a", "a", "a"], reveal=False)
        assert result.count == 1

    def test_finish_without_a_pool(self) -> None:
        """Without an explicit pool, finish runs in the process-wide default pool."""
        session = start(["a", "b"], reveal=True)
        served = process(["b"], session.request_bytes, reveal=True)
        assert session.finish(served.setup_bytes, served.response_bytes).indices == [1]
        assert default_pool().worker_pids()

    def test_session_is_single_use(self, psi_pool: PsiPool) -> None:
        """After a successful finish the session's key is gone and it cannot finish again."""
        session = start(["a"], reveal=True)
        served = psi_pool.serve(["a"], session.request_bytes, reveal=True)
        psi_pool.finish(session, served.setup_bytes, served.response_bytes)
        with pytest.raises(RuntimeError):
            psi_pool.finish(session, served.setup_bytes, served.response_bytes)


class TestInProcessAgreement:
    """The responder's in-process result agrees with the pool and with set arithmetic."""

    @settings(
        max_examples=15,
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture],
    )
    @given(
        requester=st.lists(st.text(min_size=1, max_size=8), max_size=12),
        responder=st.lists(st.text(min_size=1, max_size=8), max_size=12),
    )
    def test_matches_set_intersection(self, requester: list[str], responder: list[str]) -> None:
        """For random small sets, reveal-mode positions equal the plain set intersection."""
        session = start(requester, reveal=True)
        if session.element_count == 0:
            return
        served = process(responder, session.request_bytes, reveal=True)
        session.validate(served.setup_bytes, served.response_bytes, DEFAULT_LIMITS)
        raw = library_intersection(
            session._key or b"", True, served.setup_bytes, served.response_bytes
        )
        result = session._interpret(raw)
        expected = [i for i, e in enumerate(requester) if e in set(responder)]
        assert result.indices == expected
