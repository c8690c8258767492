"""Counterpart agencies this node has agreed to work with.

Trust is bilateral: each peer entry pins the CA certificate that the peer's
node certificates chain to. A certificate from any other CA is refused for
that agency even if it chains to another peer's CA.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

from node.app.config import validate_agency_id
from node.errors import SpoorError
from node.store import peers as repo
from node.store.backend import Connection
from node.store.timecodec import now_ts

_ADDRESS_RE = re.compile(r"^(\[[0-9a-fA-F:]+\]|[A-Za-z0-9.-]+):(\d{1,5})$")


class PeerError(SpoorError):
    """A peer entry is invalid or unknown."""

    FIELDS = ("reason",)

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(reason)


@dataclass(frozen=True)
class Peer:
    """One counterpart agency."""

    agency_id: str
    address: str
    ca_pem: str
    country: str | None
    added_at: str
    crl_pem: str | None = None


def validate_address(address: str) -> str:
    match = _ADDRESS_RE.match(address)
    if not match or not 0 < int(match.group(2)) < 65536:
        raise PeerError(
            f"address {address!r} is not HOST:PORT (e.g. 'kws.example.org:50051', "
            "'127.0.0.1:50051' or '[::1]:50051')"
        )
    return address


def validate_ca_pem(pem: bytes) -> str:
    try:
        cert = x509.load_pem_x509_certificate(pem)
    except ValueError as exc:
        raise PeerError(
            "the CA file is not a PEM certificate — ask the counterpart for the output of "
            "'spoor pki export-ca'"
        ) from exc
    try:
        basic = cert.extensions.get_extension_for_class(x509.BasicConstraints).value
    except x509.ExtensionNotFound:
        basic = None
    if basic is None or not basic.ca:
        raise PeerError(
            "the certificate given as the peer's CA is not a CA certificate (basicConstraints "
            "CA:TRUE missing) — ask for the CA, not the node certificate"
        )
    if cert.not_valid_after_utc < datetime.now(UTC):
        raise PeerError(f"the peer's CA certificate expired on {cert.not_valid_after_utc:%Y-%m-%d}")
    return cert.public_bytes(Encoding.PEM).decode("ascii")


def add(conn: Connection, agency_id: str, address: str, ca_pem: bytes, country: str | None) -> Peer:
    """Insert or replace a peer entry (caller holds the transaction)."""
    try:
        validate_agency_id(agency_id)
    except ValueError as exc:
        raise PeerError(str(exc)) from exc
    peer = Peer(
        agency_id=agency_id,
        address=validate_address(address),
        ca_pem=validate_ca_pem(ca_pem),
        country=country,
        added_at=now_ts(),
    )
    repo.upsert(conn, peer.agency_id, peer.address, peer.ca_pem, peer.country, peer.added_at)
    return peer


def remove(conn: Connection, agency_id: str) -> None:
    if not repo.delete(conn, agency_id):
        raise PeerError(f"no peer {agency_id!r} — see 'spoor peers list'")


def get(conn: Connection, agency_id: str) -> Peer:
    row = repo.get(conn, agency_id)
    if row is None:
        raise PeerError(f"no peer {agency_id!r} — add it with 'spoor peers add'")
    return Peer(**row)


def list_peers(conn: Connection) -> list[Peer]:
    return [Peer(**r) for r in repo.all_peers(conn)]


def set_crl(conn: Connection, agency_id: str, crl_pem: str | None) -> None:
    """Replace the revocation list pinned for a peer (caller holds the transaction)."""
    repo.set_crl(conn, agency_id, crl_pem)
