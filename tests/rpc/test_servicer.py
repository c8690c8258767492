"""FederationService with grpc_testing: statuses, rich details, budgets, privacy."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import grpc
import grpc_testing
import pytest
from google.rpc import error_details_pb2
from grpc_status import rpc_status
from spoor.federation.v1 import federation_pb2 as pb

from node import audit, store
from node.app.config import load_config
from node.app.home import NodeHome
from node.app.policy_holder import PolicyHolder
from node.errors import NotAPeer
from node.match.responder import PROTOCOL_VERSION, Responder
from node.psi import PSI_PROTOCOL_VERSION
from node.psi import client as psi_client
from node.psi.pool import PsiPool
from node.records.keys import KEY_SCHEME_VERSION
from node.records.schemes import advertised_schemes
from node.rpc.servicer import FederationServicer, NodeIdentity
from tests.conftest import responder_with_peer

SERVICE = pb.DESCRIPTOR.services_by_name["FederationService"]

HELD = [
    {
        "record_id": "KE-1",
        "kind": "person",
        "subject_category": "suspect",
        "names": ["Nguyễn Văn Hùng"],
        "date_of_birth": "1979-03-02",
        "phones": ["+84 91 234 5678"],
        "country": "VN",
        "review_date": "2031-01-01",
        "case_reference": "KWS/1",
    },
    {
        "record_id": "KE-2",
        "kind": "shipment",
        "containers": ["MSCU 123456-6"],
        "review_date": "2031-01-01",
        "case_reference": "KWS/2",
    },
    {
        "record_id": "KE-3",
        "kind": "person",
        "subject_category": "witness",
        "names": ["Grace Wanjiru"],
        "phones": ["+254 722 000 111"],
        "country": "KE",
        "review_date": "2031-01-01",
    },
]
QUERY = [
    f"v{KEY_SCHEME_VERSION}|phone|+84912345678",  # held (suspect)
    f"v{KEY_SCHEME_VERSION}|container|MSCU1234566",  # held (shipment)
    f"v{KEY_SCHEME_VERSION}|phone|+254722000111",  # held, but on a witness: never matchable
    f"v{KEY_SCHEME_VERSION}|phone|+258841234567",  # not held
]


class FakeAuthenticator:
    """Stands in for mutual TLS: grpc_testing has no auth context."""

    def __init__(self, agency: str | None) -> None:
        self.agency = agency

    def identify(self, context: grpc.ServicerContext) -> str:
        if self.agency is None:
            raise NotAPeer("no client certificate was presented")
        return self.agency


@pytest.fixture(scope="module")
def pool() -> Iterator[PsiPool]:
    with PsiPool(max_workers=1, timeout_s=60) as p:
        yield p


@pytest.fixture
def home(tmp_path: Path) -> NodeHome:
    return NodeHome(responder_with_peer(tmp_path, HELD)["ke-kws"])


def make_servicer(
    home: NodeHome, pool: PsiPool, agency: str | None = "vn-customs", **limits: int
) -> tuple[FederationServicer, Any]:
    config = load_config(home)
    for name, value in limits.items():
        setattr(config.limits, name, value)
    policies = PolicyHolder(home.root / "policy", home.db_path)
    policies.load_initial()
    responder = Responder(config, home.db_path, policies, pool)
    identity = NodeIdentity("ke-kws", "KE", "test", config.limits.max_elements_per_request)
    servicer = FederationServicer(identity, responder, FakeAuthenticator(agency))
    server = grpc_testing.server_from_dictionary(
        {SERVICE: servicer}, grpc_testing.strict_real_time()
    )
    return servicer, server


def match_request(elements: list[str], **overrides: Any) -> tuple[pb.MatchRequest, Any]:
    session = psi_client.start(elements, reveal=True)
    fields: dict[str, Any] = {
        "protocol_version": PROTOCOL_VERSION,
        "key_scheme_version": KEY_SCHEME_VERSION,
        "psi_protocol_version": PSI_PROTOCOL_VERSION,
        "purpose": "criminal_investigation",
        "legal_basis": "CITES-Art-VIII",
        "case_reference": "VNC/2026/0147",
        "requesting_officer": "Capt. Tran",
        "reveal_mode": pb.REVEAL_MODE_INTERSECTION,
        "psi_request": session.request_bytes,
        "request_id": str(uuid.uuid4()),
        "key_types": ["phone", "container"],
    }
    fields.update(overrides)
    return pb.MatchRequest(**fields), session


def call(server: Any, method: str, request: Any) -> tuple[Any, Any, grpc.StatusCode, str]:
    rpc = server.invoke_unary_unary(SERVICE.methods_by_name[method], (), request, 30)
    response, trailing, code, details = rpc.termination()
    return response, trailing, code, details


def detail_of(trailing: Any, code: grpc.StatusCode, details: str, cls: type) -> Any:
    class _Call:
        def trailing_metadata(self) -> Any:
            return trailing

        def code(self) -> grpc.StatusCode:
            return code

        def details(self) -> str:
            return details

    status = rpc_status.from_call(_Call())  # type: ignore[arg-type]
    assert status is not None, "no google.rpc.Status in the trailing metadata"
    for item in status.details:
        if item.Is(cls.DESCRIPTOR):
            msg = cls()
            item.Unpack(msg)
            return msg
    raise AssertionError(f"no {cls.__name__} detail")


class TestDescribe:
    def test_reports_identity_versions_and_policy(self, home: NodeHome, pool: PsiPool) -> None:
        """Describe names the agency, its versions, capabilities and the policy digest."""
        servicer, server = make_servicer(home, pool)
        response, _, code, _ = call(server, "Describe", pb.DescribeRequest())
        assert code == grpc.StatusCode.OK
        assert (response.agency_id, response.country) == ("ke-kws", "KE")
        assert tuple(response.key_scheme_versions) == advertised_schemes()
        assert response.key_scheme_versions[0] == KEY_SCHEME_VERSION
        # The single field names the oldest scheme, for nodes that compare it for equality.
        assert response.key_scheme_version == min(advertised_schemes())
        assert response.protocol_version == PROTOCOL_VERSION
        assert "match.intersection" in response.capabilities
        assert response.policy_digest == servicer.responder.policies.current().digest

    def test_unknown_caller_is_denied(self, home: NodeHome, pool: PsiPool) -> None:
        """A caller that is not a configured peer gets PERMISSION_DENIED and no description."""
        _, server = make_servicer(home, pool, agency=None)
        response, trailing, code, details = call(server, "Describe", pb.DescribeRequest())
        assert code == grpc.StatusCode.PERMISSION_DENIED
        assert response.agency_id == ""
        info = detail_of(trailing, code, details, error_details_pb2.ErrorInfo)
        assert info.reason == "NOT_A_PEER"


class TestMatch:
    def test_intersection_respects_participation_policy(
        self, home: NodeHome, pool: PsiPool
    ) -> None:
        """The requester learns exactly the held, eligible keys: the witness's phone stays out."""
        _, server = make_servicer(home, pool)
        request, session = match_request(QUERY)
        response, _, code, details = call(server, "Match", request)
        assert code == grpc.StatusCode.OK, details
        result = session.finish(response.server_setup, response.psi_response)
        assert sorted(QUERY[i] for i in result.indices) == sorted(QUERY[:2])
        assert response.elements_charged == len(QUERY)

    def test_cardinality_mode_reveals_only_a_count(self, home: NodeHome, pool: PsiPool) -> None:
        """In cardinality mode the requester learns how many matched, not which."""
        _, server = make_servicer(home, pool)
        session = psi_client.start(QUERY, reveal=False)
        request, _ = match_request(
            QUERY, psi_request=session.request_bytes, reveal_mode=pb.REVEAL_MODE_CARDINALITY
        )
        response, _, code, details = call(server, "Match", request)
        assert code == grpc.StatusCode.OK, details
        result = session.finish(response.server_setup, response.psi_response)
        assert result.count == 2
        assert result.indices is None

    def test_nothing_plaintext_crosses_the_wire(self, home: NodeHome, pool: PsiPool) -> None:
        """Neither the request nor the answer carries either side's identifiers in clear."""
        _, server = make_servicer(home, pool)
        request, _ = match_request(QUERY)
        response, _, _, _ = call(server, "Match", request)
        wire = request.SerializeToString() + response.SerializeToString()
        for secret in ("+84912345678", "MSCU1234566", "+254722000111", "84912345678", "1234566"):
            assert secret.encode() not in wire

    def test_malformed_psi_bytes_answer_invalid_argument_and_node_keeps_serving(
        self, home: NodeHome, pool: PsiPool
    ) -> None:
        """Garbage PSI bytes get INVALID_ARGUMENT with BadRequest; the next call succeeds."""
        _, server = make_servicer(home, pool)
        bad, _ = match_request(QUERY, psi_request=b"\x0a\xff\xff\xff\x0fgarbage")
        _, trailing, code, details = call(server, "Match", bad)
        assert code == grpc.StatusCode.INVALID_ARGUMENT
        violation = detail_of(trailing, code, details, error_details_pb2.BadRequest)
        assert violation.field_violations[0].field.startswith("psi_request")
        good, _ = match_request(QUERY)
        assert call(server, "Match", good)[2] == grpc.StatusCode.OK

    @pytest.mark.parametrize(
        ("override", "field"),
        [
            ({"purpose": ""}, "purpose"),
            ({"legal_basis": "  "}, "legal_basis"),
            ({"case_reference": ""}, "case_reference"),
            ({"requesting_officer": ""}, "officer"),
            ({"request_id": "not-a-uuid"}, "request_id"),
            ({"reveal_mode": pb.REVEAL_MODE_UNSPECIFIED}, "reveal_mode"),
        ],
    )
    def test_missing_fields_are_invalid_argument(
        self, home: NodeHome, pool: PsiPool, override: dict[str, Any], field: str
    ) -> None:
        """Each missing or malformed field is named in BadRequest and nothing is charged."""
        _, server = make_servicer(home, pool)
        request, _ = match_request(QUERY, **override)
        _, trailing, code, details = call(server, "Match", request)
        assert code == grpc.StatusCode.INVALID_ARGUMENT
        violation = detail_of(trailing, code, details, error_details_pb2.BadRequest)
        assert violation.field_violations[0].field == field
        conn = store.connect(home.db_path)
        assert conn.execute("SELECT COUNT(*) FROM budget_usage").fetchone()[0] == 0

    def test_key_scheme_mismatch_is_failed_precondition(
        self, home: NodeHome, pool: PsiPool
    ) -> None:
        """A requester on another key-scheme version is refused before anything is charged."""
        _, server = make_servicer(home, pool)
        request, _ = match_request(QUERY, key_scheme_version=KEY_SCHEME_VERSION + 1)
        _, trailing, code, details = call(server, "Match", request)
        assert code == grpc.StatusCode.FAILED_PRECONDITION
        failure = detail_of(trailing, code, details, error_details_pb2.PreconditionFailure)
        assert failure.violations[0].subject == "key-scheme version"

    def test_per_request_cap(self, home: NodeHome, pool: PsiPool) -> None:
        """More elements than one request may carry: RESOURCE_EXHAUSTED, no curve work."""
        _, server = make_servicer(home, pool, max_elements_per_request=3)
        calls: list[int] = []
        original = pool.serve
        pool.serve = lambda *a, **k: calls.append(1) or original(*a, **k)  # type: ignore[method-assign]
        try:
            request, _ = match_request(QUERY)
            _, trailing, code, details = call(server, "Match", request)
        finally:
            pool.serve = original  # type: ignore[method-assign]
        assert code == grpc.StatusCode.RESOURCE_EXHAUSTED
        quota = detail_of(trailing, code, details, error_details_pb2.QuotaFailure)
        assert quota.violations[0].subject == "elements_per_request"
        assert calls == []

    def test_daily_budget_charged_before_work_and_refused_beyond(
        self, home: NodeHome, pool: PsiPool
    ) -> None:
        """The budget counts elements, persists, and refuses the request that exceeds it."""
        _, server = make_servicer(home, pool, max_elements_per_peer_per_day=6)
        first, _ = match_request(QUERY)
        response, _, code, _ = call(server, "Match", first)
        assert code == grpc.StatusCode.OK
        assert response.budget_remaining == 2
        # A restarted node (new servicer, same database) still remembers the usage.
        _, restarted = make_servicer(home, pool, max_elements_per_peer_per_day=6)
        second, _ = match_request(QUERY)
        _, trailing, code, details = call(restarted, "Match", second)
        assert code == grpc.StatusCode.RESOURCE_EXHAUSTED
        quota = detail_of(trailing, code, details, error_details_pb2.QuotaFailure)
        assert quota.violations[0].subject.startswith("peer:vn-customs/")

    def test_budget_is_charged_even_if_psi_fails(self, home: NodeHome, pool: PsiPool) -> None:
        """A call that fails after the charge still costs its elements: no free probing."""
        _, server = make_servicer(home, pool)
        original = pool.serve

        def failing(*args: Any, **kwargs: Any) -> Any:
            raise RuntimeError("worker lost")

        pool.serve = failing  # type: ignore[method-assign]
        try:
            request, _ = match_request(QUERY)
            _, trailing, code, details = call(server, "Match", request)
        finally:
            pool.serve = original  # type: ignore[method-assign]
        assert code == grpc.StatusCode.INTERNAL
        assert "worker lost" not in details  # internals never reach the counterpart
        info = detail_of(trailing, code, details, error_details_pb2.RequestInfo)
        assert info.request_id in details
        conn = store.connect(home.db_path)
        assert conn.execute("SELECT SUM(elements) FROM budget_usage").fetchone()[0] == len(QUERY)

    def test_audit_records_the_match_without_identifiers(
        self, home: NodeHome, pool: PsiPool
    ) -> None:
        """The responder's audit entry has counts, purpose, transcript hash; no keys or bytes."""
        _, server = make_servicer(home, pool)
        request, _ = match_request(QUERY)
        assert call(server, "Match", request)[2] == grpc.StatusCode.OK
        conn = store.connect(home.db_path)
        rows = conn.execute("SELECT * FROM audit_entries WHERE event = 'match.served'").fetchall()
        assert len(rows) == 1
        stored = " ".join(str(v) for v in dict(rows[0]).values())
        for secret in ("+84912345678", "MSCU1234566", "84912345678"):
            assert secret not in stored
        assert audit.verify(conn).ok
