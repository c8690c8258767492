"""The ops port of a real node on 127.0.0.1: health, readiness, Prometheus metrics."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families
from spoor.federation.v1 import federation_pb2 as pb

from node import store
from node.app.config import load_config
from node.app.home import NodeHome
from node.app.node import RunningNode
from node.match.responder import PROTOCOL_VERSION
from node.ops.server import ENV_OPS_LISTEN, ops_address, split_address
from node.psi import PSI_PROTOCOL_VERSION
from node.psi import client as psi_client
from node.records.keys import KEY_SCHEME_VERSION
from node.rpc.client import PeerCallFailed
from node.rpc.server import build_node
from node.store import audit as audit_repo
from node.store.timecodec import format_ts
from tests.conftest import responder_with_peer
from tests.rpc.test_server import client_for

HELD: list[dict[str, object]] = [
    {"record_id": "KE-S-7", "kind": "shipment", "containers": ["MSCU1234566"],
     "review_date": "2031-01-01"},
]  # fmt: skip


@pytest.fixture
def agencies(tmp_path: Path) -> dict[str, Path]:
    return responder_with_peer(tmp_path, HELD)


@pytest.fixture
def node(agencies: dict[str, Path]) -> Iterator[RunningNode]:
    home = NodeHome(agencies["ke-kws"])
    running = build_node(home, load_config(home), listen="127.0.0.1:0", ops_listen="127.0.0.1:0")
    yield running
    running.stop()


def get(port: int | None, path: str) -> tuple[int, bytes]:
    assert port is not None
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=10) as resp:
            return resp.status, resp.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def samples(text: bytes) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    out = {}
    for family in text_string_to_metric_families(text.decode()):
        for s in family.samples:
            out[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return out


def families(text: bytes) -> set[str]:
    return {f.name for f in text_string_to_metric_families(text.decode())}


def match_request(elements: list[str]) -> pb.MatchRequest:
    return pb.MatchRequest(
        protocol_version=PROTOCOL_VERSION,
        key_scheme_version=KEY_SCHEME_VERSION,
        psi_protocol_version=PSI_PROTOCOL_VERSION,
        purpose="criminal_investigation",
        legal_basis="CITES-Art-VIII",
        case_reference="CASE-OPS-1",
        requesting_officer="o",
        reveal_mode=pb.REVEAL_MODE_INTERSECTION,
        psi_request=psi_client.start(elements, reveal=True).request_bytes,
        request_id=str(uuid.uuid4()),
    )


class TestHealthAndReadiness:
    def test_healthz_answers_while_the_process_runs(self, node: RunningNode) -> None:
        """/healthz is 200 with no certificate at all."""
        assert get(node.ops_port, "/healthz") == (200, b"ok\n")

    def test_readyz_names_store_policy_and_grpc(self, node: RunningNode) -> None:
        """/readyz is 200 and lists the store, the loaded policy's digest and gRPC serving."""
        code, body = get(node.ops_port, "/readyz")
        report = json.loads(body)
        assert code == 200
        assert report["ready"] is True
        assert report["agency_id"] == "ke-kws"
        checks = {c["name"]: c for c in report["checks"]}
        assert set(checks) == {"store", "policy", "grpc"}
        assert checks["policy"]["detail"] == node.policies.current().digest
        assert checks["grpc"]["detail"] == "serving"

    def test_readyz_turns_unready_when_draining(self, node: RunningNode) -> None:
        """Once the gRPC server drains, /readyz answers 503 so traffic moves elsewhere."""
        node.server.drain(0)
        code, body = get(node.ops_port, "/readyz")
        assert code == 503
        assert json.loads(body)["ready"] is False

    def test_unknown_paths_are_not_found(self, node: RunningNode) -> None:
        """Anything but the three paths is a 404 naming them."""
        code, body = get(node.ops_port, "/records")
        assert code == 404
        assert b"/metrics" in body

    def test_stop_closes_the_ops_port(self, agencies: dict[str, Path]) -> None:
        """After the node stops, nothing answers on its ops port."""
        home = NodeHome(agencies["ke-kws"])
        running = build_node(home, load_config(home), listen="127.0.0.1:0")
        port = running.ops_port
        assert get(port, "/healthz")[0] == 200
        running.stop()
        with pytest.raises(urllib.error.URLError):
            get(port, "/healthz")


class TestMetrics:
    def test_rpcs_counted_by_method_peer_and_code(
        self, agencies: dict[str, Path], node: RunningNode
    ) -> None:
        """A Describe from vn-customs shows up under its method, the peer id and OK."""
        with client_for(agencies, "vn-customs", node.port) as client:
            client.describe()
            client.describe()
        got = samples(get(node.ops_port, "/metrics")[1])
        key = (("code", "OK"), ("method", "Describe"), ("peer", "vn-customs"))
        assert got[("spoor_rpc_total", key)] == 2
        assert got[("spoor_rpc_duration_seconds_count", (("method", "Describe"),))] == 2

    def test_refused_rpc_counted_with_its_code(
        self, agencies: dict[str, Path], node: RunningNode
    ) -> None:
        """A refused Match is counted with its gRPC status, not as OK."""
        bad = match_request(["v1|container|MSCU1234566"])
        bad.purpose = "curiosity"
        with client_for(agencies, "vn-customs", node.port) as client, pytest.raises(PeerCallFailed):
            client.match(bad, timeout=60)
        got = samples(get(node.ops_port, "/metrics")[1])
        refused = [
            dict(labels)["code"]
            for (name, labels), value in got.items()
            if name == "spoor_rpc_total" and dict(labels)["method"] == "Match" and value
        ]
        assert refused
        assert "OK" not in refused

    def test_budget_use_after_a_match_and_no_record_contents(
        self, agencies: dict[str, Path], node: RunningNode
    ) -> None:
        """A match charges vn-customs's budget gauge; no element, case or request id appears."""
        request = match_request(["v1|container|MSCU1234566", "v1|container|TGHU7654321"])
        with client_for(agencies, "vn-customs", node.port) as client:
            client.match(request, timeout=60)
        text = get(node.ops_port, "/metrics")[1]
        got = samples(text)
        assert got[("spoor_budget_used_elements", (("peer", "vn-customs"),))] == 2
        assert 0 < got[("spoor_budget_used_ratio", (("peer", "vn-customs"),))] < 1
        for secret in ("MSCU1234566", "KE-S-7", "CASE-OPS-1", request.request_id):
            assert secret.encode() not in text

    def test_state_gauges_present(self, node: RunningNode) -> None:
        """PSI pool, audit head, setup-cache and the declared witness families are exported."""
        text = get(node.ops_port, "/metrics")[1]
        got = samples(text)
        assert got[("spoor_psi_workers", ())] == 1
        assert got[("spoor_psi_queue_waiting", ())] == 0
        assert got[("spoor_audit_head_seq", ())] > 0
        assert {
            "spoor_setup_cache_entries",
            "spoor_setup_cache_bytes",
            "spoor_audit_witness_age_seconds",
            "spoor_tickets_overdue",
        } <= families(text)

    def test_witness_age_follows_the_newest_countersignature(
        self, node: RunningNode, agencies: dict[str, Path]
    ) -> None:
        """Each witness that countersigned has an age; the newest countersignature counts."""
        text = get(node.ops_port, "/metrics")[1]
        assert not [k for k in samples(text) if k[0] == "spoor_audit_witness_age_seconds"]
        an_hour_ago = datetime.now(UTC) - timedelta(hours=1)
        with store.opened(NodeHome(agencies["ke-kws"]).db_path) as conn, store.transaction(conn):
            for at in (an_hour_ago - timedelta(days=1), an_hour_ago):
                audit_repo.add_cosignature(
                    conn, ("vn-customs", 3, "ab" * 32, "key", "sig", format_ts(at))
                )
        got = samples(get(node.ops_port, "/metrics")[1])
        age = got[("spoor_audit_witness_age_seconds", (("witness", "vn-customs"),))]
        assert 3600 <= age < 3600 + 600


class TestOpsAddress:
    def test_environment_overrides_the_config(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """$SPOOR_OPS_LISTEN wins over [ops] listen, so a pod can bind 0.0.0.0."""
        monkeypatch.setenv(ENV_OPS_LISTEN, "0.0.0.0:9464")
        assert ops_address("127.0.0.1:9464") == "0.0.0.0:9464"
        monkeypatch.delenv(ENV_OPS_LISTEN)
        assert ops_address("127.0.0.1:9464") == "127.0.0.1:9464"

    def test_default_is_loopback_9464(self, agencies: dict[str, Path]) -> None:
        """A new home's ops port listens on 127.0.0.1:9464 unless told otherwise."""
        assert load_config(NodeHome(agencies["ke-kws"])).ops.listen == "127.0.0.1:9464"

    def test_bad_address_is_refused_clearly(self) -> None:
        """An address without a port says what form it wants."""
        with pytest.raises(ValueError, match="HOST:PORT"):
            split_address("localhost")
        assert split_address("[::1]:9464") == ("::1", 9464)

    def test_port_taken_refuses_to_start_and_releases_everything(
        self, agencies: dict[str, Path], node: RunningNode
    ) -> None:
        """A second node (another home) on a busy ops port fails with the address named."""
        home = NodeHome(agencies["vn-customs"])
        with pytest.raises(OSError, match="ops port"):
            build_node(
                home,
                load_config(home),
                listen="127.0.0.1:0",
                ops_listen=f"127.0.0.1:{node.ops_port}",
            )


class TestSetupCacheMetrics:
    def test_held_setups_exported_per_counterpart(self, node: RunningNode) -> None:
        """The held-setup cache is exported as views and bytes per counterpart, nothing more."""
        assert node.ops is not None
        metrics = node.ops.metrics
        metrics.watch_setups(lambda: {"vn-customs": (2, 4096)})
        got = samples(get(node.ops_port, "/metrics")[1])
        assert got[("spoor_setup_cache_entries", (("peer", "vn-customs"),))] == 2
        assert got[("spoor_setup_cache_bytes", (("peer", "vn-customs"),))] == 4096
