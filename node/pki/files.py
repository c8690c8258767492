"""An agency's PKI material inside its node home (``keys/``).

Private keys are written with :func:`node.app.home.write_private` (mode 0600 from
the first byte); certificates and the CRL are public and written 0644. Each
file is replaced atomically so a crash never leaves half a file behind.
When the node home is initialised (``spoor init``), creating a CA or issuing a
certificate appends a ``certificate.issued`` audit entry (kind, serial,
fingerprint, expiry) and revoking appends ``certificate.revoked`` (serials,
reason), each in the same transaction as the file writes; no key material is
ever audited, and a failed write rolls the entry back.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from cryptography import x509
from cryptography.x509.oid import NameOID

from node import audit
from node.app.home import NodeHome, write_private
from node.pki.errors import CertificateError, PkiError
from node.pki.identity import (
    agency_id_from_certificate,
    fingerprint,
    load_certificate,
    serial_hex,
    validate_agency_id,
    validate_country,
)
from node.pki.issue import CA_DAYS, NODE_DAYS, create_ca, issue_node_certificate
from node.pki.revocation import revoke
from node.store import opened, transaction
from node.store.backend import Connection

DEFAULT_HOSTNAMES: tuple[str, ...] = ("localhost",)
DEFAULT_IPS: tuple[str, ...] = ("127.0.0.1", "::1")

AuditRecorder = Callable[..., object]


class PkiFileExistsError(PkiError):
    """A file would be overwritten without the operator asking for it."""

    FIELDS = ("path",)

    def __init__(self, path: Path) -> None:
        self.path = path
        super().__init__(f"{path} already exists")


class PkiFileMissingError(PkiError):
    """A file the operation needs is not in the node home."""

    FIELDS = ("path", "hint")

    def __init__(self, path: Path, hint: str) -> None:
        self.path = path
        self.hint = hint
        super().__init__(f"{path} does not exist; {hint}")


class ConfigMismatchError(PkiError):
    """A value given contradicts the node's spoor.toml or its agency CA."""

    FIELDS = ("key", "given", "configured", "source")

    def __init__(
        self, key: str, given: str, configured: str, *, source: str = "spoor.toml"
    ) -> None:
        self.key = key
        self.given = given
        self.configured = configured
        self.source = source
        super().__init__(f"{key} {given!r} differs from {configured!r} in {source}")


@dataclass(frozen=True)
class HomeIdentity:
    """The agency id and country a node home's ``spoor.toml`` declares (either may be absent)."""

    agency_id: str | None
    country: str | None


@dataclass(frozen=True)
class IssuedCertificate:
    """What ``issue_home_certificate`` wrote, for display and audit (no key material)."""

    cert_pem: bytes
    serial: str
    fingerprint: str
    not_after: datetime
    previous_serial: str | None


def crl_path(home: NodeHome) -> Path:
    """Where the agency's own CRL lives: ``keys/crl.pem``."""
    return home.keys_dir / "crl.pem"


def write_public(path: Path, data: bytes) -> None:
    """Atomically write a public file (certificate, CRL) with mode 0644."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(data)
    os.chmod(tmp, 0o644)
    os.replace(tmp, path)


def _install_pair(key_path: Path, key_pem: bytes, cert_path: Path, cert_pem: bytes) -> None:
    """Install a key and its certificate together: both are staged before either replaces.

    A failure while staging leaves the old pair in place, so a node never ends
    up with a key that does not match its certificate.
    """
    staged_key = key_path.with_name(key_path.name + ".new")
    staged_cert = cert_path.with_name(cert_path.name + ".new")
    try:
        write_private(staged_key, key_pem)
        write_public(staged_cert, cert_pem)
    except BaseException:
        staged_key.unlink(missing_ok=True)
        staged_cert.unlink(missing_ok=True)
        raise
    os.replace(staged_key, key_path)
    os.replace(staged_cert, cert_path)


def read_home_identity(home: NodeHome) -> HomeIdentity:
    """Read ``agency_id`` and ``country`` from the node's spoor.toml, if it exists."""
    if not home.config_path.is_file():
        return HomeIdentity(None, None)
    try:
        with home.config_path.open("rb") as fh:
            config = tomllib.load(fh)
    except tomllib.TOMLDecodeError as exc:
        raise PkiError(f"{home.config_path}: not valid TOML: {exc}") from exc
    agency = config.get("agency_id")
    country = config.get("country")
    return HomeIdentity(
        agency if isinstance(agency, str) else None,
        country if isinstance(country, str) else None,
    )


def resolve_identity(
    home: NodeHome, agency_id: str | None, country: str | None
) -> tuple[str | None, str | None]:
    """Command-line values win only when they agree with spoor.toml; fill gaps from it."""
    configured = read_home_identity(home)
    if agency_id and configured.agency_id and agency_id != configured.agency_id:
        raise ConfigMismatchError("agency id", agency_id, configured.agency_id)
    if (
        country
        and configured.country
        and validate_country(country) != validate_country(configured.country)
    ):
        raise ConfigMismatchError("country", country, configured.country)
    return agency_id or configured.agency_id, country or configured.country


def _read(path: Path, hint: str) -> bytes:
    try:
        return path.read_bytes()
    except FileNotFoundError as exc:
        raise PkiFileMissingError(path, hint) from exc


def read_ca(home: NodeHome) -> tuple[bytes, bytes]:
    """The agency CA's ``(key_pem, cert_pem)`` from the node home."""
    hint = "create the agency CA first with 'spoor pki init-ca'"
    return _read(home.ca_key_path, hint), _read(home.ca_cert_path, hint)


def read_ca_certificate(home: NodeHome) -> bytes:
    """The agency CA certificate (public) from the node home."""
    return _read(home.ca_cert_path, "create the agency CA first with 'spoor pki init-ca'")


def read_node_certificate(home: NodeHome) -> bytes:
    """The node certificate from the node home."""
    return _read(home.node_cert_path, "issue one with 'spoor pki issue'")


def init_home_ca(
    home: NodeHome,
    agency_id: str,
    country: str,
    *,
    common_name: str | None = None,
    days: int = CA_DAYS,
    force: bool = False,
    conn: Connection | None = None,
) -> bytes:
    """Create the agency CA in ``keys/``; refuse to replace an existing one unless ``force``."""
    validate_agency_id(agency_id)
    validate_country(country)
    if not force:
        for path in (home.ca_key_path, home.ca_cert_path):
            if path.exists():
                raise PkiFileExistsError(path)
    key_pem, cert_pem = create_ca(agency_id, country, common_name=common_name, days=days)
    cert = load_certificate(cert_pem)
    with _audited(home, conn, "certificate.issued") as record:
        if record is not None:
            record(actor="operator", details=_certificate_details("ca", cert))
        _install_pair(home.ca_key_path, key_pem, home.ca_cert_path, cert_pem)
    return cert_pem


def _certificate_details(kind: str, cert: x509.Certificate) -> dict[str, str]:
    return {
        "kind": kind,
        "serial": serial_hex(cert),
        "fingerprint": fingerprint(cert),
        "not_after": cert.not_valid_after_utc.isoformat(),
    }


@contextmanager
def _audited(home: NodeHome, conn: Connection | None, event: str) -> Iterator[AuditRecorder | None]:
    """Yield a recorder bound to an open transaction, or None when there is no database yet."""
    append = audit.append
    if conn is not None:  # the caller already holds a transaction
        yield lambda **fields: append(conn, event, **fields)
        return
    if not home.exists():  # no 'spoor init' yet, so no database to audit into
        yield None
        return
    with opened(home.db_path) as own, transaction(own):
        yield lambda **fields: append(own, event, **fields)


def issue_home_certificate(
    home: NodeHome,
    *,
    agency_id: str | None = None,
    country: str | None = None,
    hostnames: Iterable[str] = DEFAULT_HOSTNAMES,
    ip_addresses: Iterable[str] = DEFAULT_IPS,
    days: int = NODE_DAYS,
    conn: Connection | None = None,
) -> IssuedCertificate:
    """Issue this node's certificate from the agency CA in its home and write ``keys/node.*``.

    ``agency_id`` defaults to the CA's organisation (the agency it was created
    for) and must match it. Pass ``conn`` when already inside a store
    transaction so the audit entry joins it.
    """
    ca_key_pem, ca_cert_pem = read_ca(home)
    ca_agency = _ca_agency(ca_cert_pem)
    if agency_id is None:
        if ca_agency is None:
            raise CertificateError(
                "the CA certificate names no agency; give the agency id explicitly",
                code="malformed",
            )
        agency_id = ca_agency
    elif ca_agency is not None and agency_id != ca_agency:
        # A CA vouches for its own agency only; peers would refuse the result anyway.
        raise ConfigMismatchError("agency id", agency_id, ca_agency, source="the agency CA")
    previous: str | None = None
    if home.node_cert_path.exists():
        try:
            previous = serial_hex(home.node_cert_path.read_bytes())
        except CertificateError:
            previous = None
    key_pem, cert_pem = issue_node_certificate(
        ca_key_pem,
        ca_cert_pem,
        agency_id,
        country=country,
        hostnames=hostnames,
        ip_addresses=ip_addresses,
        days=days,
    )
    cert = load_certificate(cert_pem)
    issued = IssuedCertificate(
        cert_pem=cert_pem,
        serial=serial_hex(cert),
        fingerprint=fingerprint(cert),
        not_after=cert.not_valid_after_utc,
        previous_serial=previous,
    )
    with _audited(home, conn, "certificate.issued") as record:
        if record is not None:
            record(actor="operator", details=_certificate_details("node", cert))
        _install_pair(home.node_key_path, key_pem, home.node_cert_path, cert_pem)
    return issued


def _ca_agency(ca_cert_pem: bytes) -> str | None:
    orgs = load_certificate(ca_cert_pem).subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)
    if not orgs:
        return None  # a CA made by other tools; the operator names the agency
    return validate_agency_id(str(orgs[0].value))


def revoke_in_home(
    home: NodeHome,
    serials: Iterable[int],
    *,
    reason: str = "unspecified",
    conn: Connection | None = None,
) -> bytes:
    """Add serials to the agency CRL (``keys/crl.pem``), creating it if needed; return the CRL."""
    ca_key_pem, ca_cert_pem = read_ca(home)
    path = crl_path(home)
    existing = path.read_bytes() if path.exists() else None
    wanted = list(serials)
    crl_pem = revoke(ca_key_pem, ca_cert_pem, wanted, existing, reason=reason)
    with _audited(home, conn, "certificate.revoked") as record:
        if record is not None:
            record(
                actor="operator",
                details={"serials": [format(serial, "x") for serial in wanted], "reason": reason},
            )
        write_public(path, crl_pem)
    return crl_pem


def node_agency_id(home: NodeHome) -> str:
    """The agency id named by this node's own certificate."""
    return agency_id_from_certificate(read_node_certificate(home))
