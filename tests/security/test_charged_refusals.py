"""Refusals after a charge say what was charged, in the answer and in the audit trail."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import grpc
import grpc_testing
import private_set_intersection.python as psi
import pytest

from node import store
from node.app.config import load_config
from node.app.home import NodeHome
from node.app.policy_holder import PolicyHolder
from node.match.responder import Responder
from node.psi.pool import PsiPool
from node.records.keys import KEY_SCHEME_VERSION
from node.rpc.servicer import FederationServicer, NodeIdentity
from tests.conftest import responder_with_peer
from tests.rpc.test_servicer import (
    HELD,
    QUERY,
    SERVICE,
    FakeAuthenticator,
    call,
    make_servicer,
    match_request,
)
from tests.security.test_vocabulary import used_today

#: A compressed point whose x coordinate is not below the P-256 prime: no point at all.
NOT_A_POINT = b"\x02" + b"\xff" * 32


@pytest.fixture(scope="module")
def pool() -> Iterator[PsiPool]:
    with PsiPool(max_workers=1, timeout_s=60) as p:
        yield p


@pytest.fixture
def home(tmp_path: Path) -> NodeHome:
    return NodeHome(responder_with_peer(tmp_path, HELD)["ke-kws"])


def refused(home: NodeHome) -> list[dict[str, Any]]:
    conn = store.connect(home.db_path)
    try:
        rows = conn.execute(
            "SELECT status, details FROM audit_entries WHERE event='match.refused' ORDER BY seq"
        ).fetchall()
    finally:
        conn.close()
    return [{"status": r[0], **json.loads(r[1])} for r in rows]


def events(home: NodeHome) -> list[str]:
    conn = store.connect(home.db_path)
    try:
        return [r[0] for r in conn.execute("SELECT event FROM audit_entries ORDER BY seq")]
    finally:
        conn.close()


def with_bad_point(request_bytes: bytes) -> bytes:
    request = psi.Request()
    request.ParseFromString(request_bytes)
    request.encrypted_elements[0] = NOT_A_POINT
    return bytes(request.SerializeToString())


class TestMalformedAfterCharge:
    def test_the_error_and_the_audit_entry_name_the_charge(
        self, home: NodeHome, pool: PsiPool
    ) -> None:
        """A point off the curve is found after the charge: both the caller and the trail see it."""
        _, server = make_servicer(home, pool)
        request, _ = match_request(QUERY)
        request.psi_request = with_bad_point(request.psi_request)
        _, _, code, details = call(server, "Match", request)
        assert code == grpc.StatusCode.INVALID_ARGUMENT
        assert f"{len(QUERY)} elements were charged" in details
        (entry,) = refused(home)
        assert entry["reason"] == "ChargedMalformedRequest"
        assert entry["charged"] == len(QUERY)

    def test_a_bad_prefix_is_refused_before_the_charge(self, home: NodeHome, pool: PsiPool) -> None:
        """What can be checked without curve work is refused uncharged."""
        _, server = make_servicer(home, pool)
        request, _ = match_request(QUERY)
        bad = psi.Request()
        bad.ParseFromString(request.psi_request)
        bad.encrypted_elements[0] = b"\x05" + bytes(32)
        request.psi_request = bad.SerializeToString()
        _, _, code, details = call(server, "Match", request)
        assert code == grpc.StatusCode.INVALID_ARGUMENT
        assert "nothing was computed" in details
        (entry,) = refused(home)
        assert entry["reason"] == "MalformedPsiMessage"
        assert used_today(home) == 0


class TestTimeoutAfterCharge:
    def test_a_timed_out_match_is_audited_with_its_charge(
        self, home: NodeHome, pool: PsiPool
    ) -> None:
        """PSI work that runs out of time is refused, and the charge is on record."""
        config = load_config(home)
        config.psi.timeout_seconds = 0.001
        policies = PolicyHolder(home.root / "policy", home.db_path)
        policies.load_initial()
        servicer = FederationServicer(
            NodeIdentity("ke-kws", "KE", "test", 20_000),
            Responder(config, home.db_path, policies, pool),
            FakeAuthenticator("vn-customs"),
        )
        server = grpc_testing.server_from_dictionary(
            {SERVICE: servicer}, grpc_testing.strict_real_time()
        )
        elements = [f"v{KEY_SCHEME_VERSION}|phone|+2547{i:08d}" for i in range(2000)]
        _, _, code, details = call(server, "Match", match_request(elements)[0])
        assert code == grpc.StatusCode.INTERNAL
        assert "2000 elements were charged" in details
        (entry,) = refused(home)
        assert entry["reason"] == "ChargedWorkFailed"
        assert entry["charged"] == 2000


class TestCancelledAfterCharge:
    def test_a_match_the_caller_cancels_is_audited_with_its_charge(
        self, home: NodeHome, pool: PsiPool
    ) -> None:
        """A requester that gives up after the charge (a killed `spoor match`): the PSI work
        stops and a match.refused entry records the elements charged (it wrote none)."""
        _, server = make_servicer(home, pool)
        elements = [f"v{KEY_SCHEME_VERSION}|phone|+2547{i:08d}" for i in range(20_000)]
        rpc = server.invoke_unary_unary(
            SERVICE.methods_by_name["Match"], (), match_request(elements)[0], 120
        )
        deadline = time.monotonic() + 60
        while used_today(home) == 0:
            assert time.monotonic() < deadline, "the match was never charged"
            time.sleep(0.01)
        rpc.cancel()
        deadline = time.monotonic() + 60
        while not refused(home):
            assert time.monotonic() < deadline, "the cancelled match was never audited"
            time.sleep(0.05)
        (entry,) = refused(home)
        assert entry["reason"] == "ChargedWorkFailed"
        assert entry["charged"] == 20_000
        assert used_today(home) == 20_000
        assert "match.served" not in events(home)
