"""The follow-up never hands a counterpart a plaintext key it has not shown it holds."""

from __future__ import annotations

import sqlite3
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from node.disclosure import DisclosureAnswer, DisclosureCall, requester
from node.disclosure.model import OpenCall, PrivateSelection
from node.disclosure.selection import SelectionExpired, answer_request
from node.errors import InvalidRequest
from node.match import budget
from node.match.responder import PROTOCOL_VERSION
from node.psi import PSI_PROTOCOL_VERSION
from node.psi.errors import SetTooLarge
from node.records.keys import KEY_SCHEME_VERSION
from node.rpc import wire
from tests.disclosure.helpers import (
    IVORY,
    REQUESTER,
    SUSPECT,
    DirectChannel,
    ResponderNode,
    key_of,
    make_requester_db,
    make_responder,
)
from tests.disclosure.test_requester import REASON

#: A key the responder does not hold, which a forging responder reported as a hit.
FORGED = f"v{KEY_SCHEME_VERSION}|passport|VNM|N9999999"
HITS = [
    ("VN-ROW-1", "passport", key_of(SUSPECT, "passport")),
    ("VN-ROW-2", "container", key_of(IVORY, "container")),
    ("VN-ROW-9", "passport", FORGED),
]


class RecordingChannel(DirectChannel):
    """The responder's view: every wire message it receives, serialized."""

    received: list[bytes]

    def open_disclosure(self, call: OpenCall) -> bytes:
        self.received.append(wire.open_disclosure_request_pb(call).SerializeToString())
        return super().open_disclosure(call)

    def disclose(self, request: DisclosureCall) -> DisclosureAnswer:
        self.received.append(wire.disclose_request_pb(request).SerializeToString())
        return super().disclose(request)


@pytest.fixture
def responder(tmp_path: Path) -> Iterator[ResponderNode]:
    node = make_responder(tmp_path / "responder")
    try:
        yield node
    finally:
        node.conn.close()


@pytest.fixture
def req(tmp_path: Path) -> Iterator[sqlite3.Connection]:
    conn = make_requester_db(tmp_path / "requester", HITS)
    try:
        yield conn
    finally:
        conn.close()


def open_call(request_id: str) -> OpenCall:
    return OpenCall(REASON, PROTOCOL_VERSION, KEY_SCHEME_VERSION, PSI_PROTOCOL_VERSION, request_id)


def used(responder: ResponderNode) -> int:
    return budget.used(responder.conn, REQUESTER, budget.current_period())


class TestForgedHitStaysSecret:
    def test_no_pursued_key_crosses_the_wire_in_plaintext(
        self, req: sqlite3.Connection, responder: ResponderNode
    ) -> None:
        """A forged hit is pursued, but its key never reaches the responder in any message."""
        channel = RecordingChannel(responder.service)
        channel.received = []
        hits = requester.select_hits(req, "m-1")
        requester.send_request(req, channel, hits, REASON)
        sent = b"".join(channel.received)
        for _row, _type, key in HITS:
            assert key.encode() not in sent
        assert FORGED.encode() not in sent

    def test_the_responder_learns_only_the_pursued_keys_it_holds(
        self, req: sqlite3.Connection, responder: ResponderNode
    ) -> None:
        """Items answer only the genuinely held keys; the forged hit stays unknown to it."""
        hits = requester.select_hits(req, "m-1")
        requester.send_request(req, DirectChannel(responder.service), hits, REASON)
        (keys_count,) = responder.conn.execute(
            "SELECT keys_count FROM disclosure_requests"
        ).fetchone()
        assert keys_count == 2
        answered = {
            r[0] for r in req.execute("SELECT match_key FROM disclosure_items_sent").fetchall()
        }
        assert FORGED not in answered
        assert answered <= {key for _r, _t, key in HITS}


class TestSelectionIsChargedAndSingleUse:
    def test_the_whole_pursued_set_is_charged(self, responder: ResponderNode) -> None:
        """A requester stuffing its selection with guesses pays for every guess."""
        request_id = str(uuid.uuid4())
        psi_request = responder.service.open_selection(open_call(request_id))
        guesses = [f"v{KEY_SCHEME_VERSION}|passport|VNM|G{n:07d}" for n in range(50)]
        selection = answer_request(guesses, psi_request, max_elements=10_000)
        before = used(responder)
        responder.service.disclose(_private_call(request_id, selection))
        assert used(responder) - before == 50

    def test_a_selection_above_the_per_request_limit_is_refused_uncharged(
        self, responder: ResponderNode
    ) -> None:
        """More pursued keys than a disclosure may carry is refused before any charge."""
        request_id = str(uuid.uuid4())
        psi_request = responder.service.open_selection(open_call(request_id))
        guesses = [f"v{KEY_SCHEME_VERSION}|passport|VNM|G{n:07d}" for n in range(150)]
        selection = answer_request(guesses, psi_request, max_elements=10_000)
        before = used(responder)
        with pytest.raises(SetTooLarge):
            responder.service.disclose(_private_call(request_id, selection))
        assert used(responder) == before

    def test_a_selection_answers_once(self, responder: ResponderNode) -> None:
        """The same selection sent twice is refused the second time."""
        request_id = str(uuid.uuid4())
        psi_request = responder.service.open_selection(open_call(request_id))
        selection = answer_request([key_of(IVORY, "container")], psi_request, max_elements=100)
        responder.service.disclose(_private_call(request_id, selection))
        with pytest.raises(InvalidRequest, match="already used"):
            responder.service.disclose(_private_call(request_id, selection))
        with pytest.raises(SelectionExpired):
            responder.service.disclose(_private_call(str(uuid.uuid4()), selection))


class TestHostileResponderRequest:
    def test_an_oversized_counterpart_request_is_refused_before_curve_work(
        self, responder: ResponderNode
    ) -> None:
        """The requester answers no PSI request larger than it accepts; nothing is sent."""
        psi_request = responder.service.open_selection(open_call(str(uuid.uuid4())))
        with pytest.raises(InvalidRequest, match="more than the 8"):
            answer_request([FORGED], psi_request, max_elements=8)


def _private_call(request_id: str, selection: PrivateSelection) -> DisclosureCall:
    return DisclosureCall(
        context=REASON,
        protocol_version=PROTOCOL_VERSION,
        key_scheme_version=KEY_SCHEME_VERSION,
        request_id=request_id,
        match_keys=(),
        selection=selection,
    )
