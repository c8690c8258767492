"""Disclose and GetDisclosure through the servicer (grpc_testing): statuses and rich details."""

from __future__ import annotations

import json
import uuid
from typing import Any

import grpc
import grpc_testing
import pytest
from google.rpc import error_details_pb2, status_pb2  # type: ignore[import-untyped]
from spoor.federation.v1 import federation_pb2 as pb

from node.records.keys import KEY_SCHEME_VERSION
from node.rpc.servicer import FederationServicer, NodeIdentity
from tests.disclosure.helpers import IVORY, OTHER, REQUESTER, SUSPECT, ResponderNode, key_of

SERVICE = pb.DESCRIPTOR.services_by_name["FederationService"]


class FixedCaller:
    """Authenticates every call as one agency (certificates are tested elsewhere)."""

    def __init__(self) -> None:
        self.agency = REQUESTER

    def identify(self, context: grpc.ServicerContext) -> str:
        return self.agency


class Harness:
    def __init__(self, responder: ResponderNode) -> None:
        self.caller = FixedCaller()
        identity = NodeIdentity("ke-kws", "KE", "test", 100)
        servicer = FederationServicer(identity, None, self.caller, responder.service)  # type: ignore[arg-type]
        self.server = grpc_testing.server_from_dictionary(
            {SERVICE: servicer}, grpc_testing.strict_real_time()
        )

    def call(self, method: str, request: Any, as_agency: str = REQUESTER) -> tuple[Any, Any, Any]:
        self.caller.agency = as_agency
        rpc = self.server.invoke_unary_unary(
            SERVICE.methods_by_name[method], (), request, timeout=10
        )
        response, trailing, code, details = rpc.termination()
        status = None
        for key, value in trailing or ():
            if key == "grpc-status-details-bin":
                status = status_pb2.Status.FromString(value)
        return response, code, (details, status)


def disclose_request(keys: list[str], **overrides: Any) -> pb.DiscloseRequest:
    fields: dict[str, Any] = {
        "protocol_version": 1,
        "key_scheme_version": KEY_SCHEME_VERSION,
        "request_id": str(uuid.uuid4()),
        "match_keys": keys,
        "purpose": "criminal_investigation",
        "legal_basis": "KE-VN-MoU-2024",
        "case_reference": "VN-HCM-2026-044",
        "requesting_officer": "Insp. Tran Thi Mai",
        "justification": "ivory seizure",
        "requested_fields": ["identity", "shipment", "seizure"],
    }
    fields.update(overrides)
    return pb.DiscloseRequest(**fields)


@pytest.fixture
def harness(responder: ResponderNode) -> Harness:
    return Harness(responder)


class TestDisclose:
    def test_per_record_outcomes_on_the_wire(self, harness: Harness) -> None:
        """The response carries a release with fields and obligations and a pending ticket."""
        keys = [key_of(IVORY, "container"), key_of(SUSPECT, "passport")]
        response, code, _ = harness.call("Disclose", disclose_request(keys))
        assert code == grpc.StatusCode.OK
        released, pending = response.items
        assert released.outcome == pb.DISCLOSURE_OUTCOME_RELEASE
        assert {f.name for f in released.fields} >= {"containers", "quantity"}
        assert released.obligations.handling_code == "TLP:AMBER"
        assert pending.outcome == pb.DISCLOSURE_OUTCOME_PENDING_APPROVAL
        assert pending.ticket_id
        assert pending.deadline
        assert list(pending.fields) == []

    def test_malformed_key_is_invalid_argument_with_field(self, harness: Harness) -> None:
        """A malformed key answers INVALID_ARGUMENT with a BadRequest naming the key."""
        _, code, (details, status) = harness.call("Disclose", disclose_request(["C1234567"]))
        assert code == grpc.StatusCode.INVALID_ARGUMENT
        assert "match_keys[0]" in details
        bad = error_details_pb2.BadRequest()
        assert status is not None
        assert status.details[0].Unpack(bad)
        assert bad.field_violations[0].field == "match_keys[0]"

    def test_missing_case_reference_is_invalid_argument(self, harness: Harness) -> None:
        """A request without a case reference answers INVALID_ARGUMENT naming the field."""
        request = disclose_request([key_of(IVORY, "container")], case_reference="")
        _, code, (details, _) = harness.call("Disclose", request)
        assert code == grpc.StatusCode.INVALID_ARGUMENT
        assert "case_reference" in details


class TestGetDisclosure:
    def test_foreign_and_unknown_answer_identically(self, harness: Harness) -> None:
        """Another agency's disclosure and an unknown one both answer NOT_FOUND alike."""
        response, _, _ = harness.call("Disclose", disclose_request([key_of(IVORY, "container")]))
        real = response.disclosure_id
        fake = str(uuid.uuid4())
        _, code_a, (msg_a, status_a) = harness.call(
            "GetDisclosure", pb.GetDisclosureRequest(disclosure_id=real), as_agency=OTHER
        )
        _, code_b, (msg_b, status_b) = harness.call(
            "GetDisclosure", pb.GetDisclosureRequest(disclosure_id=fake), as_agency=OTHER
        )
        assert code_a == code_b == grpc.StatusCode.NOT_FOUND
        assert msg_a.replace(real, "X") == msg_b.replace(fake, "X")
        assert status_a is not None
        assert status_b is not None
        assert status_a.details == status_b.details

    def test_owner_fetches_released_fields(self, harness: Harness) -> None:
        """The requesting agency gets its released fields back when it asks for them."""
        response, _, _ = harness.call("Disclose", disclose_request([key_of(IVORY, "container")]))
        fetched, code, _ = harness.call(
            "GetDisclosure",
            pb.GetDisclosureRequest(
                disclosure_id=response.disclosure_id, include_released_fields=True
            ),
        )
        assert code == grpc.StatusCode.OK
        assert {f.name for f in fetched.items[0].fields} >= {"containers"}


def refusals(responder: ResponderNode) -> list[tuple[str, str, dict[str, Any]]]:
    rows = responder.conn.execute(
        "SELECT counterpart, status, details FROM audit_entries "
        "WHERE event = 'disclose.refused' ORDER BY seq"
    ).fetchall()
    return [(r[0], r[1], json.loads(r[2])) for r in rows]


class TestRefusalsAudited:
    @pytest.mark.parametrize(
        "overrides",
        [{"justification": ""}, {"legal_basis": "NOPE"}, {"protocol_version": 99}],
    )
    def test_a_refused_disclose_is_audited_without_its_content(
        self, harness: Harness, responder: ResponderNode, overrides: dict[str, Any]
    ) -> None:
        """An invalid, unknown-basis or wrong-version Disclose is refused and leaves one
        disclose.refused entry naming the requester and the reason, and no key."""
        key = key_of(IVORY, "container")
        _, code, _ = harness.call("Disclose", disclose_request([key], **overrides))
        assert code in (grpc.StatusCode.INVALID_ARGUMENT, grpc.StatusCode.FAILED_PRECONDITION)
        ((counterpart, status, details),) = refusals(responder)
        assert counterpart == REQUESTER
        assert status == code.name
        assert details["reason"] in ("InvalidRequest", "VersionMismatch")
        assert key not in json.dumps(details)
        assert responder.count("disclosure_requests") == 0
