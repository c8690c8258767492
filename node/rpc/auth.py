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

from node import audit, peers, pki, store
from node.errors import CertificateRevoked, NotAPeer

AGENCY_METADATA_KEY = "x-spoor-agency"


class Authenticator(Protocol):
    """Resolves the calling agency of an RPC or raises :class:`NotAPeer`."""

    def identify(self, context: grpc.ServicerContext) -> str: ...


class CertificateAuthenticator:
    """Mutual-TLS identity: URI SAN agency id, pinned CA, revocation."""

    def __init__(self, db_path: Path) -> None:
        self.db_path = db_path

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
        with store.opened(self.db_path, check_schema=False) as conn:
            try:
                peer = peers.get(conn, agency_id)
            except peers.PeerError as exc:
                raise NotAPeer(f"agency {agency_id!r} is not a configured peer") from exc
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
        with store.opened(self.db_path, check_schema=False) as conn:
            try:
                peers.get(conn, claimed)
            except peers.PeerError as exc:
                raise NotAPeer(f"agency {claimed!r} is not a configured peer") from exc
        return claimed


class RefusalAudit:
    """Audit per-call authentication failures, aggregated so nobody can grow the trail.

    A caller whose certificate passed the handshake (it chains to a CA this
    node pinned) but failed the per-call checks — revoked, not a configured
    peer, pinned to another agency's CA — is audited as ``auth.refused``. The
    first failure per (claimed agency, reason) in a window of ``window_s``
    seconds writes an entry at once; further failures in the window are only
    counted, and the count is written with the next entry after the window.
    At most ``max_keys`` distinct (agency, reason) pairs are tracked; the rest
    share one bucket. So a flood writes a bounded number of entries per window.
    """

    def __init__(self, db_path: Path, window_s: float = 60.0, max_keys: int = 64) -> None:
        self.db_path = db_path
        self.window_s = window_s
        self.max_keys = max_keys
        self._lock = threading.Lock()
        # (agency, reason) -> (start of the window, failures not yet written)
        self._seen: dict[tuple[str, str], tuple[float, int]] = {}

    def refused(self, claimed_agency: str, reason: str, peer_address: str) -> bool:
        """Count one failure; True when an audit entry was written for it."""
        now = time.monotonic()
        key = (claimed_agency[:64] or "-", reason)
        with self._lock:
            if key not in self._seen and len(self._seen) >= self.max_keys:
                key = ("*", reason)
            start, pending = self._seen.get(key, (now - self.window_s, 0))
            if now - start < self.window_s:
                self._seen[key] = (start, pending + 1)
                return False
            self._seen[key] = (now, 0)
        with store.opened(self.db_path, check_schema=False) as conn, store.transaction(conn):
            audit.append(
                conn,
                "auth.refused",
                counterpart=key[0],
                status="PERMISSION_DENIED",
                details={
                    "reason": reason,
                    "peer_address": peer_address[:128],
                    "failures": pending + 1,
                    "window_seconds": self.window_s,
                },
            )
        return True


def claimed_agency(context: grpc.ServicerContext) -> str:
    """The agency a client certificate names, without checking it (for logs and audit)."""
    certs = context.auth_context().get("x509_pem_cert") or []
    if not certs:
        return ""
    try:
        return pki.agency_id_from_certificate(certs[0])
    except pki.CertificateError:
        return ""
