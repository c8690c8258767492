"""The wire mapping: what one side encodes is what the other decodes, checked on entry."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from spoor.federation.v1 import federation_pb2 as pb

import policy
from node.disclosure import DisclosureCall, ItemDecision
from node.disclosure.requester import CounterpartReplyError
from node.errors import InvalidRequest
from node.match.context import request_context
from node.match.responder import PROTOCOL_VERSION, MatchCall, MatchReply
from node.psi import PSI_PROTOCOL_VERSION
from node.records.keys import KEY_SCHEME_VERSION
from node.rpc import wire

NOW = datetime(2026, 11, 22, 10, tzinfo=UTC)


def asked(**extra: object) -> policy.RequestContext:
    return request_context(
        requester="vn-customs",
        now=NOW,
        purpose="criminal_investigation",
        legal_basis="KE-VN-MoU-2024",
        case_reference="VN-HCM-2026-044",
        officer="Insp. Tran Thi Mai",
        **extra,  # type: ignore[arg-type]
    )


def match_call(context: policy.RequestContext) -> MatchCall:
    return MatchCall(
        context=context,
        protocol_version=PROTOCOL_VERSION,
        key_scheme_version=KEY_SCHEME_VERSION,
        psi_protocol_version=PSI_PROTOCOL_VERSION,
        reveal_intersection=False,
        psi_request=b"\x01\x02",
        request_id="3f1c8a52-5d0e-4a51-9d69-2a7de1c0b001",
        key_types=("phone",),
    )


class TestMatch:
    def test_request_round_trip_keeps_the_context_with_the_authenticated_requester(
        self,
    ) -> None:
        """The responder reads the sender's context as sent; the requester is the peer it saw."""
        sent = match_call(asked())
        received = wire.match_call_of("vn-customs", wire.match_request_pb(sent), NOW)
        assert received == sent
        spoofed = wire.match_call_of("mz-pgr", wire.match_request_pb(sent), NOW)
        assert spoofed.requester == "mz-pgr"

    def test_a_received_context_is_checked_and_trimmed_once(self) -> None:
        """Padding is trimmed on entry and a missing officer is refused naming the field."""
        request = wire.match_request_pb(match_call(asked()))
        request.case_reference = "  VN-HCM-2026-044 "
        assert wire.match_call_of("vn-customs", request, NOW).context.case_reference == (
            "VN-HCM-2026-044"
        )
        request.requesting_officer = ""
        with pytest.raises(InvalidRequest) as err:
            wire.match_call_of("vn-customs", request, NOW)
        assert err.value.field == "officer"

    def test_unspecified_reveal_mode_is_refused(self) -> None:
        """A request that does not say what it may learn is refused."""
        request = wire.match_request_pb(match_call(asked()))
        request.reveal_mode = pb.REVEAL_MODE_UNSPECIFIED
        with pytest.raises(InvalidRequest) as err:
            wire.match_call_of("vn-customs", request, NOW)
        assert err.value.field == "reveal_mode"

    def test_reply_round_trip(self) -> None:
        """The requester reads the responder's answer as the responder gave it."""
        reply = MatchReply(b"s", b"r", "d", False, "p", 3, 7)
        assert wire.match_reply_of(wire.match_response_pb(reply)) == reply


class TestDisclosure:
    def test_request_round_trip_keeps_the_whole_context(self) -> None:
        """Justification, charges, assurances and fields arrive exactly as sent."""
        sent = DisclosureCall(
            context=asked(
                justification="Linked to a seizure.",
                potential_charges=("wildlife_trafficking",),
                assurances=("A-1",),
                requested_fields=("identity", "documents"),
            ),
            protocol_version=PROTOCOL_VERSION,
            key_scheme_version=KEY_SCHEME_VERSION,
            request_id="3f1c8a52-5d0e-4a51-9d69-2a7de1c0b001",
            match_keys=("v1|phone|+84912345678",),
            match_id="m-1",
        )
        received = wire.disclosure_call_of("vn-customs", wire.disclose_request_pb(sent), NOW)
        assert received == sent

    def test_item_keeps_typed_outcome_and_obligations(self) -> None:
        """A released item's outcome and obligations cross as the policy's own types."""
        obligations = policy.Obligations(
            handling_code="TLP:AMBER",
            use_limited_to_purpose=True,
            use_limited_to_case=False,
            purpose="criminal_investigation",
            case_reference="VN-HCM-2026-044",
            onward_transfer="with_consent",
            judicial_use="prohibited",
            retention_days=365,
        )
        item = ItemDecision(
            "i-1",
            policy.Outcome.RELEASE,
            "RELEASED",
            "v1|phone|+84912345678",
            {"names": ["Nguyen Van Hung"]},
            {"names": "mask"},
            obligations,
            decided_at="2026-11-22T10:00:00Z",
        )
        back = wire.item_of("ke-kws", wire.item_pb(item))
        assert back == item
        assert isinstance(back.outcome, policy.Outcome)
        assert isinstance(back.obligations, policy.Obligations)

    def test_item_without_known_outcome_is_refused(self) -> None:
        """An item the requester cannot read is refused, not guessed."""
        with pytest.raises(CounterpartReplyError):
            wire.item_of("ke-kws", pb.DisclosureItem(item_id="i-1"))
