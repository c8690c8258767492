"""Certificate revocation lists, checked by the node itself.

Python gRPC has no CRL support, so a node checks the caller's certificate
against the CRL of the caller's CA on every call. A CRL is trusted only when
its signature verifies against that CA and its issuer is that CA.

An agency revokes its own node certificates with its own CA and hands the CRL
to its counterparts together with (and as often as) the CA certificate.
A CRL past its next-update time still lists every revocation it knew of, so it
keeps being applied rather than being ignored.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization

from node.pki.errors import CertificateError
from node.pki.identity import load_certificate
from node.pki.issue import load_private_key
from node.pki.verify import load_ca

CRL_DAYS = 365

REASONS: dict[str, x509.ReasonFlags] = {
    "unspecified": x509.ReasonFlags.unspecified,
    "key-compromise": x509.ReasonFlags.key_compromise,
    "ca-compromise": x509.ReasonFlags.ca_compromise,
    "affiliation-changed": x509.ReasonFlags.affiliation_changed,
    "superseded": x509.ReasonFlags.superseded,
    "cessation-of-operation": x509.ReasonFlags.cessation_of_operation,
}


def load_crl(crl_pem: bytes) -> x509.CertificateRevocationList:
    """Parse a CRL given as PEM or DER."""
    try:
        if b"-----BEGIN X509 CRL-----" in crl_pem:
            return x509.load_pem_x509_crl(crl_pem)
        return x509.load_der_x509_crl(crl_pem)
    except ValueError as exc:
        raise CertificateError("the revocation list is not a readable CRL", code="bad_crl") from exc


def verified_crl(
    crl_pem: bytes, ca_pem: bytes | x509.Certificate
) -> x509.CertificateRevocationList:
    """Parse a CRL and check that ``ca_pem`` issued and signed it."""
    if isinstance(ca_pem, bytes):
        # Nodes check the same peer CRL on every call; remember the good ones.
        return _verified_crl_cached(bytes(crl_pem), ca_pem)
    return _verified_crl(crl_pem, ca_pem)


@functools.lru_cache(maxsize=64)
def _verified_crl_cached(crl_pem: bytes, ca_pem: bytes) -> x509.CertificateRevocationList:
    return _verified_crl(crl_pem, ca_pem)


def _verified_crl(
    crl_pem: bytes, ca_pem: bytes | x509.Certificate
) -> x509.CertificateRevocationList:
    crl = load_crl(crl_pem)
    ca = load_ca(ca_pem)
    if crl.issuer != ca.subject or not crl.is_signature_valid(ca.public_key()):  # type: ignore[arg-type]
        raise CertificateError(
            "the revocation list was not signed by the pinned CA; it was not applied and "
            "the call is refused until a CRL from that CA is installed",
            code="bad_crl",
        )
    return crl


def revoke(
    ca_key_pem: bytes,
    ca_cert_pem: bytes,
    serials: Iterable[int],
    existing_crl_pem: bytes | None = None,
    *,
    reason: str = "unspecified",
    days: int = CRL_DAYS,
) -> bytes:
    """Return a new CRL listing ``serials`` plus every serial ``existing_crl_pem`` lists.

    Earlier entries keep their revocation date and reason; the CRL number grows by one.
    """
    if reason not in REASONS:
        raise ValueError(f"unknown revocation reason {reason!r}; use one of {', '.join(REASONS)}")
    ca_key = load_private_key(ca_key_pem)
    ca = load_ca(ca_cert_pem)
    now = datetime.now(UTC)
    builder = (
        x509.CertificateRevocationListBuilder()
        .issuer_name(ca.subject)
        .last_update(now)
        .next_update(now + timedelta(days=days))
    )
    number = 1
    seen: set[int] = set()
    if existing_crl_pem is not None:
        old = verified_crl(existing_crl_pem, ca)
        try:
            number = old.extensions.get_extension_for_class(x509.CRLNumber).value.crl_number + 1
        except x509.ExtensionNotFound:
            number = 1
        for entry in old:
            builder = builder.add_revoked_certificate(entry)
            seen.add(entry.serial_number)
    for serial in serials:
        if serial in seen:
            continue
        seen.add(serial)
        entry_builder = x509.RevokedCertificateBuilder().serial_number(serial).revocation_date(now)
        if reason != "unspecified":
            entry_builder = entry_builder.add_extension(x509.CRLReason(REASONS[reason]), False)
        builder = builder.add_revoked_certificate(entry_builder.build())
    builder = builder.add_extension(x509.CRLNumber(number), critical=False)
    builder = builder.add_extension(
        x509.AuthorityKeyIdentifier.from_issuer_public_key(ca.public_key()),  # type: ignore[arg-type]
        critical=False,
    )
    crl = builder.sign(ca_key, hashes.SHA256())
    return crl.public_bytes(serialization.Encoding.PEM)


def revoked_serials(crl_pem: bytes, ca_pem: bytes | x509.Certificate) -> list[int]:
    """Serials listed by a CRL whose signature verifies against the CA."""
    return [entry.serial_number for entry in verified_crl(crl_pem, ca_pem)]


def is_revoked(
    cert: bytes | x509.Certificate, crl_pem: bytes, ca_pem: bytes | x509.Certificate
) -> bool:
    """Whether the CA's CRL lists the certificate; a CRL the CA did not sign raises."""
    certificate = load_certificate(cert)
    crl = verified_crl(crl_pem, ca_pem)
    if certificate.issuer != crl.issuer:
        raise CertificateError(
            "the certificate and the revocation list come from different CAs", code="wrong_ca"
        )
    return crl.get_revoked_certificate_by_serial_number(certificate.serial_number) is not None
