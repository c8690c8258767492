"""A revoked certificate gets nothing on any service; refusals are audited, aggregated."""

from __future__ import annotations

import json
import tempfile
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc
from spoor.federation.v1 import federation_pb2 as pb
from spoor.federation.v1 import federation_pb2_grpc as pb_grpc
from structlog.testing import capture_logs

from node import pki, store
from node.app.config import load_config
from node.app.home import NodeHome
from node.rpc.server import RunningNode, build_node
from tests.conftest import spoor
from tests.rpc.test_server import HELD, raw_channel, responder_with_peer


@pytest.fixture
def agencies(tmp_path: Path) -> dict[str, Path]:
    return responder_with_peer(tmp_path, HELD)


@pytest.fixture
def admin_socket() -> Iterator[Path]:
    # A short path: unix socket paths are limited to about 100 bytes.
    with tempfile.TemporaryDirectory(prefix="spoor-") as folder:
        yield Path(folder) / "admin.sock"


@pytest.fixture
def server(agencies: dict[str, Path], admin_socket: Path) -> Iterator[RunningNode]:
    home = NodeHome(agencies["ke-kws"])
    config = load_config(home)
    config.server.admin_socket = str(admin_socket)
    node = build_node(home, config, listen="127.0.0.1:0", reflection_on=True)
    yield node
    node.stop()


def revoke_vn(agencies: dict[str, Path]) -> None:
    """vn-customs revokes its node certificate; ke-kws installs the CRL."""
    vn = NodeHome(agencies["vn-customs"])
    spoor("pki", "revoke", "--home", str(vn.root), pki.serial_hex(vn.node_cert_path.read_bytes()))
    crl = str(vn.keys_dir / "crl.pem")
    spoor("peers", "add", "--home", str(agencies["ke-kws"]), "vn-customs", "--address",
          "127.0.0.1:9", "--ca", str(vn.ca_cert_path), "--crl", crl)  # fmt: skip


def vn_channel(agencies: dict[str, Path], port: int) -> grpc.Channel:
    keys = agencies["vn-customs"] / "keys"
    return raw_channel(agencies["ke-kws"] / "keys" / "ca.crt", keys / "node.key",
                       keys / "node.crt", port)  # fmt: skip


def code_of(call: object) -> grpc.StatusCode:
    try:
        call() if callable(call) else None
    except grpc.RpcError as err:
        return err.code()  # type: ignore[no-any-return]
    return grpc.StatusCode.OK


class TestRevokedGetsNothing:
    def test_health_reflection_and_federation_all_refuse_a_revoked_certificate(
        self, agencies: dict[str, Path], server: RunningNode
    ) -> None:
        """Before revocation all three answer; after it each refuses with PERMISSION_DENIED."""
        with vn_channel(agencies, server.port) as channel:
            health = health_pb2_grpc.HealthStub(channel)
            reflect = reflection_pb2_grpc.ServerReflectionStub(channel)
            federation = pb_grpc.FederationServiceStub(channel)
            calls = {
                "health": lambda: health.Check(health_pb2.HealthCheckRequest(), timeout=5),
                "reflection": lambda: list(
                    reflect.ServerReflectionInfo(
                        iter([reflection_pb2.ServerReflectionRequest(list_services="")]),
                        timeout=5,
                    )
                ),
                "describe": lambda: federation.Describe(pb.DescribeRequest(), timeout=5),
            }
            assert {name: code_of(c) for name, c in calls.items()} == dict.fromkeys(
                calls, grpc.StatusCode.OK
            )
            revoke_vn(agencies)
            assert {name: code_of(c) for name, c in calls.items()} == dict.fromkeys(
                calls, grpc.StatusCode.PERMISSION_DENIED
            )

    def test_the_refusal_is_logged_as_revoked(
        self, agencies: dict[str, Path], server: RunningNode
    ) -> None:
        """The local log names the revocation, not a generic 'not a peer'."""
        revoke_vn(agencies)
        with vn_channel(agencies, server.port) as channel, capture_logs() as logs:
            code_of(lambda: pb_grpc.FederationServiceStub(channel).Describe(
                pb.DescribeRequest(), timeout=5))  # fmt: skip
        (line,) = [entry for entry in logs if entry.get("event") == "rpc"]
        assert line["reason"] == "CertificateRevoked"

    def test_a_flood_of_refused_calls_writes_a_bounded_audit_trail(
        self, agencies: dict[str, Path], server: RunningNode
    ) -> None:
        """Twenty refused calls are audited as one aggregated auth.refused entry."""
        revoke_vn(agencies)
        with vn_channel(agencies, server.port) as channel:
            stub = pb_grpc.FederationServiceStub(channel)
            for _ in range(20):
                assert code_of(lambda: stub.Describe(pb.DescribeRequest(), timeout=5)) == (
                    grpc.StatusCode.PERMISSION_DENIED
                )
        conn = store.connect(NodeHome(agencies["ke-kws"]).db_path)
        try:
            rows = conn.execute(
                "SELECT counterpart, details FROM audit_entries WHERE event='auth.refused'"
            ).fetchall()
        finally:
            conn.close()
        assert len(rows) == 1
        assert rows[0][0] == "vn-customs"
        assert json.loads(rows[0][1])["reason"] == "CertificateRevoked"


class TestLocalProbe:
    def test_the_admin_socket_answers_health_and_nothing_else(
        self, server: RunningNode, admin_socket: Path
    ) -> None:
        """Without a certificate, the local admin channel may check health only."""
        with grpc.insecure_channel(f"unix:{admin_socket}") as channel:
            reply = health_pb2_grpc.HealthStub(channel).Check(
                health_pb2.HealthCheckRequest(), timeout=5
            )
            assert reply.status == health_pb2.HealthCheckResponse.SERVING
            describe = pb_grpc.FederationServiceStub(channel).Describe
            assert code_of(lambda: describe(pb.DescribeRequest(), timeout=5)) == (
                grpc.StatusCode.PERMISSION_DENIED
            )

    def test_the_nodes_own_certificate_may_check_health(
        self, agencies: dict[str, Path], server: RunningNode
    ) -> None:
        """A supervisor holding the node's own key can probe health on the federation port."""
        keys = agencies["ke-kws"] / "keys"
        with raw_channel(keys / "ca.crt", keys / "node.key", keys / "node.crt", server.port) as ch:
            reply = health_pb2_grpc.HealthStub(ch).Check(health_pb2.HealthCheckRequest(), timeout=5)
        assert reply.status == health_pb2.HealthCheckResponse.SERVING
