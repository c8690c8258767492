"""One peer flooding a node cannot starve another peer's lookups or the health service."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from spoor.federation.v1 import federation_pb2 as pb
from spoor.federation.v1 import federation_pb2_grpc as pb_grpc

from node import audit, store
from node.app.config import load_config
from node.app.home import NodeHome
from node.match.responder import PROTOCOL_VERSION
from node.psi import PSI_PROTOCOL_VERSION
from node.psi import client as psi_client
from node.psi.messages import POINT_LENGTH
from node.records.keys import KEY_SCHEME_VERSION
from node.rpc.client import PeerCallFailed
from node.rpc.quotas import PeerBusy, PeerQuotas, QuotaLimits
from node.rpc.server import RunningNode, build_node
from tests.conftest import install_test_policy, responder_with_peer, spoor
from tests.lookup.test_local_api import Nodes, small_setups
from tests.rpc.test_server import HELD, client_for, raw_channel

FLOOD_CALLS = 12


def match_request(elements: list[str]) -> pb.MatchRequest:
    session = psi_client.start(elements, reveal=True)
    return pb.MatchRequest(
        protocol_version=PROTOCOL_VERSION,
        key_scheme_version=KEY_SCHEME_VERSION,
        psi_protocol_version=PSI_PROTOCOL_VERSION,
        purpose="criminal_investigation",
        legal_basis="CITES-Art-VIII",
        case_reference="C-1",
        requesting_officer="o",
        reveal_mode=pb.REVEAL_MODE_INTERSECTION,
        psi_request=session.request_bytes,
        request_id=str(uuid.uuid4()),
    )


def quota_audit(home: Path) -> list[dict[str, Any]]:
    conn = store.connect(home / "node.db")
    try:
        assert audit.verify(conn).ok
        rows = conn.execute(
            "SELECT counterpart, status, details FROM audit_entries "
            "WHERE event = 'quota.refused' ORDER BY seq"
        ).fetchall()
    finally:
        conn.close()
    return [
        {"counterpart": r["counterpart"], "status": r["status"], **json.loads(r["details"])}
        for r in rows
    ]


def charged(home: Path, peer: str) -> int:
    """Elements charged to ``peer`` by the matches it was served (match.served entries)."""
    conn = store.connect(home / "node.db")
    try:
        rows = conn.execute(
            "SELECT elements FROM audit_entries WHERE event = 'match.served' AND counterpart = ?",
            (peer,),
        ).fetchall()
    finally:
        conn.close()
    return sum(int(r["elements"] or 0) for r in rows)


class TestQuotaBookkeeping:
    def test_a_peer_over_its_call_share_is_refused_and_others_are_not(self) -> None:
        """The third concurrent call of one peer is refused; another peer still gets in."""
        quotas = PeerQuotas(QuotaLimits(calls_per_peer=2, elements_per_peer=99, federation_calls=6))
        with quotas.admit("vn", 1), quotas.admit("vn", 1):
            with pytest.raises(PeerBusy, match="2 calls already in flight"), quotas.admit("vn", 1):
                pass
            with quotas.admit("mz", 1):
                assert quotas.in_flight("mz") == (1, 1)
        assert quotas.in_flight("vn") == (0, 0)

    def test_elements_in_flight_are_bounded_per_peer(self) -> None:
        """A second call that would take a peer past its elements in flight is refused."""
        quotas = PeerQuotas(QuotaLimits(calls_per_peer=4, elements_per_peer=99, federation_calls=6))
        # One call alone is always admitted; a second one past the elements share is not.
        with (
            quotas.admit("vn", 150),
            pytest.raises(PeerBusy, match="elements"),
            quotas.admit("vn", 1),
        ):
            pass

    def test_threads_are_kept_back_for_health(self) -> None:
        """All peers together get fewer calls than the server has handler threads."""
        limits = QuotaLimits.for_server(8, calls_per_peer=2, elements_per_peer=10)
        assert limits.federation_calls == 6


@pytest.fixture
def agencies(tmp_path: Path) -> dict[str, Path]:
    homes = responder_with_peer(tmp_path, HELD, others=(("mz-pgr", "MZ"),))
    ke, mz = homes["ke-kws"], homes["mz-pgr"]
    spoor("peers", "add", "--home", str(ke), "mz-pgr", "--address", "127.0.0.1:9",
          "--ca", str(mz / "keys" / "ca.crt"))  # fmt: skip
    install_test_policy(ke, "ke-kws", ["vn-customs", "mz-pgr"])
    return homes


@pytest.fixture
def server(agencies: dict[str, Path]) -> Iterator[RunningNode]:
    home = NodeHome(agencies["ke-kws"])
    node = build_node(home, load_config(home), listen="127.0.0.1:0")
    yield node
    node.stop()


class TestFloodFromOnePeer:
    def test_another_peer_and_health_keep_succeeding(
        self, agencies: dict[str, Path], server: RunningNode
    ) -> None:
        """While vn-customs floods, mz-pgr's lookups and every health probe succeed; the
        refused calls are audited per peer and share with their elements, never one entry
        per call, and none is charged."""
        big = [f"v{KEY_SCHEME_VERSION}|phone|+2547{i:08d}" for i in range(3000)]
        flood_requests = [match_request(big) for _ in range(FLOOD_CALLS)]
        flood_codes: list[str] = []
        lookups_ok = health_ok = 0
        with (
            client_for(agencies, "vn-customs", server.port) as vn,
            client_for(agencies, "mz-pgr", server.port) as mz,
        ):

            def flood(request: pb.MatchRequest) -> None:
                try:
                    vn.match(request, timeout=120)
                    flood_codes.append("OK")
                except PeerCallFailed as exc:
                    flood_codes.append(exc.code)

            keys = agencies["mz-pgr"] / "keys"
            ke_ca = agencies["ke-kws"] / "keys" / "ca.crt"
            with (
                ThreadPoolExecutor(FLOOD_CALLS) as pool,
                raw_channel(ke_ca, keys / "node.key", keys / "node.crt", server.port) as ch,
            ):
                futures = [pool.submit(flood, r) for r in flood_requests]
                health = health_pb2_grpc.HealthStub(ch)
                for _ in range(5):
                    reply = health.Check(health_pb2.HealthCheckRequest(), timeout=10)
                    assert reply.status == health_pb2.HealthCheckResponse.SERVING
                    health_ok += 1
                    assert mz.describe().agency_id == "ke-kws"
                    answer = mz.match(
                        match_request([f"v{KEY_SCHEME_VERSION}|container|MSCU1234566"]), timeout=60
                    )
                    assert answer.elements_charged == 1
                    lookups_ok += 1
                for future in futures:
                    future.result(timeout=120)
        assert (health_ok, lookups_ok) == (5, 5)
        # The flood got its fair share and no more: the rest was refused at once.
        assert "RESOURCE_EXHAUSTED" in flood_codes
        assert 1 <= flood_codes.count("OK") < FLOOD_CALLS

        server.stop()  # writes the counts still pending in the window
        refused = flood_codes.count("RESOURCE_EXHAUSTED")
        entries = quota_audit(agencies["ke-kws"])
        assert {e["counterpart"] for e in entries} == {"vn-customs"}
        # At most two entries per share (the first at once, the rest counted): bounded.
        assert 1 <= len(entries) <= 2 * len({e["reason"] for e in entries}) < refused
        assert sum(e["failures"] for e in entries) == refused
        # The elements each refused call carried: its size in points, as admission counts them.
        per_call = {len(r.psi_request) // POINT_LENGTH for r in flood_requests}
        assert len(per_call) == 1
        assert per_call.pop() >= len(big)
        assert sum(e["elements"] for e in entries) == refused * (
            len(flood_requests[0].psi_request) // POINT_LENGTH
        )
        assert {e["charged"] for e in entries} == {0}
        assert {e["status"] for e in entries} == {"RESOURCE_EXHAUSTED"}
        assert charged(agencies["ke-kws"], "vn-customs") == flood_codes.count("OK") * len(big)


@pytest.fixture
def asker(tmp_path: Path) -> Iterator[Nodes]:
    """vn-customs asks ke-kws through its local lookup API, and itself serves ke-kws."""
    homes = responder_with_peer(tmp_path, HELD)
    for home in homes.values():
        small_setups(home)
    install_test_policy(homes["vn-customs"], "vn-customs", ["ke-kws"])
    ke_home = NodeHome(homes["ke-kws"])
    ke = build_node(ke_home, load_config(ke_home), listen="127.0.0.1:0")
    try:
        spoor("peers", "add", "--home", str(homes["vn-customs"]), "ke-kws",
              "--address", f"127.0.0.1:{ke.port}", "--ca", str(ke_home.ca_cert_path))  # fmt: skip
        vn_home = NodeHome(homes["vn-customs"])
        vn = build_node(vn_home, load_config(vn_home), listen="127.0.0.1:0")
        try:
            yield Nodes(homes, ke, vn)
        finally:
            vn.stop()
    finally:
        ke.stop()


class TestFloodAgainstTheAsker:
    def test_the_local_lookup_api_keeps_answering_while_a_peer_floods_the_node(
        self, asker: Nodes
    ) -> None:
        """ke-kws floods vn-customs's federation port; vn-customs's own officers' lookups
        through the local API keep answering with their hits."""
        held = asker.keys_of("KE-S-0")
        assert asker.ask_until_ready(held).peers[0].error == ""
        big = [f"v{KEY_SCHEME_VERSION}|phone|+2547{i:08d}" for i in range(3000)]
        flood_requests = [match_request(big) for _ in range(FLOOD_CALLS)]
        flood_codes: list[grpc.StatusCode] = []
        ke_keys = asker.homes["ke-kws"] / "keys"
        vn_ca = asker.homes["vn-customs"] / "keys" / "ca.crt"
        answers = []
        with raw_channel(vn_ca, ke_keys / "node.key", ke_keys / "node.crt", asker.vn.port) as ch:
            stub = pb_grpc.FederationServiceStub(ch)

            def flood(request: pb.MatchRequest) -> None:
                try:
                    stub.Match(request, timeout=120)
                    flood_codes.append(grpc.StatusCode.OK)
                except grpc.RpcError as err:
                    flood_codes.append(err.code())

            with ThreadPoolExecutor(FLOOD_CALLS) as pool:
                futures = [pool.submit(flood, r) for r in flood_requests]
                for _ in range(3):
                    answers.append(asker.ask(held))
                for future in futures:
                    future.result(timeout=120)
        for answer in answers:
            (peer,) = answer.peers
            assert peer.error == ""
            assert list(peer.hits) == list(range(len(held)))
        assert grpc.StatusCode.RESOURCE_EXHAUSTED in flood_codes
        assert grpc.StatusCode.OK in flood_codes
