"""Agency identity inside certificates: ids, the URI SAN, parsing and display.

A node certificate names its agency in exactly one URI subject alternative name
``spoor://agency/<agency_id>``. Peers identify a caller by that URI, never by
the subject common name, which is free text.
"""

from __future__ import annotations

import functools
import re

import pycountry
from cryptography import x509
from cryptography.hazmat.primitives import hashes

from node.pki.errors import AgencyIdError, CertificateError, CountryCodeError

AGENCY_URI_PREFIX = "spoor://agency/"
_AGENCY_ID = re.compile(r"[a-z0-9][a-z0-9-]{1,62}")
_PEM_MARKER = b"-----BEGIN CERTIFICATE-----"


def validate_agency_id(agency_id: str) -> str:
    """Return ``agency_id`` unchanged if it is valid, else raise :class:`AgencyIdError`."""
    if not isinstance(agency_id, str) or not _AGENCY_ID.fullmatch(agency_id):
        raise AgencyIdError(str(agency_id))
    return agency_id


def validate_country(country: str) -> str:
    """Return the upper-case ISO 3166-1 alpha-2 code, else raise :class:`CountryCodeError`."""
    code = country.strip().upper() if isinstance(country, str) else ""
    if len(code) != 2 or pycountry.countries.get(alpha_2=code) is None:
        raise CountryCodeError(str(country))
    return code


def agency_uri(agency_id: str) -> str:
    """The URI SAN that names ``agency_id`` in its node certificates."""
    return AGENCY_URI_PREFIX + validate_agency_id(agency_id)


#: Suffix of the DNS name every node certificate carries for its agency. Clients
#: verify the server against this name, so the TLS handshake itself proves that
#: the server's certificate was issued for the agency being called.
AGENCY_DNS_SUFFIX = ".agency.spoor.invalid"


def agency_dns_name(agency_id: str) -> str:
    """The DNS SAN that names ``agency_id`` (``ke-kws.agency.spoor.invalid``)."""
    return validate_agency_id(agency_id) + AGENCY_DNS_SUFFIX


def load_certificate(data: bytes | x509.Certificate) -> x509.Certificate:
    """Parse one certificate given as PEM or DER bytes (the first one if PEM holds several)."""
    if isinstance(data, x509.Certificate):
        return data
    try:
        if _PEM_MARKER in data:
            return x509.load_pem_x509_certificate(data)
        return x509.load_der_x509_certificate(data)
    except ValueError as exc:
        raise CertificateError(
            "the data is not a readable X.509 certificate (PEM or DER)", code="malformed"
        ) from exc


def agency_id_from_certificate(cert_pem_or_der: bytes | x509.Certificate) -> str:
    """The agency id named by the certificate's single ``spoor://agency/`` URI SAN."""
    if isinstance(cert_pem_or_der, bytes | bytearray):
        # A node reads the caller's agency several times per call (gate, servicer,
        # metrics); the answer is a pure function of the certificate's bytes.
        return _agency_id_of_bytes(bytes(cert_pem_or_der))
    return _agency_id_of(cert_pem_or_der)


@functools.lru_cache(maxsize=256)
def _agency_id_of_bytes(data: bytes) -> str:
    # Only successes are remembered: a certificate that names no agency raises every time.
    return _agency_id_of(data)


def _agency_id_of(cert_pem_or_der: bytes | x509.Certificate) -> str:
    cert = load_certificate(cert_pem_or_der)
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound as exc:
        raise CertificateError(
            "the certificate has no subject alternative names, so it names no agency",
            code="no_agency_id",
        ) from exc
    uris = [
        uri
        for uri in san.get_values_for_type(x509.UniformResourceIdentifier)
        if uri.startswith(AGENCY_URI_PREFIX)
    ]
    if len(uris) != 1:
        raise CertificateError(
            f"the certificate must name exactly one agency in a {AGENCY_URI_PREFIX}<id> "
            f"URI; it names {len(uris)}",
            code="no_agency_id",
        )
    agency_id = uris[0][len(AGENCY_URI_PREFIX) :]
    if not _AGENCY_ID.fullmatch(agency_id):
        raise CertificateError(
            "the certificate's agency URI does not hold a valid agency id", code="no_agency_id"
        )
    return agency_id


def fingerprint(cert: bytes | x509.Certificate) -> str:
    """SHA-256 fingerprint of the certificate's DER encoding, lowercase hex without colons."""
    return load_certificate(cert).fingerprint(hashes.SHA256()).hex()


def serial_hex(cert: bytes | x509.Certificate) -> str:
    """The serial as lowercase hex: what ``spoor pki show`` prints and ``revoke`` takes."""
    return format(load_certificate(cert).serial_number, "x")


def parse_serial(text: str) -> int:
    """Parse a serial written as hex (``0x`` prefix and ``:`` separators allowed)."""
    cleaned = text.strip().lower().replace(":", "")
    cleaned = cleaned.removeprefix("0x")
    if not cleaned or not re.fullmatch(r"[0-9a-f]+", cleaned) or len(cleaned) > 40:
        raise ValueError(f"{text!r} is not a certificate serial number in hex")
    return int(cleaned, 16)
