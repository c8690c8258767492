"""What crosses the wire reveals no plaintext, and keys are fresh for every call."""

from __future__ import annotations

import private_set_intersection.python as psi
import pytest

from node.psi import bucket_size, process, start
from node.psi.messages import parse_setup
from node.psi.server import DEFAULT_FPR, effective_fpr, padded_elements
from tests.psi.helpers import REQUESTER_KEYS, RESPONDER_KEYS, make_exchange


def _fragments(keys: list[str]) -> list[bytes]:
    """Plaintext pieces an eavesdropper might look for: whole keys and their identifiers."""
    out: list[bytes] = []
    for key in keys:
        out.append(key.encode())
        out.append(key.rsplit("|", 1)[-1].encode())
    return out


class TestWireContents:
    """Requests, setups and responses carry only curve points and filter bits."""

    def test_request_has_no_plaintext(self) -> None:
        """The request bytes contain none of the requester's keys or identifiers."""
        session = start(REQUESTER_KEYS, reveal=True)
        for fragment in _fragments(REQUESTER_KEYS):
            assert fragment not in session.request_bytes

    def test_setup_and_response_have_no_plaintext(self) -> None:
        """The responder's setup and response contain none of either side's keys."""
        exchange = make_exchange()
        for fragment in _fragments(REQUESTER_KEYS + RESPONDER_KEYS):
            assert fragment not in exchange.setup_bytes
            assert fragment not in exchange.response_bytes

    def test_setup_does_not_list_the_responder_set(self) -> None:
        """The setup is a compressed GCS, not a list of the responder's points."""
        exchange = make_exchange()
        setup = psi.ServerSetup()
        setup.ParseFromString(exchange.setup_bytes)
        assert setup.WhichOneof("data_structure") == "gcs"

    def test_request_holds_points_only(self) -> None:
        """Each request element is a 33-byte compressed P-256 point, one per distinct key."""
        session = start([*REQUESTER_KEYS, REQUESTER_KEYS[0]], reveal=True)
        request = psi.Request()
        request.ParseFromString(session.request_bytes)
        assert len(request.encrypted_elements) == len(REQUESTER_KEYS)
        assert {len(e) for e in request.encrypted_elements} == {33}


class TestFreshKeys:
    """No key is reused across requests or sessions, and none is shown."""

    def test_two_requests_differ(self) -> None:
        """Two requests for the same elements share no encrypted element."""
        first = psi.Request()
        first.ParseFromString(start(REQUESTER_KEYS, reveal=True).request_bytes)
        second = psi.Request()
        second.ParseFromString(start(REQUESTER_KEYS, reveal=True).request_bytes)
        assert not set(first.encrypted_elements) & set(second.encrypted_elements)

    def test_two_setups_differ(self) -> None:
        """Two setups for the same responder set and the same request differ."""
        session = start(REQUESTER_KEYS, reveal=True)
        first = process(RESPONDER_KEYS, session.request_bytes, reveal=True)
        second = process(RESPONDER_KEYS, session.request_bytes, reveal=True)
        assert first.setup_bytes != second.setup_bytes
        assert first.setup_digest != second.setup_digest
        assert first.response_bytes != second.response_bytes

    def test_session_repr_hides_the_key(self) -> None:
        """A session's repr and attributes expose no client key."""
        session = start(["a"], reveal=True)
        assert "key" not in repr(session).lower()
        assert not any("key" in name for name in vars(session) if not name.startswith("_"))


class TestSetSizes:
    """The responder's set size is padded, and the client size comes from the request."""

    @pytest.mark.parametrize(
        ("n", "bucket"), [(0, 64), (1, 64), (64, 64), (65, 128), (1000, 1024), (1024, 1024)]
    )
    def test_bucket_size(self, n: int, bucket: int) -> None:
        """Sets are padded to the next power of two, at least 64."""
        assert bucket_size(n) == bucket

    def test_padding_hides_small_changes(self) -> None:
        """One responder record or sixty give the requester the same padded size."""
        session = start(["a"], reveal=True)
        one = process(["x"], session.request_bytes, reveal=True)
        sixty = process([f"x{i}" for i in range(60)], session.request_bytes, reveal=True)
        assert one.padded_set_size == sixty.padded_set_size == 64

    def test_dummies_are_distinct_and_never_keys(self) -> None:
        """Padding adds distinct random dummies that no match key can equal."""
        padded = padded_elements(["v1|phone|+254700000001", "v1|phone|+254700000001"])
        assert len(padded) == 64
        assert len(set(padded)) == 64
        assert all(p.startswith("\x00") for p in padded[1:])

    def test_client_size_comes_from_the_request(self) -> None:
        """The setup's hash range is derived from the number of elements actually sent."""
        for n in (3, 50):
            session = start([f"k{i}" for i in range(n)], reveal=True)
            result = process(["a"], session.request_bytes, reveal=True)
            setup = psi.ServerSetup()
            setup.ParseFromString(result.setup_bytes)
            assert result.elements_in_request == n
            assert setup.gcs.hash_range == int(max(n, 64) / (DEFAULT_FPR / n))

    @pytest.mark.parametrize("num_client", [40_000, 100_000, 1_000_000])
    def test_large_requests_keep_a_valid_setup(self, num_client: int) -> None:
        """Large requests against a small set break the library's GCS; ours stay valid."""
        server = psi.server.CreateWithNewKey(True)
        items = padded_elements(["v1|phone|+254700000001"])
        try:
            naive = server.CreateSetupMessage(DEFAULT_FPR, num_client, items, psi.DataStructure.GCS)
            broken = naive.gcs.hash_range <= 0 or not 0 < naive.gcs.div < 64
        except ValueError:
            broken = True
        assert broken
        fpr = effective_fpr(DEFAULT_FPR, num_client, len(items))
        fixed = server.CreateSetupMessage(fpr, num_client, items, psi.DataStructure.GCS)
        parse_setup(fixed.SerializeToString())
        assert fpr < 1e-4

    def test_normal_sizes_keep_the_requested_rate(self) -> None:
        """Ordinary sizes use the configured false-positive rate unchanged."""
        assert effective_fpr(DEFAULT_FPR, 1000, 1024) == DEFAULT_FPR
        assert effective_fpr(DEFAULT_FPR, 10_000, 16_384) == DEFAULT_FPR
