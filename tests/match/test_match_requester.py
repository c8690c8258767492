"""The requester's match flow against fake counterparts: no network, real PSI."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import pytest

import policy
from node import store
from node.errors import InvalidRequest
from node.match.channel import MatchChannel
from node.match.context import request_context
from node.match.requester import MatchReport, RowResult, load_rows, run_match
from node.match.responder import PROTOCOL_VERSION, MatchCall, MatchReply
from node.peers.channel import PeerCallFailed, PeerDescription
from node.psi import count_request_elements
from node.psi import server as psi_server
from node.records.keys import KEY_SCHEME_VERSION
from tests.conftest import write_jsonl

ROWS = [
    {  # row 1: phone held by ke-kws
        "record_id": "VN-1",
        "kind": "person",
        "subject_category": "suspect",
        "review_date": "2031-01-01",
        "names": ["Nguyen Van Hung"],
        "phones": ["+84 91 234 5678"],
    },
    {  # row 2: container held by ke-kws
        "record_id": "VN-2",
        "kind": "shipment",
        "review_date": "2031-01-01",
        "containers": ["MSCU 123456-6"],
    },
    {  # row 3: the same phone as row 1 (another record of ours)
        "record_id": "VN-3",
        "kind": "person",
        "subject_category": "suspect",
        "review_date": "2031-01-01",
        "names": ["Hung Nguyen"],
        "phones": ["+84912345678"],
    },
    {  # row 4: held nowhere
        "record_id": "VN-4",
        "kind": "person",
        "subject_category": "suspect",
        "review_date": "2031-01-01",
        "names": ["Le Thi Lan"],
        "phones": ["+84 98 765 4321"],
    },
    {  # row 5: a container held nowhere
        "record_id": "VN-5",
        "kind": "shipment",
        "review_date": "2031-01-01",
        "containers": ["TGHU 765432-0"],
    },
    {  # row 6: another phone held nowhere
        "record_id": "VN-6",
        "kind": "person",
        "subject_category": "associate",
        "review_date": "2031-01-01",
        "names": ["Tran Van Minh"],
        "phones": ["+84 90 111 2233"],
    },
]
PHONE = f"v{KEY_SCHEME_VERSION}|phone|+84912345678"
CONTAINER = f"v{KEY_SCHEME_VERSION}|container|MSCU1234566"


@dataclass
class FakeCounterpart:
    """A counterpart answering in process with a real PSI responder over ``held`` keys."""

    peer_id: str
    held: list[str]
    max_elements_per_request: int = 1000
    budget: int = 10_000
    refuse: PeerCallFailed | None = None
    says_it_is: str | None = None
    protocol_version: int = PROTOCOL_VERSION
    schemes: tuple[int, ...] = (KEY_SCHEME_VERSION,)
    address: str = "127.0.0.1:9"
    calls: list[MatchCall] = field(default_factory=list)
    elements_per_call: list[int] = field(default_factory=list)
    closed: bool = False

    def describe(self) -> PeerDescription:
        if self.refuse is not None:
            raise self.refuse
        return PeerDescription(
            agency_id=self.says_it_is or self.peer_id,
            country="KE",
            protocol_version=self.protocol_version,
            key_scheme_version=min(self.schemes),
            key_scheme_versions=self.schemes,
            capabilities=("match.intersection", "match.cardinality"),
            policy_digest="digest-" + self.peer_id,
            max_elements_per_request=self.max_elements_per_request,
            software_version="test",
        )

    def match(self, call: MatchCall) -> MatchReply:
        self.calls.append(call)
        n = count_request_elements(call.psi_request)
        self.elements_per_call.append(n)
        if n > self.max_elements_per_request:
            raise PeerCallFailed(self.peer_id, "RESOURCE_EXHAUSTED", "too many elements", [])
        if n > self.budget:
            raise PeerCallFailed(self.peer_id, "RESOURCE_EXHAUSTED", "daily budget spent", [])
        self.budget -= n
        result = psi_server.process(self.held, call.psi_request, reveal=call.reveal_intersection)
        return MatchReply(
            server_setup=result.setup_bytes,
            psi_response=result.response_bytes,
            setup_digest=result.setup_digest,
            reveal_intersection=call.reveal_intersection,
            policy_digest="digest-" + self.peer_id,
            elements_charged=n,
            budget_remaining=self.budget,
        )

    def __enter__(self) -> MatchChannel:
        return self

    def __exit__(self, *exc: object) -> None:
        self.closed = True


def context(legal_basis: str = "CITES-Art-VIII") -> policy.RequestContext:
    return request_context(
        requester="vn-customs",
        now=datetime.now(UTC),
        purpose="criminal_investigation",
        legal_basis=legal_basis,
        case_reference="VNC/2026/0147",
        officer="Capt. Tran",
    )


@pytest.fixture
def conn(tmp_path: Path) -> Iterator[sqlite3.Connection]:
    connection = store.open_store(tmp_path / "node.db")
    try:
        yield connection
    finally:
        connection.close()


@pytest.fixture
def rows(tmp_path: Path) -> list[RowResult]:
    return load_rows(write_jsonl(tmp_path / "query.jsonl", ROWS))


def run(
    conn: sqlite3.Connection,
    rows: list[RowResult],
    *counterparts: FakeCounterpart,
    reveal: bool = True,
) -> MatchReport:
    by_id = {c.peer_id: c for c in counterparts}
    return run_match(
        conn,
        rows,
        {c.peer_id: context() for c in counterparts},
        lambda peer_id: by_id[peer_id],
        reveal_intersection=reveal,
    )


def hits_of(rows: list[RowResult]) -> dict[str, dict[str, list[str]]]:
    return {r.record_id: r.hits for r in rows if r.hits}


class TestHitsMapBackToRows:
    def test_each_row_holding_a_matched_key_gets_the_hit(
        self, conn: sqlite3.Connection, rows: list[RowResult]
    ) -> None:
        """Rows whose keys the counterpart holds get the key type; others get nothing."""
        ke = FakeCounterpart(
            "ke-kws", [PHONE, CONTAINER, f"v{KEY_SCHEME_VERSION}|phone|+254722000111"]
        )
        report = run(conn, rows, ke)
        assert hits_of(rows) == {
            "VN-1": {"ke-kws": ["phone"]},
            "VN-2": {"ke-kws": ["container"]},
            "VN-3": {"ke-kws": ["phone"]},
        }
        (outcome,) = report.peers
        assert (outcome.error, outcome.hits, outcome.elements) == (None, 2, 5)

    def test_stored_hits_name_every_row_and_the_match(
        self, conn: sqlite3.Connection, rows: list[RowResult]
    ) -> None:
        """The stored hits let 'spoor disclose request' find every matching row."""
        report = run(conn, rows, FakeCounterpart("ke-kws", [PHONE, CONTAINER]))
        match_id = report.peers[0].match_id
        stored = conn.execute(
            "SELECT row_number, record_id, key_type, match_key FROM match_hits "
            "WHERE match_id=? ORDER BY row_number",
            (match_id,),
        ).fetchall()
        assert [tuple(r) for r in stored] == [
            (1, "VN-1", "phone", PHONE),
            (2, "VN-2", "container", CONTAINER),
            (3, "VN-3", "phone", PHONE),
        ]

    def test_the_context_reaches_the_counterpart_unchanged(
        self, conn: sqlite3.Connection, rows: list[RowResult]
    ) -> None:
        """What the officer gave (purpose, basis, case, officer) is what the counterpart gets."""
        ke = FakeCounterpart("ke-kws", [PHONE])
        asked = context()
        run_match(conn, rows, {"ke-kws": asked}, lambda _: ke)
        assert [c.context for c in ke.calls] == [asked]
        assert ke.closed


class TestChunking:
    def test_keys_go_in_chunks_of_the_counterparts_limit(
        self, conn: sqlite3.Connection, rows: list[RowResult]
    ) -> None:
        """Five keys against a limit of two go in three requests, and no hit is lost."""
        ke = FakeCounterpart("ke-kws", [PHONE, CONTAINER], max_elements_per_request=2)
        report = run(conn, rows, ke)
        assert sorted(ke.elements_per_call) == [1, 2, 2]
        assert len({c.request_id for c in ke.calls}) == 3
        assert set(hits_of(rows)) == {"VN-1", "VN-2", "VN-3"}
        outcome = report.peers[0]
        assert (outcome.hits, outcome.elements) == (2, 5)


class TestFailures:
    def test_one_failing_counterpart_does_not_stop_the_others(
        self, conn: sqlite3.Connection, rows: list[RowResult]
    ) -> None:
        """A counterpart that cannot be reached loses only its own result."""
        down = FakeCounterpart(
            "mz-pgr", [PHONE], refuse=PeerCallFailed("mz-pgr", "UNAVAILABLE", "unreachable", [])
        )
        ke = FakeCounterpart("ke-kws", [CONTAINER])
        report = run(conn, rows, down, ke)
        errors = {p.agency_id: p.error for p in report.peers}
        assert errors["ke-kws"] is None
        assert "UNAVAILABLE" in str(errors["mz-pgr"])
        assert hits_of(rows) == {"VN-2": {"ke-kws": ["container"]}}

    def test_a_refusing_counterpart_is_reported_and_nothing_is_stored_for_it(
        self, conn: sqlite3.Connection, rows: list[RowResult]
    ) -> None:
        """A counterpart that refuses (no budget left) is reported; no match is stored for it."""
        ke = FakeCounterpart("ke-kws", [PHONE], budget=3)
        report = run(conn, rows, ke)
        outcome = report.peers[0]
        assert "RESOURCE_EXHAUSTED" in str(outcome.error)
        assert conn.execute("SELECT COUNT(*) FROM matches").fetchone()[0] == 0
        assert hits_of(rows) == {}

    def test_a_node_answering_for_another_agency_gets_no_keys(
        self, conn: sqlite3.Connection, rows: list[RowResult]
    ) -> None:
        """If the node we reach says it is another agency, nothing is sent to it."""
        impostor = FakeCounterpart("ke-kws", [PHONE], says_it_is="mz-pgr")
        report = run(conn, rows, impostor)
        assert "mz-pgr" in str(report.peers[0].error)
        assert impostor.calls == []

    def test_a_counterpart_on_another_protocol_version_gets_no_keys(
        self, conn: sqlite3.Connection, rows: list[RowResult]
    ) -> None:
        """A version mismatch seen in Describe stops the match before any key leaves."""
        other = FakeCounterpart("ke-kws", [PHONE], protocol_version=PROTOCOL_VERSION + 1)
        report = run(conn, rows, other)
        assert "protocol version" in str(report.peers[0].error)
        assert other.calls == []


class TestKeySchemes:
    def test_a_counterpart_still_on_scheme_1_is_asked_in_scheme_1(
        self, conn: sqlite3.Connection, rows: list[RowResult]
    ) -> None:
        """During a transition a peer answering only scheme 1 gets scheme-1 keys and its hits."""
        old = FakeCounterpart("ke-kws", ["v1|phone|+84912345678"], schemes=(1,))
        run(conn, rows, old)
        assert {c.key_scheme_version for c in old.calls} == {1}
        assert hits_of(rows) == {"VN-1": {"ke-kws": ["phone"]}, "VN-3": {"ke-kws": ["phone"]}}

    def test_the_newest_shared_scheme_is_used(
        self, conn: sqlite3.Connection, rows: list[RowResult]
    ) -> None:
        """A peer answering both schemes is asked in the newest one."""
        both = FakeCounterpart("ke-kws", [PHONE], schemes=(KEY_SCHEME_VERSION, 1))
        run(conn, rows, both)
        assert {c.key_scheme_version for c in both.calls} == {KEY_SCHEME_VERSION}

    def test_a_counterpart_with_no_shared_scheme_gets_no_keys(
        self, conn: sqlite3.Connection, rows: list[RowResult]
    ) -> None:
        """A peer only on a scheme this node does not know is refused before any key leaves."""
        future = FakeCounterpart("ke-kws", [PHONE], schemes=(KEY_SCHEME_VERSION + 1,))
        report = run(conn, rows, future)
        assert "key-scheme version" in str(report.peers[0].error)
        assert future.calls == []


class TestCardinality:
    def test_cardinality_mode_counts_hits_without_naming_rows(
        self, conn: sqlite3.Connection, rows: list[RowResult]
    ) -> None:
        """In cardinality mode the requester learns how many keys matched, never which."""
        ke = FakeCounterpart("ke-kws", [PHONE, CONTAINER])
        report = run(conn, rows, ke, reveal=False)
        outcome = report.peers[0]
        assert (outcome.hits, outcome.cardinality_only) == (2, True)
        assert hits_of(rows) == {}
        assert conn.execute("SELECT COUNT(*) FROM match_hits").fetchone()[0] == 0
        assert all(not c.reveal_intersection for c in ke.calls)


class TestBudget:
    def test_budget_left_is_the_counterparts_last_answer(
        self, conn: sqlite3.Connection, rows: list[RowResult]
    ) -> None:
        """The budget shown is what the counterpart reported after the last chunk."""
        ke = FakeCounterpart("ke-kws", [PHONE], max_elements_per_request=2, budget=12)
        report = run(conn, rows, ke)
        assert report.peers[0].budget_remaining == 12 - 5


class TestEntryCheck:
    @pytest.mark.parametrize(
        ("given", "field"),
        [
            ({"purpose": " "}, "purpose"),
            ({"purpose": "curiosity"}, "purpose"),
            ({"legal_basis": ""}, "legal_basis"),
            ({"case_reference": ""}, "case_reference"),
            ({"officer": "x" * 300}, "officer"),
        ],
    )
    def test_a_bad_context_is_refused_naming_the_field(
        self, given: dict[str, str], field: str
    ) -> None:
        """Who asks and why is refused where it enters, naming the field, before any match."""
        values = {
            "purpose": "criminal_investigation",
            "legal_basis": "CITES-Art-VIII",
            "case_reference": "C-1",
            "officer": "Capt. Tran",
            **given,
        }
        with pytest.raises(InvalidRequest) as err:
            request_context(requester="vn-customs", now=datetime.now(UTC), **values)
        assert err.value.field == field
