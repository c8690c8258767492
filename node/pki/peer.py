"""The single check a node runs on every caller's certificate."""

from __future__ import annotations

from datetime import datetime

from cryptography import x509

from node.pki.errors import CertificateError
from node.pki.identity import agency_id_from_certificate, load_certificate
from node.pki.revocation import is_revoked
from node.pki.verify import verify_chain


def check_peer_certificate(
    cert_pem_or_der: bytes | x509.Certificate,
    ca_pem: bytes | x509.Certificate,
    *,
    crl_pem: bytes | None = None,
    expected_agency_id: str | None = None,
    at: datetime | None = None,
) -> str:
    """Check chain, validity, agency id and revocation; return the caller's agency id.

    ``ca_pem`` and ``crl_pem`` are the ones pinned in the peer entry for the
    agency the certificate names. Raises :class:`CertificateError`.
    """
    cert = load_certificate(cert_pem_or_der)
    agency_id = agency_id_from_certificate(cert)
    if expected_agency_id is not None and agency_id != expected_agency_id:
        raise CertificateError(
            f"the certificate names agency {agency_id!r}, not {expected_agency_id!r}",
            code="wrong_agency",
        )
    verify_chain(cert, ca_pem, at=at)
    if crl_pem is not None and is_revoked(cert, crl_pem, ca_pem):
        raise CertificateError("the certificate has been revoked by its CA", code="revoked")
    return agency_id
