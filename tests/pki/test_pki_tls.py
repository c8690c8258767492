"""The certificates work for real mutual TLS (Python ssl over 127.0.0.1, port 0)."""

from __future__ import annotations

import socket
import ssl
import threading
from dataclasses import dataclass, field

import pytest

from node import pki
from spoor_dev.pki_testing import AgencyPki

TIMEOUT = 10.0


@dataclass
class ServerOutcome:
    """What the server side saw: the client's certificate or the error that ended the handshake."""

    peer_der: bytes | None = None
    error: BaseException | None = None
    done: threading.Event = field(default_factory=threading.Event)


def _server_context(server: AgencyPki, trusted_client_ca: AgencyPki) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.verify_mode = ssl.CERT_REQUIRED
    context.verify_flags |= ssl.VERIFY_X509_STRICT
    context.load_cert_chain(server.cert_path, server.key_path)
    context.load_verify_locations(cadata=trusted_client_ca.ca_cert_pem.decode())
    return context


def _client_context(client: AgencyPki | None, trusted_server_ca: AgencyPki) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.verify_flags |= ssl.VERIFY_X509_STRICT
    context.load_verify_locations(cadata=trusted_server_ca.ca_cert_pem.decode())
    if client is not None:
        context.load_cert_chain(client.cert_path, client.key_path)
    return context


def _serve_once(listener: socket.socket, context: ssl.SSLContext, outcome: ServerOutcome) -> None:
    try:
        conn, _ = listener.accept()
        conn.settimeout(TIMEOUT)
        with context.wrap_socket(conn, server_side=True) as tls:
            outcome.peer_der = tls.getpeercert(binary_form=True)
            tls.sendall(b"hello " + tls.recv(64))
    except (OSError, ssl.SSLError) as exc:
        outcome.error = exc
    finally:
        outcome.done.set()


def _handshake(
    server_context: ssl.SSLContext, client_context: ssl.SSLContext, server_name: str
) -> tuple[ServerOutcome, bytes | None, bytes | BaseException]:
    """Run one connection; return the server outcome, the server cert and the client's reply."""
    outcome = ServerOutcome()
    with socket.create_server(("127.0.0.1", 0)) as listener:
        listener.settimeout(TIMEOUT)
        port = listener.getsockname()[1]
        thread = threading.Thread(target=_serve_once, args=(listener, server_context, outcome))
        thread.start()
        server_der: bytes | None = None
        reply: bytes | BaseException
        try:
            with (
                socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT) as raw,
                client_context.wrap_socket(raw, server_hostname=server_name) as tls,
            ):
                server_der = tls.getpeercert(binary_form=True)
                tls.sendall(b"vn-customs")
                reply = tls.recv(64)
        except (OSError, ssl.SSLError) as exc:
            reply = exc
        thread.join(TIMEOUT)
        assert outcome.done.is_set()
    return outcome, server_der, reply


class TestMutualTls:
    def test_handshake_succeeds_and_each_side_learns_the_other_agency(
        self, kenya: AgencyPki, vietnam: AgencyPki
    ) -> None:
        """Kenya serves, Vietnam calls; both verify strictly and read each other's agency id."""
        outcome, server_der, reply = _handshake(
            _server_context(kenya, trusted_client_ca=vietnam),
            _client_context(vietnam, trusted_server_ca=kenya),
            "localhost",
        )
        assert outcome.error is None
        assert reply == b"hello vn-customs"
        assert outcome.peer_der is not None
        assert server_der is not None
        assert pki.check_peer_certificate(outcome.peer_der, vietnam.ca_cert_pem) == "vn-customs"
        assert pki.check_peer_certificate(server_der, kenya.ca_cert_pem) == "ke-kws"

    def test_loopback_ip_address_is_a_valid_server_name(
        self, kenya: AgencyPki, vietnam: AgencyPki
    ) -> None:
        """Dialling 127.0.0.1 directly verifies against the IP SAN."""
        outcome, _, reply = _handshake(
            _server_context(kenya, trusted_client_ca=vietnam),
            _client_context(vietnam, trusted_server_ca=kenya),
            "127.0.0.1",
        )
        assert outcome.error is None
        assert reply == b"hello vn-customs"

    def test_client_without_certificate_is_refused(
        self, kenya: AgencyPki, vietnam: AgencyPki
    ) -> None:
        """The server refuses a caller that presents no certificate."""
        outcome, _, reply = _handshake(
            _server_context(kenya, trusted_client_ca=vietnam),
            _client_context(None, trusted_server_ca=kenya),
            "localhost",
        )
        assert isinstance(outcome.error, ssl.SSLError)
        assert outcome.peer_der is None
        assert not isinstance(reply, bytes) or reply == b""

    def test_client_from_an_untrusted_ca_is_refused(
        self, kenya: AgencyPki, vietnam: AgencyPki, mozambique: AgencyPki
    ) -> None:
        """A certificate from a CA the server does not trust fails the handshake."""
        outcome, _, reply = _handshake(
            _server_context(kenya, trusted_client_ca=vietnam),
            _client_context(mozambique, trusted_server_ca=kenya),
            "localhost",
        )
        assert isinstance(outcome.error, ssl.SSLError)
        assert "certificate" in str(outcome.error).lower()
        assert not isinstance(reply, bytes) or reply == b""

    def test_server_from_an_untrusted_ca_is_refused_by_the_client(
        self, kenya: AgencyPki, vietnam: AgencyPki, mozambique: AgencyPki
    ) -> None:
        """The caller refuses a server whose CA it does not pin."""
        _, server_der, reply = _handshake(
            _server_context(kenya, trusted_client_ca=vietnam),
            _client_context(vietnam, trusted_server_ca=mozambique),
            "localhost",
        )
        assert server_der is None
        assert isinstance(reply, ssl.SSLCertVerificationError)

    def test_wrong_server_name_is_refused(self, kenya: AgencyPki, vietnam: AgencyPki) -> None:
        """A name the node certificate does not carry fails hostname verification."""
        _, _, reply = _handshake(
            _server_context(kenya, trusted_client_ca=vietnam),
            _client_context(vietnam, trusted_server_ca=kenya),
            "spoor.example.org",
        )
        assert isinstance(reply, ssl.SSLCertVerificationError)

    @pytest.mark.parametrize("version", [ssl.TLSVersion.TLSv1_2, ssl.TLSVersion.TLSv1_3])
    def test_handshake_works_on_tls_1_2_and_1_3(
        self, kenya: AgencyPki, vietnam: AgencyPki, version: ssl.TLSVersion
    ) -> None:
        """The EC P-256 material negotiates under both TLS versions gRPC may use."""
        client = _client_context(vietnam, trusted_server_ca=kenya)
        client.minimum_version = client.maximum_version = version
        outcome, _, reply = _handshake(
            _server_context(kenya, trusted_client_ca=vietnam), client, "localhost"
        )
        assert outcome.error is None
        assert reply == b"hello vn-customs"
