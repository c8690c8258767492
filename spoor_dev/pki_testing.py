"""PKI fixtures for tests across the project (never used by a running node).

``make_agency_pki`` writes a complete ``keys/`` directory (CA, node key and
certificate) into a node home so gRPC and end-to-end tests can stand up several
agencies quickly. ``custom_certificate`` builds deliberately unusual
certificates (expired, without an agency URI, signed by a non-CA) for reject
cases.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from node.app.home import NodeHome
from node.pki.files import crl_path, init_home_ca, issue_home_certificate, read_ca
from node.pki.identity import agency_uri, load_certificate
from node.pki.issue import load_private_key


@dataclass(frozen=True)
class AgencyPki:
    """One agency's PKI material, in memory and as files under ``home.keys_dir``."""

    agency_id: str
    country: str
    home: NodeHome
    ca_key_pem: bytes
    ca_cert_pem: bytes
    key_pem: bytes
    cert_pem: bytes

    @property
    def ca_key_path(self) -> Path:
        return self.home.ca_key_path

    @property
    def ca_cert_path(self) -> Path:
        return self.home.ca_cert_path

    @property
    def key_path(self) -> Path:
        return self.home.node_key_path

    @property
    def cert_path(self) -> Path:
        return self.home.node_cert_path

    @property
    def crl_path(self) -> Path:
        return crl_path(self.home)


def make_agency_pki(
    tmp_dir: Path,
    agency_id: str,
    country: str,
    *,
    hostnames: Sequence[str] = ("localhost",),
    ip_addresses: Sequence[str] = ("127.0.0.1", "::1"),
) -> AgencyPki:
    """Create an agency CA and node certificate under ``tmp_dir/keys`` (``tmp_dir`` is the home)."""
    home = NodeHome(Path(tmp_dir))
    init_home_ca(home, agency_id, country, force=True)
    issue_home_certificate(
        home, agency_id=agency_id, hostnames=hostnames, ip_addresses=ip_addresses
    )
    ca_key_pem, ca_cert_pem = read_ca(home)
    return AgencyPki(
        agency_id=agency_id,
        country=country,
        home=home,
        ca_key_pem=ca_key_pem,
        ca_cert_pem=ca_cert_pem,
        key_pem=home.node_key_path.read_bytes(),
        cert_pem=home.node_cert_path.read_bytes(),
    )


def custom_certificate(
    issuer_key_pem: bytes,
    issuer_cert_pem: bytes,
    *,
    agency_ids: Sequence[str] = (),
    not_before: datetime | None = None,
    not_after: datetime | None = None,
    ca: bool = False,
    client_auth: bool = True,
) -> tuple[bytes, bytes]:
    """Issue a certificate outside the normal profile; return ``(key_pem, cert_pem)``.

    ``agency_ids`` become URI SANs (none, one, or several); dates default to a
    certificate valid from an hour ago for a day.
    """
    issuer_key = load_private_key(issuer_key_pem)
    issuer = load_certificate(issuer_cert_pem)
    now = datetime.now(UTC)
    key = ec.generate_private_key(ec.SECP256R1())
    sans: list[x509.GeneralName] = [
        x509.UniformResourceIdentifier(agency_uri(a)) for a in agency_ids
    ]
    sans.append(x509.DNSName("localhost"))
    usages = [ExtendedKeyUsageOID.SERVER_AUTH]
    if client_auth:
        usages.append(ExtendedKeyUsageOID.CLIENT_AUTH)
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "test certificate")]))
        .issuer_name(issuer.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before or now - timedelta(hours=1))
        .not_valid_after(not_after or now + timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        .add_extension(x509.SubjectAlternativeName(sans), critical=False)
        .add_extension(x509.ExtendedKeyUsage(usages), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key.public_key()),
            critical=False,
        )
        .sign(issuer_key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return key_pem, cert.public_bytes(serialization.Encoding.PEM)
