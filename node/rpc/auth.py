"""Who is calling: the agency named by the client certificate, checked against its peer entry.

The TLS handshake already proved the caller holds a key for a certificate
chaining to one of the CAs this node trusts. That is not enough: trust is
bilateral, so the certificate must chain to the CA pinned for *the agency it
names*, that agency must be a configured peer, and the certificate must not be
revoked (Python gRPC has no CRL support, so the node checks on every call).
"""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Protocol

import grpc

from node import peers, pki, store
from node.errors import CertificateRevoked, NotAPeer
from node.rpc.refusals import AggregatedRefusals

AGENCY_METADATA_KEY = "x-spoor-agency"


class Authenticator(Protocol):
    """Resolves the calling agency of an RPC or raises :class:`NotAPeer`."""

    def identify(self, context: grpc.ServicerContext) -> str: ...


class CheckedCertificates:
    """Certificates that passed ``check_peer_certificate``, remembered for a short while.

    The check is a pure function of the certificate, the peer entry's CA and
    CRL, and the moment; each entry is keyed by all three inputs and kept only
    inside both certificates' validity periods and for at most ``ttl_s``. So a
    new CRL or CA in the peer entry, an expiry or a removed peer (the entry is
    read on every call) takes effect on the next call, exactly as without it.
    """

    def __init__(self, ttl_s: float = 300.0, max_entries: int = 256) -> None:
        self.ttl_s = ttl_s
        self.max_entries = max_entries
        self._lock = threading.Lock()
        self._ok: dict[tuple[bytes, str, str, str], tuple[float, float]] = {}

    def passed(self, key: tuple[bytes, str, str, str]) -> bool:
        now = time.time()
        with self._lock:
            window = self._ok.get(key)
        return window is not None and window[0] <= now < window[1]

    def remember(self, key: tuple[bytes, str, str, str], cert_pem: bytes, ca_pem: bytes) -> None:
        cert, ca = pki.load_certificate(cert_pem), pki.load_certificate(ca_pem)
        start = max(cert.not_valid_before_utc, ca.not_valid_before_utc).timestamp()
        end = min(cert.not_valid_after_utc, ca.not_valid_after_utc).timestamp()
        with self._lock:
            if len(self._ok) >= self.max_entries:
                self._ok.clear()
            self._ok[key] = (start, min(end, time.time() + self.ttl_s))


class CertificateAuthenticator:
    """Mutual-TLS identity: URI SAN agency id, pinned CA, revocation."""

    def __init__(self, db_path: Path) -> None:
        self.db_path = db_path
        self._checked = CheckedCertificates()

    def identify(self, context: grpc.ServicerContext) -> str:
        auth = context.auth_context()
        certs = auth.get("x509_pem_cert") or []
        if not certs:
            raise NotAPeer("no client certificate was presented")
        cert_pem = certs[0]
        try:
            agency_id = pki.agency_id_from_certificate(cert_pem)
        except pki.CertificateError as exc:
            raise NotAPeer(f"client certificate names no agency: {exc}") from exc
        # The peer entry is read on every call (pooled connection): removal, a new
        # CA or a new CRL applies to the very next call.
        with store.pooled(self.db_path) as conn:
            try:
                peer = peers.get(conn, agency_id)
            except peers.PeerError as exc:
                raise NotAPeer(f"agency {agency_id!r} is not a configured peer") from exc
        key = (bytes(cert_pem), agency_id, peer.ca_pem, peer.crl_pem or "")
        if self._checked.passed(key):
            return agency_id
        try:
            pki.check_peer_certificate(
                cert_pem,
                peer.ca_pem.encode(),
                crl_pem=peer.crl_pem.encode() if peer.crl_pem else None,
                expected_agency_id=agency_id,
            )
        except pki.CertificateError as exc:
            if exc.code == "revoked":
                raise CertificateRevoked(f"certificate of {agency_id!r} is revoked") from exc
            raise NotAPeer(f"certificate of {agency_id!r} refused: {exc}") from exc
        self._checked.remember(key, bytes(cert_pem), peer.ca_pem.encode())
        return agency_id


class InsecureAuthenticator:
    """Plaintext mode (``--insecure``): the caller names itself in metadata.

    Only for debugging on one machine; the server logs a warning at start-up.
    The named agency must still be a configured peer.
    """

    def __init__(self, db_path: Path) -> None:
        self.db_path = db_path

    def identify(self, context: grpc.ServicerContext) -> str:
        claimed = dict(context.invocation_metadata()).get(AGENCY_METADATA_KEY)
        if not isinstance(claimed, str) or not claimed:
            raise NotAPeer(f"plaintext call without {AGENCY_METADATA_KEY} metadata")
        with store.pooled(self.db_path) as conn:
            try:
                peers.get(conn, claimed)
            except peers.PeerError as exc:
                raise NotAPeer(f"agency {claimed!r} is not a configured peer") from exc
        return claimed


class RefusalAudit(AggregatedRefusals):
    """Audit per-call authentication failures as ``auth.refused``, aggregated.

    A caller whose certificate passed the handshake (it chains to a CA this
    node pinned) but failed the per-call checks — revoked, not a configured
    peer, pinned to another agency's CA — is counted per (claimed agency,
    reason) and window (:class:`node.rpc.refusals.AggregatedRefusals`), so a
    flood writes a bounded number of entries.
    """

    def __init__(self, db_path: Path, window_s: float = 60.0, max_keys: int = 64) -> None:
        super().__init__(
            db_path, "auth.refused", "PERMISSION_DENIED", window_s=window_s, max_keys=max_keys
        )


def claimed_agency(context: grpc.ServicerContext) -> str:
    """The agency a client certificate names, without checking it (for logs and audit)."""
    certs = context.auth_context().get("x509_pem_cert") or []
    if not certs:
        return ""
    try:
        return pki.agency_id_from_certificate(certs[0])
    except pki.CertificateError:
        return ""
