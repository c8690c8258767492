"""Issuing an agency's CA and its node certificates.

Every agency runs its own small CA (EC P-256, path length 0) and issues its
node certificates from it. A node certificate serves both ends of mutual TLS,
so it carries serverAuth and clientAuth, the agency URI SAN and the DNS / IP
names the node is reached by. Private keys come back as unencrypted PKCS#8
PEM because gRPC needs them that way; callers write them with
:func:`node.app.home.write_private`.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from node.pki.errors import CertificateError
from node.pki.identity import (
    agency_dns_name,
    agency_uri,
    load_certificate,
    validate_agency_id,
    validate_country,
)

# One RFC 1123 label; internationalised names must be given in their xn-- form.
_DNS_LABEL = re.compile(r"[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?")

CA_DAYS = 3650
# 397 days is the longest leaf lifetime browsers accept; keeping to it makes
# yearly rotation the habit.
NODE_DAYS = 397
# Certificates start a few minutes in the past so a peer whose clock runs
# slightly behind does not refuse a freshly issued certificate.
CLOCK_SKEW = timedelta(minutes=5)


def _new_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def _key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def load_private_key(key_pem: bytes) -> ec.EllipticCurvePrivateKey:
    """Load an unencrypted EC private key written by this module."""
    try:
        key = serialization.load_pem_private_key(key_pem, password=None)
    except (ValueError, TypeError) as exc:
        raise CertificateError(
            "the private key is not a readable unencrypted PEM key", code="malformed"
        ) from exc
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        raise CertificateError("the private key is not an EC key", code="malformed")
    return key


def _days(days: int) -> timedelta:
    if days < 1:
        raise ValueError(f"validity must be at least one day, not {days}")
    return timedelta(days=days)


def create_ca(
    agency_id: str,
    country: str,
    *,
    common_name: str | None = None,
    days: int = CA_DAYS,
) -> tuple[bytes, bytes]:
    """Create an agency CA; return ``(key_pem, cert_pem)``."""
    validate_agency_id(agency_id)
    country = validate_country(country)
    lifetime = _days(days)
    key = _new_key()
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, country),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, agency_id),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name or f"Spoor CA {agency_id}"),
        ]
    )
    now = datetime.now(UTC)
    ski = x509.SubjectKeyIdentifier.from_public_key(key.public_key())
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - CLOCK_SKEW)
        .not_valid_after(now + lifetime)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=False,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(ski, critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ski), False)
        .sign(key, hashes.SHA256())
    )
    return _key_pem(key), cert.public_bytes(serialization.Encoding.PEM)


def _ip(value: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address:
    try:
        return ipaddress.ip_address(value)
    except ValueError as exc:
        raise ValueError(f"{value!r} is not an IP address") from exc


def _dns(value: str) -> str:
    name = value.strip().lower().removesuffix(".")
    if len(name) > 253 or not all(_DNS_LABEL.fullmatch(label) for label in name.split(".")):
        raise ValueError(f"{value!r} is not a DNS host name (letters, digits, hyphens, dots)")
    return name


def issue_node_certificate(
    ca_key_pem: bytes,
    ca_cert_pem: bytes,
    agency_id: str,
    *,
    country: str | None = None,
    hostnames: Iterable[str] = ("localhost",),
    ip_addresses: Iterable[str] = ("127.0.0.1", "::1"),
    days: int = NODE_DAYS,
) -> tuple[bytes, bytes]:
    """Issue a node certificate for ``agency_id`` from its CA; return ``(key_pem, cert_pem)``.

    ``country`` defaults to the CA's country. The certificate never outlives its CA.
    """
    validate_agency_id(agency_id)
    ca_key = load_private_key(ca_key_pem)
    ca_cert = load_certificate(ca_cert_pem)
    if ca_key.public_key().public_numbers() != _ec_public(ca_cert).public_numbers():
        raise CertificateError("the CA key does not belong to the CA certificate", code="wrong_ca")
    if country is None:
        countries = ca_cert.subject.get_attributes_for_oid(NameOID.COUNTRY_NAME)
        country = str(countries[0].value) if countries else None
    names: list[x509.GeneralName] = [x509.UniformResourceIdentifier(agency_uri(agency_id))]
    names.append(x509.DNSName(agency_dns_name(agency_id)))
    names += [x509.DNSName(_dns(h)) for h in dict.fromkeys(hostnames)]
    names += [x509.IPAddress(_ip(ip)) for ip in dict.fromkeys(ip_addresses)]

    attributes = []
    if country is not None:
        attributes.append(x509.NameAttribute(NameOID.COUNTRY_NAME, validate_country(country)))
    attributes += [
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, agency_id),
        x509.NameAttribute(NameOID.COMMON_NAME, f"{agency_id} node"),
    ]
    now = datetime.now(UTC)
    not_after = min(now + _days(days), ca_cert.not_valid_after_utc)
    if not_after <= now:
        raise CertificateError("the CA certificate has expired; create a new CA", code="expired")
    key = _new_key()
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name(attributes))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(max(now - CLOCK_SKEW, ca_cert.not_valid_before_utc))
        .not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(
            x509.ExtendedKeyUsage(
                [ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]
            ),
            critical=False,
        )
        .add_extension(x509.SubjectAlternativeName(names), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(_ec_public(ca_cert)), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )
    return _key_pem(key), cert.public_bytes(serialization.Encoding.PEM)


def _ec_public(cert: x509.Certificate) -> ec.EllipticCurvePublicKey:
    public = cert.public_key()
    if not isinstance(public, ec.EllipticCurvePublicKey):
        raise CertificateError("the CA certificate does not hold an EC key", code="malformed")
    return public
