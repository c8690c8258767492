"""Who is calling: the agency named by the client certificate, checked against its peer entry.

The TLS handshake already proved the caller holds a key for a certificate
chaining to one of the CAs this node trusts. That is not enough: trust is
bilateral, so the certificate must chain to the CA pinned for *the agency it
names*, that agency must be a configured peer, and the certificate must not be
revoked (Python gRPC has no CRL support, so the node checks on every call).
"""

from __future__ import annotations

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
