"""Checking a peer's certificate against the one CA its peer entry pins.

Python gRPC accepts any client whose certificate chains to *one of* the CAs
the server trusts, so a node must check on every call that the caller's
certificate chains to the CA pinned for the agency it claims to be; otherwise
one counterpart's CA could vouch for another counterpart's agency id.
"""

from __future__ import annotations

from datetime import UTC, datetime

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.x509.verification import PolicyBuilder, Store, VerificationError

from node.pki.errors import CertificateError
from node.pki.identity import load_certificate


def _moment(at: datetime | None) -> datetime:
    if at is None:
        return datetime.now(UTC)
    return at if at.tzinfo else at.replace(tzinfo=UTC)


def _check_period(cert: x509.Certificate, at: datetime, what: str) -> None:
    if at < cert.not_valid_before_utc:
        raise CertificateError(
            f"the {what} is not valid before {cert.not_valid_before_utc:%Y-%m-%d %H:%M} UTC",
            code="not_yet_valid",
        )
    if at > cert.not_valid_after_utc:
        raise CertificateError(
            f"the {what} expired on {cert.not_valid_after_utc:%Y-%m-%d %H:%M} UTC",
            code="expired",
        )


def _is_ca(cert: x509.Certificate) -> bool:
    try:
        constraints = cert.extensions.get_extension_for_class(x509.BasicConstraints).value
    except x509.ExtensionNotFound:
        return False
    if not constraints.ca:
        return False
    try:
        usage = cert.extensions.get_extension_for_class(x509.KeyUsage).value
    except x509.ExtensionNotFound:
        return True
    return usage.key_cert_sign


def load_ca(ca_pem: bytes | x509.Certificate) -> x509.Certificate:
    """Parse a CA certificate and refuse one that is not marked as a CA."""
    ca = load_certificate(ca_pem)
    if not _is_ca(ca):
        raise CertificateError(
            "the pinned certificate is not a CA certificate (basicConstraints CA:true "
            "with keyCertSign)",
            code="not_a_ca",
        )
    return ca


def verify_chain(
    cert_pem_or_der: bytes | x509.Certificate,
    ca_pem: bytes | x509.Certificate,
    *,
    at: datetime | None = None,
) -> None:
    """Check that the certificate was issued by the CA and both are valid at ``at`` (default now).

    Raises :class:`CertificateError` naming the first problem found.
    """
    when = _moment(at)
    cert = load_certificate(cert_pem_or_der)
    ca = load_ca(ca_pem)
    _check_period(ca, when, "CA certificate")
    if cert.issuer != ca.subject:
        raise CertificateError("the certificate was not issued by the pinned CA", code="wrong_ca")
    try:
        cert.verify_directly_issued_by(ca)
    except (ValueError, TypeError, InvalidSignature) as exc:
        raise CertificateError(
            "the certificate's signature does not verify against the pinned CA", code="wrong_ca"
        ) from exc
    if _is_ca(cert):
        raise CertificateError("a CA certificate cannot act as a node certificate", code="is_a_ca")
    _check_period(cert, when, "certificate")
    # The checks above give operators clear reasons; the RFC 5280 client
    # verifier then catches everything they do not spell out (critical
    # extensions, key usage, clientAuth, path length).
    verifier = PolicyBuilder().store(Store([ca])).time(when).build_client_verifier()
    try:
        verifier.verify(cert, [])
    except VerificationError as exc:
        raise CertificateError(
            f"the certificate does not meet the node-certificate profile: {exc}", code="profile"
        ) from exc
