"""Failed TLS handshakes: read from gRPC's handshake trace, logged, counted and audited.

gRPC's C core runs the handshake; a connection that fails it (no client
certificate, a certificate from a CA this node never pinned, an expired one,
plain text or garbage on the TLS port, a client that closes or stalls) never
becomes a call, so no Python interceptor sees it. The only account of it is a
line the C core writes on its own stderr. With the ``handshaker`` tracer on,
the line that ends a failed handshake names the error and both endpoints::

    I0000 00:00:1796164333.947365 23411 handshaker.cc:142] handshake_manager 0x7f6f…:
    error=UNKNOWN: Ssl handshake failed (TSI_PROTOCOL_FAILURE): SSL_ERROR_SSL: error:100000c0:
    SSL routines:OPENSSL_internal:PEER_DID_NOT_RETURN_A_CERTIFICATE: … shutdown=false index=2,
    args={… grpc.internal.endpoint_local_address=ipv4:127.0.0.1:50051, …
    grpc.internal.endpoint_peer_address=ipv4:127.0.0.1:45248, …}

:class:`HandshakeWatch` turns each such line into a :class:`HandshakeFailure`
with a reason from a closed set (a bounded metrics label) and an OpenSSL
detail, logs it as one JSON line, counts it for ``/metrics`` and audits it as
``tls.refused``, aggregated per client host and reason so a flood cannot grow
the trail. Nothing else of the line (pointers, channel arguments) is kept.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Collection
from dataclasses import dataclass

from node.app.logs import get_logger
from node.rpc.refusals import AggregatedRefusals

log = get_logger("spoor.tls")

#: The C-core tracer whose lines name the endpoints of a failed handshake.
TRACER = "handshaker"

#: Every reason a handshake failure can carry (the metrics label set).
REASONS = (
    "no_client_certificate",
    "certificate_untrusted",
    "certificate_expired",
    "certificate_not_yet_valid",
    "not_tls",
    "connection_closed",
    "timeout",
    "tls_error",
)

_FAILED = re.compile(
    r"handshake_manager (0x[0-9a-f]+|\(nil\)): error=(?!OK )(.*?) shutdown=(true|false) index=\d+"
)
_SHUTDOWN = re.compile(r"handshake_manager (0x[0-9a-f]+|\(nil\)): Shutdown\(\) called: (.*)")
_PEER = re.compile(r"grpc\.internal\.endpoint_peer_address=([^,}\s]+)")
_LOCAL = re.compile(r"grpc\.internal\.endpoint_local_address=([^,}\s]+)")
_OPENSSL = re.compile(r"OPENSSL_internal:([A-Z0-9_]+)(?::\s*([A-Za-z0-9 ,.'_-]{1,80}))?")
_NOT_TLS = ("WRONG_VERSION_NUMBER", "HTTP_REQUEST", "HTTPS_PROXY_REQUEST", "UNKNOWN_PROTOCOL")
_SSL_REASONS = {
    "PEER_DID_NOT_RETURN_A_CERTIFICATE": "no_client_certificate",
    **dict.fromkeys(_NOT_TLS, "not_tls"),
}
_VERIFY_REASONS = (
    ("expired", "certificate_expired"),
    ("not yet valid", "certificate_not_yet_valid"),
)
_CLOSED = ("Socket closed", "Connection reset", "Broken pipe", "EOF", "Endpoint read failed")
_UNSAFE = re.compile(r"[^A-Za-z0-9 ,.:'_()\[\]/-]")
#: Longest detail or address a log line or entry carries.
MAX_TEXT = 160
#: Handshakes remembered as timed out until their failure line arrives.
MAX_PENDING_TIMEOUTS = 1024


@dataclass(frozen=True)
class HandshakeFailure:
    """One connection that failed the handshake: who, why, and the library's word for it."""

    peer_address: str
    local_address: str
    reason: str
    detail: str

    @property
    def host(self) -> str:
        """The peer address without its port (``ipv4:10.0.0.7``): the aggregation key."""
        head, sep, _port = self.peer_address.rpartition(":")
        return head if sep and head else self.peer_address


def _clean(text: str) -> str:
    return _UNSAFE.sub("?", text)[:MAX_TEXT]


def classify(error: str, timed_out: bool = False) -> tuple[str, str]:
    """(reason, detail) of a handshake error text from the C core."""
    if timed_out or "timed out" in error:
        return "timeout", "the client sent no complete handshake in time"
    found = _OPENSSL.search(error)
    if found is None:
        if any(word in error for word in _CLOSED) or "read failed" in error:
            return "connection_closed", "the client closed the connection during the handshake"
        return "tls_error", _clean(error.split("[", 1)[0].strip())
    code, text = found.group(1), (found.group(2) or "").strip()
    return _ssl_reason(code, text), _clean(f"{code}: {text}" if text else code)


def _ssl_reason(code: str, text: str) -> str:
    if code == "CERTIFICATE_VERIFY_FAILED":
        for phrase, reason in _VERIFY_REASONS:
            if phrase in text:
                return reason
        return "certificate_untrusted"
    return _SSL_REASONS.get(code, "tls_error")


def _port(address: str) -> int | None:
    _, _, port = address.rpartition(":")
    return int(port) if port.isdigit() else None


class HandshakeWatch:
    """Reads handshake trace lines of the C core and reports the failures on our ports."""

    def __init__(
        self,
        ports: Collection[int] = (),
        *,
        count: Callable[[str], None] | None = None,
        audit: AggregatedRefusals | None = None,
    ) -> None:
        # Only handshakes on these local ports are ours to report: this node also connects
        # out to its peers, and a failed outgoing handshake is reported by the caller.
        self.ports = frozenset(ports)
        self.count = count
        self.audit = audit
        self._timed_out: dict[str, None] = {}
        self._lock = threading.Lock()

    def parse(self, message: str) -> HandshakeFailure | None:
        """The failure a ``handshaker.cc`` trace message reports, or None."""
        shutdown = _SHUTDOWN.search(message)
        if shutdown is not None:
            if "timed out" in shutdown.group(2):
                with self._lock:
                    if len(self._timed_out) >= MAX_PENDING_TIMEOUTS:
                        self._timed_out.pop(next(iter(self._timed_out)))
                    self._timed_out[shutdown.group(1)] = None
            return None
        failed = _FAILED.search(message)
        if failed is None:
            return None
        manager, error, shut = failed.groups()
        with self._lock:
            timed_out = manager in self._timed_out
            self._timed_out.pop(manager, None)
        if shut == "true" and not timed_out:
            return None  # the server itself is stopping: not the client's doing
        peer = _PEER.search(message)
        local = _LOCAL.search(message)
        local_address = local.group(1) if local else ""
        if self.ports and _port(local_address) not in self.ports:
            return None
        reason, detail = classify(error, timed_out)
        return HandshakeFailure(
            peer_address=_clean(peer.group(1)) if peer else "unknown",
            local_address=_clean(local_address),
            reason=reason,
            detail=detail,
        )

    def handle(self, message: str) -> HandshakeFailure | None:
        """Parse one trace message; log, count and audit the failure it reports."""
        failure = self.parse(message)
        if failure is None:
            return None
        level = "info" if failure.reason == "connection_closed" else "warning"
        getattr(log, level)(
            "tls handshake failed",
            peer_address=failure.peer_address,
            local_address=failure.local_address,
            reason=failure.reason,
            detail=failure.detail,
        )
        if self.count is not None:
            self.count(failure.reason)
        if self.audit is not None:
            self.audit.refused(failure.host, failure.reason, failure.peer_address)
        return failure
