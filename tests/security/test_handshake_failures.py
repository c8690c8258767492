"""Each failed TLS handshake on a real `spoor serve`: a JSON line with its peer, counted."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.request import urlopen

import grpc
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from grpc_health.v1 import health_pb2, health_pb2_grpc
from spoor.federation.v1 import federation_pb2 as pb
from spoor.federation.v1 import federation_pb2_grpc as pb_grpc

from node import audit, pki, store
from node.app.home import NodeHome
from spoor_dev.federation import spoor_command
from tests.conftest import responder_with_peer, spoor
from tests.rpc.test_server import HELD, raw_channel

WAIT_S = 30.0


@dataclass
class Served:
    """A ``spoor serve`` process of ke-kws and where its JSON log goes."""

    process: subprocess.Popen[bytes]
    log_path: Path
    port: int
    ops_port: int

    def lines(self) -> list[str]:
        return self.log_path.read_text(encoding="utf-8", errors="replace").splitlines()

    def records(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.lines() if line.strip()]

    def wait_for(self, event: str, **fields: object) -> dict[str, Any]:
        """The first log record of ``event`` whose fields include ``fields``."""
        deadline = time.monotonic() + WAIT_S
        while time.monotonic() < deadline:
            for record in self.records():
                if record.get("event") == event and all(
                    record.get(k) == v for k, v in fields.items()
                ):
                    return record
            assert self.process.poll() is None, "\n".join(self.lines()[-20:])
            time.sleep(0.1)
        raise AssertionError(f"no {event} {fields} in:\n" + "\n".join(self.lines()[-20:]))

    def handshake_failures(self) -> list[dict[str, Any]]:
        return [r for r in self.records() if r.get("event") == "tls handshake failed"]


@pytest.fixture
def agencies(tmp_path: Path) -> dict[str, Path]:
    """ke-kws serves vn-customs; zz-rogue has a CA ke-kws never pinned."""
    return responder_with_peer(tmp_path, HELD, others=(("zz-rogue", "ZA"),))


@pytest.fixture
def served(agencies: dict[str, Path], tmp_path: Path) -> Iterator[Served]:
    log_path = tmp_path / "serve.log"
    with log_path.open("wb") as out:
        process = subprocess.Popen(
            [
                *spoor_command(),
                "serve",
                "--home",
                str(agencies["ke-kws"]),
                "--listen",
                "127.0.0.1:0",
                "--log-json",
            ],
            stdout=out,
            stderr=subprocess.STDOUT,
            env={**os.environ, "SPOOR_OPS_LISTEN": "127.0.0.1:0", "PYTHONUNBUFFERED": "1"},
        )
    node = Served(process, log_path, 0, 0)
    try:
        node.port = int(node.wait_for("serving")["port"])
        node.ops_port = int(node.wait_for("ops port open")["port"])
        yield node
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def good_peer_ok(agencies: dict[str, Path], port: int) -> bool:
    """vn-customs's Describe and a health check both succeed."""
    keys = agencies["vn-customs"] / "keys"
    with raw_channel(
        agencies["ke-kws"] / "keys" / "ca.crt", keys / "node.key", keys / "node.crt", port
    ) as channel:
        described = pb_grpc.FederationServiceStub(channel).Describe(
            pb.DescribeRequest(), timeout=10
        )
        health = health_pb2_grpc.HealthStub(channel).Check(
            health_pb2.HealthCheckRequest(), timeout=10
        )
    return bool(
        described.agency_id == "ke-kws" and health.status == health_pb2.HealthCheckResponse.SERVING
    )


def describe_code(ca: Path, key: bytes | None, cert: bytes | None, port: int) -> grpc.StatusCode:
    creds = grpc.ssl_channel_credentials(
        root_certificates=ca.read_bytes(), private_key=key, certificate_chain=cert
    )
    with grpc.secure_channel(f"127.0.0.1:{port}", creds) as channel:
        try:
            pb_grpc.FederationServiceStub(channel).Describe(pb.DescribeRequest(), timeout=5)
        except grpc.RpcError as err:
            return err.code()  # type: ignore[no-any-return]
    return grpc.StatusCode.OK


def expired_copy(cert_pem: bytes, ca_key_pem: bytes) -> bytes:
    """The same certificate (same key, names and extensions), expired yesterday."""
    cert = x509.load_pem_x509_certificate(cert_pem)
    ca_key = serialization.load_pem_private_key(ca_key_pem, None)
    now = datetime.now(UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(cert.subject)
        .issuer_name(cert.issuer)
        .public_key(cert.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=10))
        .not_valid_after(now - timedelta(days=1))
    )
    for extension in cert.extensions:
        builder = builder.add_extension(extension.value, extension.critical)
    signed = builder.sign(ca_key, hashes.SHA256())  # type: ignore[arg-type]
    return signed.public_bytes(serialization.Encoding.PEM)


def raw_connection(port: int, payload: bytes) -> str:
    """Send ``payload`` on a plain TCP connection; the address the node sees us at."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        host, local_port = sock.getsockname()[:2]
        if payload:
            sock.sendall(payload)
            with contextlib.suppress(OSError):
                sock.recv(1024)  # the node answers with a TLS alert or closes
    return f"ipv4:{host}:{local_port}"


def tls_audit(home: Path) -> list[dict[str, Any]]:
    conn = store.connect(home / "node.db")
    try:
        rows = conn.execute(
            "SELECT status, details FROM audit_entries WHERE event = 'tls.refused' ORDER BY seq"
        ).fetchall()
    finally:
        conn.close()
    return [{"status": r["status"], **json.loads(r["details"])} for r in rows]


class TestEachHandshakeFailure:
    def test_every_kind_is_one_json_line_with_the_peer_and_the_node_keeps_serving(
        self, agencies: dict[str, Path], served: Served
    ) -> None:
        """No certificate, an unpinned CA, an expired certificate, plain text, garbage and
        a closed connection: each one JSON line naming the peer and the reason, and the good
        peer is answered after every one."""
        ke_ca = agencies["ke-kws"] / "keys" / "ca.crt"
        vn_keys, rogue_keys = agencies["vn-customs"] / "keys", agencies["zz-rogue"] / "keys"
        expired = expired_copy(
            (vn_keys / "node.crt").read_bytes(), (vn_keys / "ca.key").read_bytes()
        )
        vn_key = (vn_keys / "node.key").read_bytes()

        def plaintext_grpc() -> grpc.StatusCode:
            with grpc.insecure_channel(f"127.0.0.1:{served.port}") as channel:
                try:
                    pb_grpc.FederationServiceStub(channel).Describe(pb.DescribeRequest(), timeout=5)
                except grpc.RpcError as err:
                    return err.code()  # type: ignore[no-any-return]
            return grpc.StatusCode.OK

        attempts = [
            ("no_client_certificate", lambda: describe_code(ke_ca, None, None, served.port)),
            (
                "certificate_untrusted",
                lambda: describe_code(
                    ke_ca,
                    (rogue_keys / "node.key").read_bytes(),
                    (rogue_keys / "node.crt").read_bytes(),
                    served.port,
                ),
            ),
            ("certificate_expired", lambda: describe_code(ke_ca, vn_key, expired, served.port)),
            ("not_tls", plaintext_grpc),
        ]
        assert good_peer_ok(agencies, served.port)
        for reason, attempt in attempts:
            assert attempt() == grpc.StatusCode.UNAVAILABLE, reason
            line = served.wait_for("tls handshake failed", reason=reason)
            assert line["peer_address"].startswith("ipv4:127.0.0.1:"), line
            assert line["local_address"] == f"ipv4:127.0.0.1:{served.port}"
            assert good_peer_ok(agencies, served.port), reason

        # Raw connections: the node names exactly the address we connected from.
        for reason, payload in (
            ("not_tls", b"\x00\xffgarbage\x00" * 64),
            ("not_tls", b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"),
            ("connection_closed", b""),
        ):
            address = raw_connection(served.port, payload)
            line = served.wait_for("tls handshake failed", peer_address=address)
            assert line["reason"] == reason, line
            assert good_peer_ok(agencies, served.port), reason

        # Every line the node wrote is JSON (json.loads raised otherwise), none from the C core.
        records = served.records()
        assert not [r for r in records if r.get("event") in ("stderr", "grpc core")]
        for failure in served.handshake_failures():
            assert set(failure) == {
                "peer_address",
                "local_address",
                "reason",
                "detail",
                "event",
                "level",
                "timestamp",
            }
            assert "BEGIN" not in failure["detail"]
            assert len(failure["detail"]) <= 160

    def test_a_revoked_certificate_passes_the_handshake_and_is_refused_with_its_peer(
        self, agencies: dict[str, Path], served: Served
    ) -> None:
        """gRPC has no CRL check: the call is refused, logged as JSON with the peer address."""
        vn = NodeHome(agencies["vn-customs"])
        spoor(
            "pki", "revoke", "--home", str(vn.root), pki.serial_hex(vn.node_cert_path.read_bytes())
        )
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
        keys = agencies["vn-customs"] / "keys"
        code = describe_code(
            agencies["ke-kws"] / "keys" / "ca.crt",
            (keys / "node.key").read_bytes(),
            (keys / "node.crt").read_bytes(),
            served.port,
        )
        assert code == grpc.StatusCode.PERMISSION_DENIED
        line = served.wait_for("rpc", method="Describe", status="PERMISSION_DENIED")
        assert line["reason"] == "CertificateRevoked"
        assert line["peer_address"].startswith("ipv4:127.0.0.1:"), line
        assert not served.handshake_failures()


class TestCountedAndAudited:
    def test_failures_are_counted_on_metrics_and_audited_in_aggregate(
        self, agencies: dict[str, Path], served: Served
    ) -> None:
        """Twenty garbage connections: twenty log lines, a counter of twenty, and at most
        two tls.refused entries (the first at once, the rest counted at shutdown)."""
        addresses = [raw_connection(served.port, b"\x16\x03\x01garbage") for _ in range(20)]
        for address in addresses:
            served.wait_for("tls handshake failed", peer_address=address)
        reasons = {f["reason"] for f in served.handshake_failures()}
        assert len(served.handshake_failures()) == 20
        with urlopen(f"http://127.0.0.1:{served.ops_port}/metrics", timeout=10) as reply:
            metrics = reply.read().decode()
        (reason,) = reasons
        assert f'spoor_tls_handshake_failures_total{{reason="{reason}"}} 20.0' in metrics
        assert good_peer_ok(agencies, served.port)

        served.process.send_signal(signal.SIGTERM)
        assert served.process.wait(timeout=60) == 0
        entries = tls_audit(agencies["ke-kws"])
        assert 1 <= len(entries) <= 2
        assert sum(e["failures"] for e in entries) == 20
        assert {e["host"] for e in entries} == {"ipv4:127.0.0.1"}
        assert {e["reason"] for e in entries} == {reason}
        assert {e["status"] for e in entries} == {"UNAVAILABLE"}
        conn = store.connect(agencies["ke-kws"] / "node.db")
        try:
            assert audit.verify(conn).ok
        finally:
            conn.close()
