"""Refusals through a real servicer call: status and detail, one log line, one audit entry."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import grpc
import pytest
from google.rpc import error_details_pb2
from structlog.testing import capture_logs

from node import audit, store
from node.app.home import NodeHome
from node.psi.pool import PsiPool
from tests.conftest import responder_with_peer
from tests.rpc.test_servicer import HELD, QUERY, call, detail_of, make_servicer, match_request


@pytest.fixture(scope="module")
def pool() -> Iterator[PsiPool]:
    with PsiPool(max_workers=1, timeout_s=60) as p:
        yield p


@pytest.fixture
def home(tmp_path: Path) -> NodeHome:
    return NodeHome(responder_with_peer(tmp_path, HELD)["ke-kws"])


def refusals(home: NodeHome) -> list[dict[str, Any]]:
    conn = store.connect(home.db_path)
    try:
        rows = conn.execute(
            "SELECT request_id, status, counterpart, details FROM audit_entries "
            "WHERE event = 'match.refused' ORDER BY seq"
        ).fetchall()
        assert audit.verify(conn).ok
    finally:
        conn.close()
    return [{**dict(r), "details": json.loads(r["details"])} for r in rows]


class TestBudgetRefusal:
    def test_answers_quota_failure_logs_one_warning_and_is_audited(
        self, home: NodeHome, pool: PsiPool
    ) -> None:
        """A request past the day's budget: RESOURCE_EXHAUSTED + QuotaFailure, one warning
        line without a traceback, and a match.refused entry with the limit and usage."""
        _, server = make_servicer(home, pool, max_elements_per_peer_per_day=6)
        first, _ = match_request(QUERY)
        assert call(server, "Match", first)[2] == grpc.StatusCode.OK
        second, _ = match_request(QUERY)
        with capture_logs() as logs:
            _, trailing, code, details = call(server, "Match", second)

        assert code == grpc.StatusCode.RESOURCE_EXHAUSTED
        assert "4 of 6" in details
        quota = detail_of(trailing, code, details, error_details_pb2.QuotaFailure)
        assert quota.violations[0].subject.startswith("peer:vn-customs/period:")
        assert quota.violations[0].description == "limit 6, used 4, requested 4"

        assert len(logs) == 1, logs  # the call's summary line and nothing else
        (line,) = logs
        assert line["log_level"] == "warning"
        assert line["status"] == "RESOURCE_EXHAUSTED"
        assert line["reason"] == "BudgetExceeded"
        assert line["event"] == "rpc"
        assert "exc_info" not in line

        (entry,) = refusals(home)
        assert entry["request_id"] == second.request_id
        assert entry["status"] == "RESOURCE_EXHAUSTED"
        assert entry["counterpart"] == "vn-customs"
        assert entry["details"]["reason"] == "BudgetExceeded"
        assert (
            entry["details"]["limit"],
            entry["details"]["used"],
            entry["details"]["requested"],
        ) == (6, 4, 4)
        assert entry["details"]["period"] in quota.violations[0].subject


class TestOtherRefusals:
    def test_oversized_request_is_audited_with_its_size(
        self, home: NodeHome, pool: PsiPool
    ) -> None:
        """A request over the per-request cap is audited with the cap and the size asked."""
        _, server = make_servicer(home, pool, max_elements_per_request=3)
        request, _ = match_request(QUERY)
        assert call(server, "Match", request)[2] == grpc.StatusCode.RESOURCE_EXHAUSTED
        (entry,) = refusals(home)
        assert entry["details"] == {"reason": "SetTooLarge", "limit": 3, "actual": len(QUERY)}

    def test_unknown_failure_is_logged_in_full_and_not_a_refusal(
        self, home: NodeHome, pool: PsiPool
    ) -> None:
        """An unexpected exception is logged with its traceback, answered INTERNAL with the
        request id, and not audited as a refusal of the counterpart."""
        _, server = make_servicer(home, pool)
        original = pool.serve

        def failing(*args: Any, **kwargs: Any) -> Any:
            raise RuntimeError("worker lost")

        pool.serve = failing  # type: ignore[method-assign]
        try:
            request, _ = match_request(QUERY)
            with capture_logs() as logs:
                _, trailing, code, details = call(server, "Match", request)
        finally:
            pool.serve = original  # type: ignore[method-assign]
        assert code == grpc.StatusCode.INTERNAL
        info = detail_of(trailing, code, details, error_details_pb2.RequestInfo)
        full = [e for e in logs if e["event"] == "unhandled error in rpc"]
        assert len(full) == 1
        assert full[0]["exc_info"] is True
        assert info.request_id in details
        assert "worker lost" not in details
        assert refusals(home) == []
