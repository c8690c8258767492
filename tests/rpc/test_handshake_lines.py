"""gRPC's C-core lines: handshake failures parsed, the rest re-emitted; refusals aggregated."""

from __future__ import annotations

import json
from collections.abc import MutableMapping
from pathlib import Path
from typing import Any

import pytest
from structlog.testing import capture_logs

from node import audit, store
from node.rpc.handshakes import REASONS, HandshakeWatch, classify
from node.rpc.native_log import NativeLog, handshake_trace_hidden
from node.rpc.refusals import AggregatedRefusals
from tests.conftest import init_node

ARGS = (
    "args={{endpoint=0x7f6ff4000f70, args={{grpc.http2.max_pings_without_data=2, "
    "grpc.internal.endpoint_local_address=ipv4:127.0.0.1:{local}, "
    "grpc.internal.endpoint_peer_address=ipv4:127.0.0.1:{peer}, "
    "grpc.internal.security_connector=0x55c7ce7b05}}, read_buffer.Length()=0, exit_early=0}}"
)
NO_CERT = (
    "handshake_manager 0x7f6ff4001a80: error=UNKNOWN: Ssl handshake failed (TSI_PROTOCOL_FAILURE):"
    " SSL_ERROR_SSL: error:100000c0:SSL routines:OPENSSL_internal:"
    "PEER_DID_NOT_RETURN_A_CERTIFICATE: Invalid certificate verification context "
    "shutdown=false index=2, " + ARGS
)
EXPIRED = (
    "handshake_manager 0x7f6fe4001a50: error=UNKNOWN: Ssl handshake failed (TSI_PROTOCOL_FAILURE):"
    " SSL_ERROR_SSL: error:1000007d:SSL routines:OPENSSL_internal:CERTIFICATE_VERIFY_FAILED: "
    "certificate has expired shutdown=false index=2, " + ARGS
)
TIMED_OUT = "handshake_manager 0x7f971c001a80: Shutdown() called: UNKNOWN: Handshake timed out"
READ_FAILED = (
    "handshake_manager 0x7f971c001a80: error=UNKNOWN: Handshake read failed "
    "[type.googleapis.com/grpc.status.children='V\\x00 Shutdown'] shutdown=true index=2, " + ARGS
)
OK_LINE = "handshake_manager 0x7f6fe4002c70: error=OK shutdown=false index=2, " + ARGS
PREFIX = "I0000 00:00:1796164333.947365   23411 "


def events(logs: list[MutableMapping[str, Any]], event: str) -> list[MutableMapping[str, Any]]:
    return [entry for entry in logs if entry["event"] == event]


class TestHandshakeParse:
    def test_a_failure_names_the_peer_the_reason_and_the_library_word(self) -> None:
        """A missing client certificate: peer and local address, reason, OpenSSL code."""
        failure = HandshakeWatch({50051}).parse(NO_CERT.format(local=50051, peer=45248))
        assert failure is not None
        assert failure.peer_address == "ipv4:127.0.0.1:45248"
        assert failure.host == "ipv4:127.0.0.1"
        assert failure.reason == "no_client_certificate"
        assert failure.detail.startswith("PEER_DID_NOT_RETURN_A_CERTIFICATE")

    def test_an_expired_certificate_is_told_apart_from_an_untrusted_one(self) -> None:
        """CERTIFICATE_VERIFY_FAILED with "has expired" is certificate_expired."""
        failure = HandshakeWatch({50051}).parse(EXPIRED.format(local=50051, peer=1))
        assert failure is not None
        assert failure.reason == "certificate_expired"
        assert (
            classify(
                "OPENSSL_internal:CERTIFICATE_VERIFY_FAILED: unable to get local issuer certificate"
            )[0]
            == "certificate_untrusted"
        )

    def test_a_timed_out_handshake_is_reported_as_a_timeout(self) -> None:
        """The Shutdown() line of a timeout marks the failure line that follows it."""
        watch = HandshakeWatch({50051})
        assert watch.parse(TIMED_OUT) is None
        failure = watch.parse(READ_FAILED.format(local=50051, peer=39850))
        assert failure is not None
        assert failure.reason == "timeout"

    def test_the_server_stopping_a_handshake_is_not_reported(self) -> None:
        """A shutdown=true failure without a timeout is the node stopping, not the client."""
        assert HandshakeWatch({50051}).parse(READ_FAILED.format(local=50051, peer=1)) is None

    def test_success_and_outgoing_handshakes_are_not_reported(self) -> None:
        """error=OK, and a failure on another local port (this node calling a peer), are skipped."""
        watch = HandshakeWatch({50051})
        assert watch.parse(OK_LINE.format(local=50051, peer=1)) is None
        assert watch.parse(NO_CERT.format(local=41000, peer=50051)) is None

    def test_unknown_errors_get_a_reason_from_the_closed_set(self) -> None:
        """Whatever the error text, the reason is one of REASONS (a bounded metrics label)."""
        for text in ("", "weird \x1b[31m", "OPENSSL_internal:DECODE_ERROR", "Socket closed"):
            reason, detail = classify(text)
            assert reason in REASONS
            assert "\x1b" not in detail
            assert len(detail) <= 160


class TestNativeLog:
    def test_core_lines_become_structured_lines_and_trace_noise_is_dropped(self) -> None:
        """A failure: one "tls handshake failed"; a C-core warning: "grpc core"; noise: nothing."""
        counted: list[str] = []
        native = NativeLog()
        native.watch = HandshakeWatch({50051}, count=counted.append)
        with capture_logs() as logs:
            native.handle(
                "WARNING: All log messages before absl::InitializeLog() is called are written "
                "to STDERR"
            )
            native.handle(PREFIX + "trace.cc:94] gRPC Tracers: handshaker")
            native.handle(PREFIX + "handshaker.cc:80] handshake_manager 0x1: adding handshaker")
            native.handle(PREFIX + "handshaker.cc:142] " + NO_CERT.format(local=50051, peer=7))
            native.handle(PREFIX + "ssl_transport_security.cc:1665] Handshake failed with error")
            native.handle("W0000 00:00:1.2   1 chttp2_server.cc:9] something odd \x1b[2J")
            native.handle("a line from elsewhere \x07")
        (failure,) = events(logs, "tls handshake failed")
        assert failure["peer_address"] == "ipv4:127.0.0.1:7"
        assert counted == ["no_client_certificate"]
        (core,) = events(logs, "grpc core")
        assert core["log_level"] == "warning"
        assert "\x1b" not in core["text"]
        (other,) = events(logs, "stderr")
        assert "\x07" not in other["text"]
        assert len(logs) == 3


class TestVerbosity:
    @pytest.mark.parametrize(("value", "hidden"), [("", False), ("info", False), ("ERROR", True)])
    def test_a_verbosity_hiding_the_trace_is_detected(
        self, monkeypatch: pytest.MonkeyPatch, value: str, hidden: bool
    ) -> None:
        """GRPC_VERBOSITY=ERROR would silence the handshake trace; `spoor serve` warns."""
        monkeypatch.setenv("GRPC_VERBOSITY", value)
        assert handshake_trace_hidden() is hidden


def entries(home: Path, event: str) -> list[dict[str, Any]]:
    conn = store.connect(home / "node.db")
    try:
        assert audit.verify(conn).ok
        rows = conn.execute(
            "SELECT counterpart, details FROM audit_entries WHERE event = ? ORDER BY seq",
            (event,),
        ).fetchall()
    finally:
        conn.close()
    return [{"counterpart": r["counterpart"], **json.loads(r["details"])} for r in rows]


class TestAggregatedRefusals:
    def test_a_flood_writes_one_entry_now_and_the_count_later(self, tmp_path: Path) -> None:
        """500 refusals in one window: one entry at once, one more with 499 on flush."""
        home = init_node(tmp_path, "ke-kws", "KE")
        refusals = AggregatedRefusals(home / "node.db", "quota.refused", "RESOURCE_EXHAUSTED")
        written = [
            refusals.refused("vn-customs", "calls", figures={"elements": 3}) for _ in range(500)
        ]
        assert written.count(True) == 1
        assert len(entries(home, "quota.refused")) == 1
        assert refusals.flush() == 1
        first, rest = entries(home, "quota.refused")
        assert (first["failures"], rest["failures"]) == (1, 499)
        assert (first["elements"], rest["elements"]) == (3, 1497)
        assert refusals.flush() == 0

    def test_many_distinct_keys_share_one_bucket(self, tmp_path: Path) -> None:
        """1,000 hosts with 8 tracked keys: 8 entries, two for the shared bucket, all counted."""
        home = init_node(tmp_path, "ke-kws", "KE")
        refusals = AggregatedRefusals(
            home / "node.db", "tls.refused", "UNAVAILABLE", key_field="host", max_keys=8
        )
        for i in range(1000):
            refusals.refused(f"ipv4:10.0.{i // 250}.{i % 250}", "not_tls", f"ipv4:10.0.0.{i}:1")
        refusals.flush()
        found = entries(home, "tls.refused")
        assert len(found) == 10
        assert sum(e["failures"] for e in found) == 1000
        assert "*" in {e["host"] for e in found}
        assert {e["counterpart"] for e in found} == {None}

    def test_a_quiet_key_makes_room_after_its_window(self, tmp_path: Path) -> None:
        """Once a key's window is over with nothing pending, a new key gets its own entries."""
        home = init_node(tmp_path, "ke-kws", "KE")
        refusals = AggregatedRefusals(
            home / "node.db",
            "tls.refused",
            "UNAVAILABLE",
            key_field="host",
            window_s=0.0,
            max_keys=1,
        )
        refusals.refused("ipv4:10.0.0.1", "not_tls")
        refusals.refused("ipv4:10.0.0.2", "not_tls")
        assert [e["host"] for e in entries(home, "tls.refused")] == [
            "ipv4:10.0.0.1",
            "ipv4:10.0.0.2",
        ]
