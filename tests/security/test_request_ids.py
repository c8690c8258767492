"""Request ids are canonical and single-use; a Disclose without justification is refused."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest

from node.app.home import NodeHome
from node.errors import InvalidRequest
from node.psi.pool import PsiPool
from tests.conftest import responder_with_peer
from tests.disclosure.helpers import IVORY, ResponderNode, key_of, make_responder
from tests.rpc.test_servicer import HELD, QUERY, call, make_servicer, match_request
from tests.security.test_vocabulary import used_today


@pytest.fixture(scope="module")
def pool() -> Iterator[PsiPool]:
    with PsiPool(max_workers=1, timeout_s=60) as p:
        yield p


@pytest.fixture
def home(tmp_path: Path) -> NodeHome:
    return NodeHome(responder_with_peer(tmp_path, HELD)["ke-kws"])


class TestMatchRequestIds:
    def test_a_reused_request_id_is_refused_and_not_charged_again(
        self, home: NodeHome, pool: PsiPool
    ) -> None:
        """The same request id sent twice is answered once; the replay costs nothing."""
        _, server = make_servicer(home, pool)
        request_id = str(uuid.uuid4())
        first, _ = match_request(QUERY, request_id=request_id)
        assert call(server, "Match", first)[2] == grpc.StatusCode.OK
        charged = used_today(home)
        again, _ = match_request(QUERY, request_id=request_id)
        _, _, code, details = call(server, "Match", again)
        assert code == grpc.StatusCode.INVALID_ARGUMENT
        assert "already used" in details
        assert used_today(home) == charged

    @pytest.mark.parametrize(
        "spelling",
        [
            "{3F1C8A52-5D0E-4A51-9D69-2A7DE1C0B001}",
            "3F1C8A52-5D0E-4A51-9D69-2A7DE1C0B001",
            "3f1c8a525d0e4a519d692a7de1c0b001",
        ],
    )
    def test_a_non_canonical_spelling_is_refused(
        self, home: NodeHome, pool: PsiPool, spelling: str
    ) -> None:
        """Other spellings of a UUID are refused, naming the canonical form."""
        _, server = make_servicer(home, pool)
        request, _ = match_request(QUERY, request_id=spelling)
        _, _, code, details = call(server, "Match", request)
        assert code == grpc.StatusCode.INVALID_ARGUMENT
        assert "3f1c8a52-5d0e-4a51-9d69-2a7de1c0b001" in details
        assert used_today(home) == 0


@pytest.fixture
def responder(tmp_path: Path) -> Iterator[ResponderNode]:
    node = make_responder(tmp_path / "responder")
    try:
        yield node
    finally:
        node.conn.close()


class TestDiscloseFields:
    def test_an_empty_justification_is_refused_and_nothing_is_released(
        self, responder: ResponderNode
    ) -> None:
        """The server itself requires the justification the CLI asks for."""
        with pytest.raises(InvalidRequest, match="justification"):
            responder.disclose((key_of(IVORY, "container"),), justification="")
        assert responder.count("disclosure_requests") == 0

    def test_a_non_canonical_disclose_request_id_is_refused(self, responder: ResponderNode) -> None:
        """Disclose request ids are canonical UUIDs too."""
        with pytest.raises(InvalidRequest, match="canonical"):
            responder.disclose(
                (key_of(IVORY, "container"),), request_id="3F1C8A52-5D0E-4A51-9D69-2A7DE1C0B001"
            )

    @pytest.mark.parametrize(
        ("field", "value", "says"),
        [
            ("officer", "  ", "officer"),
            ("case_reference", "", "case_reference"),
            ("purpose", "", "purpose"),
            ("legal_basis", "", "legal_basis"),
            ("requested_fields", (), "requested_fields"),
            ("justification", "   ", "justification"),
            ("request_id", "", "request_id"),
        ],
    )
    def test_every_field_the_cli_requires_is_required_by_the_server(
        self, responder: ResponderNode, field: str, value: object, says: str
    ) -> None:
        """A hand-made Disclose missing a field `spoor disclose request` requires is refused."""
        with pytest.raises(InvalidRequest, match=says):
            responder.disclose((key_of(IVORY, "container"),), **{field: value})
        assert responder.count("disclosure_requests") == 0
