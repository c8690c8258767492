"""A hostile responder forging hits: repeated points and implausible counts are refused."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import private_set_intersection.python as psi
import pytest

from node import store
from node.match import requester as match_requester
from node.match.plausibility import (
    ALL_HIT_THRESHOLD,
    ImplausibleReply,
    check_hit_count,
    check_response_points,
    setup_capacity,
)
from node.match.responder import MatchCall, MatchReply
from node.psi import client as psi_client
from node.psi import server as psi_server
from node.records.keys import KEY_SCHEME_VERSION
from tests.match.test_match_requester import FakeCounterpart, context

GENUINE = f"v{KEY_SCHEME_VERSION}|phone|+84912345678"
OTHERS = [f"v{KEY_SCHEME_VERSION}|phone|+8490{n:07d}" for n in range(60)]


def _replicate(response_bytes: bytes, position: int) -> bytes:
    """The response with the point at ``position`` copied into every position."""
    response = psi.Response()
    response.ParseFromString(response_bytes)
    point = response.encrypted_elements[position]
    forged = psi.Response()
    forged.encrypted_elements.extend([point] * len(response.encrypted_elements))
    return bytes(forged.SerializeToString())


def _request_position(session: psi_client.ClientSession, caller_index: int) -> int:
    """Where the caller's element ``caller_index`` sits in the shuffled request."""
    return next(i for i, ps in enumerate(session._positions) if caller_index in ps)


class TestTheAttackIsReal:
    def test_a_copied_point_makes_every_key_a_hit_for_the_library(self) -> None:
        """Without the check, one genuine hit copied everywhere reads as all keys held."""
        elements = [GENUINE, *OTHERS]
        session = psi_client.start(elements, reveal=True)
        honest = psi_server.process([GENUINE], session.request_bytes, reveal=True)
        forged = _replicate(honest.response_bytes, _request_position(session, 0))
        raw = session._run_library(honest.setup_bytes, forged)
        assert len(raw) == len(elements)

    def test_the_copied_point_is_refused_before_the_intersection(self) -> None:
        """A response holding one point twice is refused as forged."""
        session = psi_client.start([GENUINE, *OTHERS], reveal=True)
        honest = psi_server.process([GENUINE], session.request_bytes, reveal=True)
        check_response_points("ke-kws", honest.response_bytes)  # honest passes
        with pytest.raises(ImplausibleReply, match="repeats"):
            check_response_points("ke-kws", _replicate(honest.response_bytes, 0))


class TestHitCounts:
    def test_the_setup_capacity_is_its_padded_set_size(self) -> None:
        """The requester reads how many elements a setup encodes (the responder's bucket)."""
        session = psi_client.start([GENUINE], reveal=True)
        honest = psi_server.process([GENUINE, *OTHERS[:3]], session.request_bytes, reveal=True)
        assert setup_capacity(honest.setup_bytes) == psi_server.bucket_size(4)

    def test_more_hits_than_the_setup_holds_are_refused(self) -> None:
        """Hits beyond the responder's padded set size cannot come from an honest setup."""
        session = psi_client.start([GENUINE], reveal=True)
        honest = psi_server.process([GENUINE], session.request_bytes, reveal=True)
        with pytest.raises(ImplausibleReply, match="holds only 64"):
            check_hit_count("ke-kws", 200, 65, honest.setup_bytes)

    def test_all_hits_on_a_large_request_are_refused_but_small_ones_pass(self) -> None:
        """Every key a hit is refused from the threshold on; below it an honest answer passes."""
        session = psi_client.start([GENUINE], reveal=True)
        setup = psi_server.process(OTHERS, session.request_bytes, reveal=True).setup_bytes
        check_hit_count("ke-kws", ALL_HIT_THRESHOLD - 1, ALL_HIT_THRESHOLD - 1, setup)
        check_hit_count("ke-kws", ALL_HIT_THRESHOLD, ALL_HIT_THRESHOLD - 1, setup)
        with pytest.raises(ImplausibleReply, match="all 32 keys"):
            check_hit_count("ke-kws", ALL_HIT_THRESHOLD, ALL_HIT_THRESHOLD, setup)


@dataclass
class ForgingCounterpart(FakeCounterpart):
    """Holds one genuine key and copies its re-encrypted point into every position."""

    sessions: list[psi_client.ClientSession] = field(default_factory=list)
    chunks: list[list[str]] = field(default_factory=list)

    def match(self, call: MatchCall) -> MatchReply:
        honest = super().match(call)
        session, chunk = self.sessions[-1], self.chunks[-1]
        position = _request_position(session, chunk.index(GENUINE))
        return MatchReply(
            server_setup=honest.server_setup,
            psi_response=_replicate(honest.psi_response, position),
            setup_digest=honest.setup_digest,
            reveal_intersection=True,
            policy_digest=honest.policy_digest,
            elements_charged=honest.elements_charged,
            budget_remaining=honest.budget_remaining,
        )


@pytest.fixture
def conn(tmp_path: Path) -> Iterator[sqlite3.Connection]:
    connection = store.open_store(tmp_path / "node.db")
    try:
        yield connection
    finally:
        connection.close()


class TestForgedMatchStoresNothing:
    def test_spoor_match_reports_the_forgery_and_stores_no_hit(
        self, conn: sqlite3.Connection, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """The forged answer is reported as the peer's error; no hit reaches the disclosure step."""
        forger = ForgingCounterpart("ke-kws", [GENUINE])
        real_start = psi_client.start

        def spying_start(elements: Any, *, reveal: bool) -> psi_client.ClientSession:
            session = real_start(elements, reveal=reveal)
            forger.sessions.append(session)
            forger.chunks.append(list(elements))
            return session

        monkeypatch.setattr(match_requester.psi_client, "start", spying_start)
        rows = [
            match_requester.RowResult(n, f"VN-{n}", "person", {key: "phone"})
            for n, key in enumerate([GENUINE, *OTHERS], start=1)
        ]
        report = match_requester.run_match(conn, rows, {"ke-kws": context()}, lambda _peer: forger)
        (outcome,) = report.peers
        assert outcome.error is not None
        assert "forged" in outcome.error
        assert not any(row.hits for row in rows)
        assert conn.execute("SELECT COUNT(*) FROM match_hits").fetchone()[0] == 0
