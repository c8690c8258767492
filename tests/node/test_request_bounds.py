"""A requester's fields are bounded and printable before the responder stores or audits them."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest

from node import store
from node.app.home import NodeHome
from node.errors import InvalidRequest
from node.psi.pool import PsiPool
from tests.conftest import responder_with_peer
from tests.disclosure.helpers import SUSPECT, ResponderNode, key_of, make_responder
from tests.rpc.test_servicer import HELD, QUERY, call, make_servicer, match_request


@pytest.fixture(scope="module")
def pool() -> Iterator[PsiPool]:
    with PsiPool(max_workers=1, timeout_s=60) as p:
        yield p


@pytest.fixture
def home(tmp_path: Path) -> NodeHome:
    return NodeHome(responder_with_peer(tmp_path, HELD)["ke-kws"])


@pytest.fixture
def responder(tmp_path: Path) -> Iterator[ResponderNode]:
    node = make_responder(tmp_path / "responder")
    try:
        yield node
    finally:
        node.conn.close()


def audit_rows(home: NodeHome, event: str) -> list[dict[str, object]]:
    conn = store.connect(home.db_path)
    try:
        rows = conn.execute("SELECT * FROM audit_entries WHERE event = ?", (event,)).fetchall()
        return [dict(r) for r in rows]
    finally:
        conn.close()


def charged(home: NodeHome) -> int:
    conn = store.connect(home.db_path)
    try:
        return int(
            conn.execute("SELECT COALESCE(SUM(elements), 0) FROM budget_usage").fetchone()[0]
        )
    finally:
        conn.close()


class TestMatchKeyTypes:
    """``key_types`` is bounded and deduplicated before it reaches the audit trail."""

    def test_a_million_key_types_are_refused(self, home: NodeHome, pool: PsiPool) -> None:
        """A one-element Match with a million key types is refused uncharged, audited briefly."""
        _, server = make_servicer(home, pool)
        request, _ = match_request(QUERY[:1], key_types=["phone"] * 1_000_000)
        _, _, code, details = call(server, "Match", request)
        assert code == grpc.StatusCode.INVALID_ARGUMENT
        assert "key_types" in details
        assert charged(home) == 0
        (refused,) = audit_rows(home, "match.refused")
        assert len(json.dumps(refused, default=str)) < 4096

    def test_repeated_key_types_are_audited_once(self, home: NodeHome, pool: PsiPool) -> None:
        """Each key type sent twice appears once in the audit entry."""
        _, server = make_servicer(home, pool)
        request, _ = match_request(QUERY, key_types=["phone", "container", "phone", "container"])
        assert call(server, "Match", request)[2] == grpc.StatusCode.OK
        (served,) = audit_rows(home, "match.served")
        assert json.loads(str(served["key_types"])) == ["container", "phone"]


class TestControlCharacters:
    """Control characters never reach the audit trail."""

    @pytest.mark.parametrize(
        ("field", "value"),
        [
            ("requesting_officer", "Capt. Tran\x1b[2J"),
            ("case_reference", "VNC/2026/0147\r\nforged line"),
            ("purpose", "criminal_investigation\x1b]0;owned\x07"),
            ("legal_basis", "CITES\u202eIIIV-trA"),
        ],
        ids=["escape", "newline", "osc", "bidi-override"],
    )
    def test_match_text_with_controls_is_refused(
        self, home: NodeHome, pool: PsiPool, field: str, value: str
    ) -> None:
        """A Match whose text holds a control character is refused and audited in escaped form."""
        _, server = make_servicer(home, pool)
        request, _ = match_request(QUERY, **{field: value})
        _, _, code, details = call(server, "Match", request)
        assert code == grpc.StatusCode.INVALID_ARGUMENT
        assert "control" in details
        assert charged(home) == 0
        (refused,) = audit_rows(home, "match.refused")
        stored = "".join(str(v) for v in refused.values())
        for char in ("\x1b", "\r", "\x07", "\u202e"):
            assert char not in stored

    def test_disclose_justification_keeps_newlines_only(self, responder: ResponderNode) -> None:
        """A justification may span lines but may not carry an escape sequence."""
        key = key_of(SUSPECT, "passport")
        with pytest.raises(InvalidRequest) as caught:
            responder.disclose((key,), justification="Seizure in Hai Phong\x1b[8m hidden")
        assert caught.value.field == "justification"
        answer = responder.disclose((key,), justification="Seizure in Hai Phong.\nSee file 7.")
        assert answer.items


class TestEchoedValues:
    """Errors quote a requester's values only briefly."""

    @pytest.mark.parametrize("field", ["potential_charges", "assurances", "requested_fields"])
    def test_long_value_is_cut_in_the_error(self, responder: ResponderNode, field: str) -> None:
        """A 100,000-character unknown value is quoted in at most a few dozen characters."""
        key = key_of(SUSPECT, "passport")
        with pytest.raises(InvalidRequest) as caught:
            responder.disclose((key,), **{field: ("[/bold]" + "x" * 100_000,)})
        assert caught.value.field == field
        assert len(str(caught.value)) < 200
        assert "[/bold]" in str(caught.value)
        assert responder.count("disclosure_requests") == 0

    def test_long_lists_are_refused(self, responder: ResponderNode) -> None:
        """A list of ten thousand potential charges is refused before anything is stored."""
        key = key_of(SUSPECT, "passport")
        with pytest.raises(InvalidRequest) as caught:
            responder.disclose((key,), potential_charges=("wildlife_trafficking",) * 10_000)
        assert caught.value.field == "potential_charges"
        assert responder.count("disclosure_requests") == 0
