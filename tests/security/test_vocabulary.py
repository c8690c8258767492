"""A purpose or legal basis the responder does not accept is refused before any charge."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import grpc
import pytest
from spoor.federation.v1 import federation_pb2 as pb

from node import store
from node.app.config import load_config
from node.app.home import NodeHome
from node.match import budget
from node.match.requester import load_rows, run_match
from node.match.vocabulary import CAPABILITY
from node.peers.channel import PeerDescription, Vocabulary
from node.psi.pool import PsiPool
from node.rpc.server import RunningNode, build_node
from tests.conftest import responder_with_peer, spoor, write_jsonl
from tests.match.test_match_requester import ROWS, FakeCounterpart, context
from tests.rpc.test_server import HELD as SERVER_HELD
from tests.rpc.test_server import client_for
from tests.rpc.test_servicer import HELD, QUERY, call, make_servicer, match_request


@pytest.fixture(scope="module")
def pool() -> Iterator[PsiPool]:
    with PsiPool(max_workers=1, timeout_s=60) as p:
        yield p


@pytest.fixture
def home(tmp_path: Path) -> NodeHome:
    return NodeHome(responder_with_peer(tmp_path, HELD)["ke-kws"])


def used_today(home: NodeHome) -> int:
    conn = store.connect(home.db_path)
    try:
        return budget.used(conn, "vn-customs", budget.current_period())
    finally:
        conn.close()


class TestResponderRefusesBeforeCharging:
    def test_a_mistyped_legal_basis_is_invalid_argument_and_uncharged(
        self, home: NodeHome, pool: PsiPool
    ) -> None:
        """'CITES-Art-VII' used to answer 0 hits and be charged; now it is refused as it is."""
        _, server = make_servicer(home, pool)
        request, _ = match_request(QUERY, legal_basis="CITES-Art-VII")
        _, _, code, details = call(server, "Match", request)
        assert code == grpc.StatusCode.INVALID_ARGUMENT
        assert "legal_basis" in details
        assert "CITES-Art-VIII" in details  # what is accepted, so the analyst can correct it
        assert used_today(home) == 0

    def test_describe_advertises_the_vocabulary_and_the_budget_left(
        self, home: NodeHome, pool: PsiPool
    ) -> None:
        """The calling agency learns the legal bases, purposes and budget it may use."""
        _, server = make_servicer(home, pool, max_elements_per_peer_per_day=500)
        response, _, code, _ = call(server, "Describe", pb.DescribeRequest())
        assert code == grpc.StatusCode.OK
        assert CAPABILITY in response.capabilities
        assert list(response.vocabulary.legal_bases) == ["CITES-Art-VIII"]
        assert "criminal_investigation" in response.vocabulary.purposes
        assert response.vocabulary.budget_remaining == 500


ACCEPTED = Vocabulary(("criminal_investigation",), ("KE-VN-MoU-2024",), 10)


@dataclass
class AdvertisingCounterpart(FakeCounterpart):
    """A counterpart that advertises what it accepts from us."""

    vocabulary: Vocabulary = ACCEPTED

    def describe(self) -> PeerDescription:
        plain = super().describe()
        return replace(
            plain, capabilities=(*plain.capabilities, CAPABILITY), vocabulary=self.vocabulary
        )


class TestRequesterChecksBeforeSending:
    def test_a_legal_basis_the_counterpart_does_not_accept_sends_nothing(
        self, tmp_path: Path
    ) -> None:
        """The analyst gets the accepted list instead of a silent '0 hits'."""
        rows = load_rows(write_jsonl(tmp_path / "q.jsonl", ROWS))
        ke = AdvertisingCounterpart("ke-kws", [])
        conn = store.open_store(tmp_path / "node.db")
        try:
            report = run_match(conn, rows, {"ke-kws": context()}, lambda _p: ke)
        finally:
            conn.close()
        (outcome,) = report.peers
        assert outcome.error is not None
        assert "KE-VN-MoU-2024" in outcome.error
        assert ke.calls == []


class TestDryRun:
    def test_dry_run_checks_each_counterpart_and_sends_no_match(
        self, tmp_path: Path, node: RunningNode
    ) -> None:
        """--dry-run reports keys, requests and budget per counterpart; nothing is matched."""
        agencies = {name: tmp_path / name for name in ("ke-kws", "vn-customs")}
        client_for(agencies, "vn-customs", node.port).close()  # adds ke-kws as vn's peer
        rows = write_jsonl(tmp_path / "q.jsonl", ROWS)
        base = ["match", "--home", str(agencies["vn-customs"]), str(rows), "--peer", "ke-kws",
                "--purpose", "criminal_investigation", "--case", "C-1", "--officer", "o",
                "--dry-run", "--json"]  # fmt: skip
        out = json.loads(spoor(*base, "--legal-basis", "CITES-Art-VIII"))
        (peer,) = out["dry_run"]
        assert peer["error"] is None
        assert peer["vocabulary_checked"] is True
        assert peer["budget_remaining"] == 200_000
        for home in agencies.values():
            with store.opened(home / "node.db") as conn:
                events = {r[0] for r in conn.execute("SELECT event FROM audit_entries")}
            assert not events & {"match.requested", "match.served", "match.refused"}


@pytest.fixture
def node(tmp_path: Path) -> Iterator[RunningNode]:
    home = NodeHome(responder_with_peer(tmp_path, SERVER_HELD)["ke-kws"])
    running = build_node(home, load_config(home), listen="127.0.0.1:0")
    yield running
    running.stop()
