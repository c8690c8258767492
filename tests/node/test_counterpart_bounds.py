"""A hostile counterpart's Describe and Match answers cost one peer's result, never the run."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from spoor.federation.v1 import federation_pb2 as pb

from node import audit, store
from node.match.context import request_context
from node.match.limits import MAX_CALLS_PER_MATCH, MIN_ELEMENTS_PER_REQUEST
from node.match.requester import RowResult, run_match
from node.match.responder import CAPABILITIES, PROTOCOL_VERSION
from node.peers import Peer
from node.psi import PSI_PROTOCOL_VERSION, process
from node.records.keys import KEY_SCHEME_VERSION
from node.rpc.channels import PeerMatchChannel
from node.rpc.client import PeerClient

HELD = [f"v{KEY_SCHEME_VERSION}|phone|+84912345678", f"v{KEY_SCHEME_VERSION}|container|MSCU1234566"]
QUERY = [*HELD, f"v{KEY_SCHEME_VERSION}|phone|+258841234567"]
DIGEST = "ab" * 32
PURPOSE = request_context(
    requester="vn-customs",
    now=datetime.now(UTC),
    purpose="criminal_investigation",
    legal_basis="CITES-Art-VIII",
    case_reference="VNC/2026/0147",
    officer="Capt. Tran",
)


class FakeStub:
    """A counterpart's FederationService: honest PSI, with chosen fields of its answers replaced."""

    def __init__(
        self, agency_id: str, describe: dict[str, Any] | None, reply: dict[str, Any] | None
    ) -> None:
        self.agency_id = agency_id
        self.describe = describe or {}
        self.reply = reply or {}
        self.match_calls = 0

    def Describe(self, request: Any, **_: Any) -> pb.DescribeResponse:
        fields: dict[str, Any] = {
            "agency_id": self.agency_id,
            "country": "KE",
            "protocol_version": PROTOCOL_VERSION,
            "key_scheme_version": KEY_SCHEME_VERSION,
            "capabilities": list(CAPABILITIES),
            "policy_digest": DIGEST,
            "max_elements_per_request": 20_000,
            "software_version": "test",
            **self.describe,
        }
        return pb.DescribeResponse(**fields)

    def Match(self, request: pb.MatchRequest, **_: Any) -> pb.MatchResponse:
        self.match_calls += 1
        reveal = request.reveal_mode == pb.REVEAL_MODE_INTERSECTION
        result = process(HELD, request.psi_request, reveal=reveal)
        fields: dict[str, Any] = {
            "server_setup": result.setup_bytes,
            "psi_response": result.response_bytes,
            "setup_digest": result.setup_digest,
            "reveal_mode": request.reveal_mode,
            "psi_protocol_version": PSI_PROTOCOL_VERSION,
            "policy_digest": DIGEST,
            "elements_charged": result.elements_in_request,
            "budget_remaining": 1000,
            **self.reply,
        }
        return pb.MatchResponse(**fields)


class _Channel:
    def close(self) -> None:
        return None


def client_for(stub: FakeStub) -> PeerClient:
    """A real PeerClient whose transport is ``stub`` (its TLS check already done)."""
    client = object.__new__(PeerClient)
    client.peer = Peer(stub.agency_id, "127.0.0.1:9", "", "KE", "2026-01-01T00:00:00Z")
    client._verified = True
    client.deadline = 10.0
    client.metadata = ()
    client.channel = _Channel()  # type: ignore[assignment]
    client.stub = stub  # type: ignore[assignment]
    return client


@pytest.fixture
def conn(tmp_path: Path) -> Iterator[sqlite3.Connection]:
    connection = store.open_store(tmp_path / "node.db")
    try:
        yield connection
    finally:
        connection.close()


def rows_for(keys: list[str]) -> list[RowResult]:
    return [
        RowResult(i, f"R-{i}", "person", {key: key.split("|")[1]}) for i, key in enumerate(keys, 1)
    ]


def run(conn: sqlite3.Connection, stubs: list[FakeStub], keys: list[str] = QUERY) -> Any:
    by_id = {s.agency_id: s for s in stubs}
    return run_match(
        conn,
        rows_for(keys),
        {s.agency_id: PURPOSE for s in stubs},
        lambda agency: PeerMatchChannel(client_for(by_id[agency])),
    )


class TestHostileAnswersLoseOnlyThatPeer:
    """A counterpart's malformed field refuses that counterpart; the others keep their hits."""

    def test_overlong_policy_digest_in_a_match_reply(self, conn: sqlite3.Connection) -> None:
        """A 100,000-character policy digest is refused; the honest peer's hits are stored."""
        bad = FakeStub("mz-pgr", None, {"policy_digest": "f" * 100_000})
        good = FakeStub("ke-kws", None, None)
        report = run(conn, [bad, good])
        outcome = {p.agency_id: p for p in report.peers}
        assert outcome["mz-pgr"].error is not None
        assert "policy digest" in outcome["mz-pgr"].error
        assert outcome["ke-kws"].error is None
        assert outcome["ke-kws"].hits == 2
        peers = [r[0] for r in conn.execute("SELECT peer FROM matches")]
        assert peers == ["ke-kws"]
        assert audit.verify(conn).ok

    @pytest.mark.parametrize(
        "field",
        ["agency_id", "country", "software_version", "policy_digest"],
    )
    def test_overlong_describe_string(self, conn: sqlite3.Connection, field: str) -> None:
        """A megabyte-long Describe string refuses that peer before any Match is sent."""
        bad = FakeStub("mz-pgr", {field: "[/bold]" + "x" * 1_000_000}, None)
        good = FakeStub("ke-kws", None, None)
        report = run(conn, [bad, good])
        outcome = {p.agency_id: p for p in report.peers}
        error = outcome["mz-pgr"].error
        assert error is not None
        assert field.replace("_", " ") in error
        assert len(error) < 500
        assert bad.match_calls == 0
        assert outcome["ke-kws"].hits == 2

    def test_control_characters_in_describe(self, conn: sqlite3.Connection) -> None:
        """A Describe string carrying a terminal escape sequence is refused."""
        bad = FakeStub("mz-pgr", {"software_version": "1.0\x1b]0;owned\x07"}, None)
        report = run(conn, [bad])
        (outcome,) = report.peers
        assert outcome.error is not None
        assert "control" in outcome.error
        assert "\x1b" not in outcome.error

    def test_too_many_capabilities(self, conn: sqlite3.Connection) -> None:
        """A capability list of ten thousand entries is refused."""
        bad = FakeStub("mz-pgr", {"capabilities": ["match.intersection"] * 10_000}, None)
        (outcome,) = run(conn, [bad]).peers
        assert outcome.error is not None
        assert "capability list" in outcome.error


class TestAdvertisedLimits:
    """Describe-advertised limits cannot turn one match into hours of calls."""

    def test_maximum_of_one_per_request_is_refused(self, conn: sqlite3.Connection) -> None:
        """A peer advertising one element per request is refused for a 587-key match, clearly."""
        keys = [*QUERY, *(f"v{KEY_SCHEME_VERSION}|phone|+2547{i:08d}" for i in range(584))]
        bad = FakeStub("mz-pgr", {"max_elements_per_request": 1}, None)
        good = FakeStub("ke-kws", None, None)
        report = run(conn, [bad, good], keys)
        outcome = {p.agency_id: p for p in report.peers}
        error = outcome["mz-pgr"].error
        assert error is not None
        assert f"below the {MIN_ELEMENTS_PER_REQUEST} this node accepts" in error
        assert bad.match_calls == 0
        assert outcome["ke-kws"].hits == 2
        assert good.match_calls == 1

    def test_a_handful_of_keys_still_match_a_small_limit(self, conn: sqlite3.Connection) -> None:
        """Three keys against a limit of one take three calls and find both hits."""
        stub = FakeStub("mz-pgr", {"max_elements_per_request": 1}, None)
        (outcome,) = run(conn, [stub]).peers
        assert outcome.error is None
        assert outcome.hits == 2
        assert stub.match_calls == 3

    def test_calls_per_match_are_bounded(self, conn: sqlite3.Connection) -> None:
        """A file needing more than the call ceiling at the advertised maximum is refused."""
        per_request = MIN_ELEMENTS_PER_REQUEST
        keys = [
            f"v{KEY_SCHEME_VERSION}|phone|+2547{i:08d}"
            for i in range(per_request * MAX_CALLS_PER_MATCH + 1)
        ]
        stub = FakeStub("mz-pgr", {"max_elements_per_request": per_request}, None)
        (outcome,) = run(conn, [stub], keys).peers
        assert outcome.error is not None
        assert "split the file" in outcome.error
        assert stub.match_calls == 0

    def test_at_the_floor_a_match_still_works(self, conn: sqlite3.Connection) -> None:
        """A peer advertising exactly the floor is matched in chunks of that size."""
        keys = [*QUERY, *(f"v{KEY_SCHEME_VERSION}|phone|+2547{i:08d}" for i in range(150))]
        stub = FakeStub("mz-pgr", {"max_elements_per_request": MIN_ELEMENTS_PER_REQUEST}, None)
        (outcome,) = run(conn, [stub], keys).peers
        assert outcome.error is None
        assert outcome.hits == 2
        assert stub.match_calls == 2
