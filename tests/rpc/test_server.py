"""Real gRPC servers on 127.0.0.1: mutual TLS accept and reject, health, limits, reflection."""

from __future__ import annotations

import shutil
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc
from spoor.federation.v1 import federation_pb2 as pb
from spoor.federation.v1 import federation_pb2_grpc as pb_grpc

from node import pki, store
from node.app.config import load_config
from node.app.home import NodeHome
from node.app.node import RunningNode
from node.match.responder import PROTOCOL_VERSION
from node.peers import get as get_peer
from node.psi import PSI_PROTOCOL_VERSION
from node.psi import client as psi_client
from node.records.keys import KEY_SCHEME_VERSION
from node.rpc.client import PeerCallFailed, PeerClient
from node.rpc.server import build_node
from tests.conftest import responder_with_peer, spoor

HELD = [
    {"record_id": f"KE-S-{i}", "kind": "shipment", "containers": [c], "review_date": "2031-01-01"}
    for i, c in enumerate(["MSCU1234566", "TGHU7654321"])
]


@pytest.fixture
def agencies(tmp_path: Path) -> dict[str, Path]:
    """ke-kws serves; vn-customs is its peer; rogue-ca is an agency ke-kws never pinned."""
    return responder_with_peer(tmp_path, HELD, others=(("zz-rogue", "ZA"),))


@pytest.fixture
def server(agencies: dict[str, Path]) -> Iterator[RunningNode]:
    home = NodeHome(agencies["ke-kws"])
    node = build_node(home, load_config(home), listen="127.0.0.1:0")
    yield node
    node.stop()


def client_for(agencies: dict[str, Path], caller: str, port: int) -> PeerClient:
    """A PeerClient from ``caller`` to ke-kws, pinning ke-kws's CA."""
    ke_home = NodeHome(agencies["ke-kws"])
    caller_home = NodeHome(agencies[caller])
    spoor(
        "peers",
        "add",
        "--home",
        str(caller_home.root),
        "ke-kws",
        "--address",
        f"127.0.0.1:{port}",
        "--ca",
        str(ke_home.ca_cert_path),
    )
    conn = store.connect(caller_home.db_path)
    peer = get_peer(conn, "ke-kws")
    conn.close()
    return PeerClient(caller_home, load_config(caller_home), peer)


def raw_channel(ca: Path, key: Path | None, cert: Path | None, port: int) -> grpc.Channel:
    creds = grpc.ssl_channel_credentials(
        root_certificates=ca.read_bytes(),
        private_key=key.read_bytes() if key else None,
        certificate_chain=cert.read_bytes() if cert else None,
    )
    return grpc.secure_channel(f"127.0.0.1:{port}", creds)


def describe_status(ca: Path, key: Path | None, cert: Path | None, port: int) -> grpc.StatusCode:
    """The status a Describe call gets when made with this client certificate (or none)."""
    with raw_channel(ca, key, cert, port) as channel:
        try:
            pb_grpc.FederationServiceStub(channel).Describe(pb.DescribeRequest(), timeout=5)
        except grpc.RpcError as err:
            return err.code()  # type: ignore[no-any-return]
    return grpc.StatusCode.OK


def issue_from(ca_dir: Path, agency: str, out: Path) -> tuple[Path, Path]:
    """A node certificate for ``agency`` from the CA in ``ca_dir``, written under ``out``."""
    key, cert = pki.issue_node_certificate(
        (ca_dir / "ca.key").read_bytes(), (ca_dir / "ca.crt").read_bytes(), agency
    )
    (out / f"{agency}.key").write_bytes(key)
    (out / f"{agency}.crt").write_bytes(cert)
    return out / f"{agency}.key", out / f"{agency}.crt"


class TestMutualTls:
    def test_configured_peer_is_accepted(
        self, agencies: dict[str, Path], server: RunningNode
    ) -> None:
        """A peer whose certificate chains to the CA pinned for its agency gets an answer."""
        with client_for(agencies, "vn-customs", server.port) as client:
            described = client.describe()
        assert described.agency_id == "ke-kws"

    def test_no_client_certificate_fails_the_handshake(
        self, agencies: dict[str, Path], server: RunningNode
    ) -> None:
        """Without a client certificate the TLS handshake fails: UNAVAILABLE."""
        ke_ca = agencies["ke-kws"] / "keys" / "ca.crt"
        assert describe_status(ke_ca, None, None, server.port) == grpc.StatusCode.UNAVAILABLE

    def test_certificate_from_unpinned_ca_fails_the_handshake(
        self, agencies: dict[str, Path], server: RunningNode
    ) -> None:
        """A certificate from a CA the node never pinned is refused at the handshake."""
        rogue = agencies["zz-rogue"] / "keys"
        ke_ca = agencies["ke-kws"] / "keys" / "ca.crt"
        status = describe_status(ke_ca, rogue / "node.key", rogue / "node.crt", server.port)
        assert status == grpc.StatusCode.UNAVAILABLE

    def test_agency_not_a_peer_is_permission_denied(
        self, agencies: dict[str, Path], server: RunningNode, tmp_path: Path
    ) -> None:
        """A pinned CA's certificate naming an agency that is not a peer: PERMISSION_DENIED."""
        key, cert = issue_from(agencies["vn-customs"] / "keys", "vn-other", tmp_path)
        ke_ca = agencies["ke-kws"] / "keys" / "ca.crt"
        status = describe_status(ke_ca, key, cert, server.port)
        assert status == grpc.StatusCode.PERMISSION_DENIED

    def test_agency_signed_by_another_peers_ca_is_permission_denied(
        self, agencies: dict[str, Path], server: RunningNode, tmp_path: Path
    ) -> None:
        """One peer's CA cannot vouch for another agency: the pin is per agency."""
        # Make zz-rogue a peer too, then let its CA issue a certificate claiming vn-customs.
        spoor(
            "peers",
            "add",
            "--home",
            str(agencies["ke-kws"]),
            "zz-rogue",
            "--address",
            "127.0.0.1:9",
            "--ca",
            str(agencies["zz-rogue"] / "keys" / "ca.crt"),
        )
        key, cert = issue_from(agencies["zz-rogue"] / "keys", "vn-customs", tmp_path)
        ke_ca = agencies["ke-kws"] / "keys" / "ca.crt"
        status = describe_status(ke_ca, key, cert, server.port)
        assert status == grpc.StatusCode.PERMISSION_DENIED

    def test_removed_peer_is_refused_without_restart(
        self, agencies: dict[str, Path], server: RunningNode
    ) -> None:
        """After 'spoor peers remove' the next call from that agency is refused."""
        with client_for(agencies, "vn-customs", server.port) as client:
            client.describe()
            spoor("peers", "remove", "--home", str(agencies["ke-kws"]), "vn-customs")
            with pytest.raises(PeerCallFailed) as info:
                client.describe()
        assert info.value.code == "PERMISSION_DENIED"

    def test_revoked_certificate_is_refused(
        self, agencies: dict[str, Path], server: RunningNode
    ) -> None:
        """A certificate on the CRL installed for the peer is refused on the next call."""
        vn = NodeHome(agencies["vn-customs"])
        serial = pki.serial_hex(vn.node_cert_path.read_bytes())
        spoor("pki", "revoke", "--home", str(vn.root), serial)
        with client_for(agencies, "vn-customs", server.port) as client:
            client.describe()
            spoor(
                "peers",
                "add",
                "--home",
                str(agencies["ke-kws"]),
                "vn-customs",
                "--address",
                "127.0.0.1:9",
                "--ca",
                str(vn.ca_cert_path),
                "--crl",
                str(vn.keys_dir / "crl.pem"),
            )
            with pytest.raises(PeerCallFailed) as info:
                client.describe()
        assert info.value.code == "PERMISSION_DENIED"


class TestServerBehaviour:
    def test_health_is_serving(self, agencies: dict[str, Path], server: RunningNode) -> None:
        """The health service reports SERVING for the node and for FederationService."""
        keys = agencies["vn-customs"] / "keys"
        spoor(
            "peers",
            "add",
            "--home",
            str(agencies["vn-customs"]),
            "ke-kws",
            "--address",
            f"127.0.0.1:{server.port}",
            "--ca",
            str(agencies["ke-kws"] / "keys" / "ca.crt"),
        )
        ke_ca = agencies["ke-kws"] / "keys" / "ca.crt"
        with raw_channel(ke_ca, keys / "node.key", keys / "node.crt", server.port) as channel:
            stub = health_pb2_grpc.HealthStub(channel)
            for service in ("", "spoor.federation.v1.FederationService"):
                reply = stub.Check(health_pb2.HealthCheckRequest(service=service), timeout=5)
                assert reply.status == health_pb2.HealthCheckResponse.SERVING

    def test_reflection_is_off_by_default(
        self, agencies: dict[str, Path], server: RunningNode
    ) -> None:
        """Reflection answers UNIMPLEMENTED unless enabled."""
        keys = agencies["vn-customs"] / "keys"
        ke_ca = agencies["ke-kws"] / "keys" / "ca.crt"
        with raw_channel(ke_ca, keys / "node.key", keys / "node.crt", server.port) as channel:
            stub = reflection_pb2_grpc.ServerReflectionStub(channel)
            request = reflection_pb2.ServerReflectionRequest(list_services="")
            with pytest.raises(grpc.RpcError) as info:
                list(stub.ServerReflectionInfo(iter([request]), timeout=5))
        assert info.value.code() == grpc.StatusCode.UNIMPLEMENTED

    def test_reflection_when_enabled(self, agencies: dict[str, Path]) -> None:
        """With reflection on, the service list includes FederationService."""
        home = NodeHome(agencies["ke-kws"])
        node = build_node(home, load_config(home), listen="127.0.0.1:0", reflection_on=True)
        try:
            keys = agencies["vn-customs"] / "keys"
            with raw_channel(
                home.ca_cert_path, keys / "node.key", keys / "node.crt", node.port
            ) as ch:
                stub = reflection_pb2_grpc.ServerReflectionStub(ch)
                request = reflection_pb2.ServerReflectionRequest(list_services="")
                replies = list(stub.ServerReflectionInfo(iter([request]), timeout=5))
        finally:
            node.stop()
        names = {s.name for s in replies[0].list_services_response.service}
        assert "spoor.federation.v1.FederationService" in names

    def test_second_node_cannot_share_the_port(
        self, agencies: dict[str, Path], server: RunningNode
    ) -> None:
        """so_reuseport is off: binding a second node to the same port fails loudly."""
        # Another home: a second process on ke-kws's own home is refused earlier, by its lock.
        home = NodeHome(agencies["vn-customs"])
        with pytest.raises(OSError, match="could not listen"):
            build_node(home, load_config(home), listen=f"127.0.0.1:{server.port}")

    def test_message_size_limit_applies(self, agencies: dict[str, Path]) -> None:
        """A request larger than the configured limit is refused with RESOURCE_EXHAUSTED."""
        home = NodeHome(agencies["ke-kws"])
        config = load_config(home)
        config.limits.max_elements_per_request = 10
        config.limits.max_responder_elements = 100
        node = build_node(home, config, listen="127.0.0.1:0")
        try:
            with client_for(agencies, "vn-customs", node.port) as client:
                huge = pb.MatchRequest(psi_request=b"x" * (config.max_message_bytes + 1024))
                with pytest.raises(PeerCallFailed) as info:
                    client.match(huge)
        finally:
            node.stop()
        assert info.value.code == "RESOURCE_EXHAUSTED"

    def test_health_answers_while_a_large_match_runs(
        self, agencies: dict[str, Path], server: RunningNode
    ) -> None:
        """PSI runs outside gRPC threads: health checks complete while a big match runs."""
        elements = [f"v1|phone|+2547{i:08d}" for i in range(15_000)]
        session = psi_client.start(elements, reveal=True)
        request = pb.MatchRequest(
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
        done = threading.Event()
        outcome: dict[str, object] = {}
        with client_for(agencies, "vn-customs", server.port) as client:

            def run() -> None:
                try:
                    outcome["response"] = client.match(request, timeout=120)
                except PeerCallFailed as exc:
                    outcome["error"] = exc
                finally:
                    done.set()

            worker = threading.Thread(target=run)
            worker.start()
            keys = agencies["vn-customs"] / "keys"
            ke_ca = agencies["ke-kws"] / "keys" / "ca.crt"
            answered_during_match = 0
            with raw_channel(ke_ca, keys / "node.key", keys / "node.crt", server.port) as ch:
                stub = health_pb2_grpc.HealthStub(ch)
                while not done.is_set():
                    reply = stub.Check(health_pb2.HealthCheckRequest(), timeout=10)
                    assert reply.status == health_pb2.HealthCheckResponse.SERVING
                    if not done.is_set():
                        answered_during_match += 1
            worker.join()
        assert "error" not in outcome, outcome.get("error")
        assert answered_during_match >= 3


class TestPlaintextAndPolicyReload:
    def test_insecure_mode_is_explicit_and_logged(self, agencies: dict[str, Path]) -> None:
        """--insecure serves plaintext, warns in the log, and still refuses non-peers."""
        from structlog.testing import capture_logs

        home = NodeHome(agencies["ke-kws"])
        with capture_logs() as logs:
            node = build_node(home, load_config(home), listen="127.0.0.1:0", insecure=True)
        try:
            assert any(e["log_level"] == "warning" and "PLAINTEXT" in e["event"] for e in logs)
            with grpc.insecure_channel(f"127.0.0.1:{node.port}") as channel:
                stub = pb_grpc.FederationServiceStub(channel)
                reply = stub.Describe(
                    pb.DescribeRequest(), timeout=5, metadata=(("x-spoor-agency", "vn-customs"),)
                )
                assert reply.agency_id == "ke-kws"
                with pytest.raises(grpc.RpcError) as info:
                    stub.Describe(
                        pb.DescribeRequest(), timeout=5, metadata=(("x-spoor-agency", "zz-rogue"),)
                    )
                assert info.value.code() == grpc.StatusCode.PERMISSION_DENIED
        finally:
            node.stop()

    def test_tls_is_the_default(self, agencies: dict[str, Path], server: RunningNode) -> None:
        """Without --insecure a plaintext client cannot talk to the node at all."""
        with (
            grpc.insecure_channel(f"127.0.0.1:{server.port}") as channel,
            pytest.raises(grpc.RpcError) as info,
        ):
            pb_grpc.FederationServiceStub(channel).Describe(
                pb.DescribeRequest(), timeout=5, metadata=(("x-spoor-agency", "vn-customs"),)
            )
        assert info.value.code() == grpc.StatusCode.UNAVAILABLE

    def test_invalid_policy_edit_keeps_last_good_policy(
        self, agencies: dict[str, Path], server: RunningNode
    ) -> None:
        """A broken edit is rejected and audited; a clean edit takes effect (Describe digest)."""
        with client_for(agencies, "vn-customs", server.port) as client:
            before = client.describe().policy_digest
            policy_file = agencies["ke-kws"] / "policy" / "agency.yaml"
            good_text = policy_file.read_text()
            policy_file.write_text(good_text.replace("participation:", "participaton:"))
            assert server.policies.maybe_reload() is False
            assert client.describe().policy_digest == before
            policy_file.write_text(good_text.replace("Test agency", "Test agency (edited)"))
            assert server.policies.maybe_reload() is True
            after = client.describe().policy_digest
        assert after != before
        conn = store.connect(agencies["ke-kws"] / "node.db")
        events = [
            r[0]
            for r in conn.execute(
                "SELECT event FROM audit_entries WHERE event LIKE 'policy.%' ORDER BY seq"
            )
        ]
        conn.close()
        assert events[-2:] == ["policy.rejected", "policy.loaded"]

    def test_invalid_policy_at_start_up_is_fatal(self, agencies: dict[str, Path]) -> None:
        """A node whose policy does not check clean refuses to start."""
        import policy as policy_lang

        home = NodeHome(agencies["ke-kws"])
        (home.policy_dir / "agency.yaml").write_text("spoor_policy: 1\nbogus: true\n")
        with pytest.raises(policy_lang.PolicyError):
            build_node(home, load_config(home), listen="127.0.0.1:0")


class TestLogs:
    def test_one_summary_line_per_rpc_without_contents(
        self, agencies: dict[str, Path], server: RunningNode
    ) -> None:
        """Each RPC logs method, peer, status, duration and sizes — never keys or PSI bytes."""
        from structlog.testing import capture_logs

        elements = ["v1|container|MSCU1234566", "v1|phone|+254700000001"]
        session = psi_client.start(elements, reveal=True)
        request = pb.MatchRequest(
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
        with client_for(agencies, "vn-customs", server.port) as client, capture_logs() as logs:
            client.match(request)
        summaries = [e for e in logs if e["event"] == "rpc" and e.get("method") == "Match"]
        assert len(summaries) == 1
        line = summaries[0]
        assert line["peer_agency"] == "vn-customs"
        assert line["status"] == "OK"
        assert line["elements"] == 2
        assert isinstance(line["duration_ms"], float)
        text = repr(logs)
        for secret in ("MSCU1234566", "+254700000001"):
            assert secret not in text
        assert not any(isinstance(v, bytes) for e in logs for v in e.values())


class TestRetention:
    def test_background_purges_old_personal_audit_content(self, agencies: dict[str, Path]) -> None:
        """The serving node purges audit personal content past retention; the chain verifies."""
        from datetime import UTC, datetime, timedelta

        from node import audit
        from node.audit.chain import append_entry

        home = NodeHome(agencies["ke-kws"])
        conn = store.connect(home.db_path)
        with store.transaction(conn):
            old = append_entry(
                conn,
                "match.served",
                {"counterpart": "vn-customs", "officer": "Insp. Old", "status": "OK"},
                now=datetime.now(UTC) - timedelta(days=10),
            )
        config = load_config(home)
        config.audit.retention_days = 5
        node = build_node(home, config, listen="127.0.0.1:0")
        try:
            node.start_background(home, config, interval_s=0.05, retention_every_s=0)
            deadline = time.monotonic() + 30
            while conn.execute(
                "SELECT COUNT(*) FROM audit_personal WHERE seq = ?", (old.seq,)
            ).fetchone()[0]:
                assert time.monotonic() < deadline, "the old personal content was never purged"
                time.sleep(0.05)
        finally:
            node.stop()
        assert audit.verify(conn).ok
        recent = conn.execute("SELECT COUNT(*) FROM audit_personal").fetchone()[0]
        assert recent > 0  # content within retention is kept


class TestRequesterChecksTheServer:
    def test_revoked_server_certificate_is_refused_before_sending(
        self, agencies: dict[str, Path], server: RunningNode
    ) -> None:
        """A counterpart whose certificate its CA revoked gets nothing from us."""
        ke = NodeHome(agencies["ke-kws"])
        spoor(
            "pki", "revoke", "--home", str(ke.root), pki.serial_hex(ke.node_cert_path.read_bytes())
        )
        vn = agencies["vn-customs"]
        spoor("peers", "add", "--home", str(vn), "ke-kws", "--address", f"127.0.0.1:{server.port}",
              "--ca", str(ke.ca_cert_path), "--crl", str(ke.keys_dir / "crl.pem"))  # fmt: skip
        conn = store.connect(NodeHome(vn).db_path)
        peer = get_peer(conn, "ke-kws")
        conn.close()
        with (
            PeerClient(NodeHome(vn), load_config(NodeHome(vn)), peer) as client,
            pytest.raises(PeerCallFailed) as info,
        ):
            client.describe()
        assert info.value.code == "UNAUTHENTICATED"
        assert "revoked" in info.value.message

    def test_server_certified_for_another_agency_is_refused(
        self, agencies: dict[str, Path], tmp_path: Path
    ) -> None:
        """A server holding a certificate from the pinned CA but for another agency is refused."""
        ke = NodeHome(agencies["ke-kws"])
        impostor = NodeHome(tmp_path / "impostor")
        shutil.copytree(ke.root, impostor.root)
        key, cert = pki.issue_node_certificate(
            ke.ca_key_path.read_bytes(), ke.ca_cert_path.read_bytes(), "ke-other"
        )
        impostor.node_key_path.write_bytes(key)
        impostor.node_cert_path.write_bytes(cert)
        node = build_node(impostor, load_config(impostor), listen="127.0.0.1:0")
        try:
            with (
                client_for(agencies, "vn-customs", node.port) as client,
                pytest.raises(PeerCallFailed) as info,
            ):
                client.describe()
        finally:
            node.stop()
        assert info.value.code == "UNAVAILABLE"
        assert "certificate for this agency" in info.value.message
