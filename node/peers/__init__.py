"""Counterpart agencies this node has agreed to work with.

Trust is bilateral: each peer entry pins the CA certificate that the peer's
node certificates chain to. A certificate from any other CA is refused for
that agency even if it chains to another peer's CA.
"""

from __future__ import annotations

import re
import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

from node.app.config import validate_agency_id
from node.errors import SpoorError

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


def add(
    conn: sqlite3.Connection, agency_id: str, address: str, ca_pem: bytes, country: str | None
) -> Peer:
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
        added_at=datetime.now(UTC).isoformat(timespec="seconds"),
    )
    conn.execute(
        "INSERT INTO peers(agency_id, address, ca_pem, country, added_at) VALUES (?,?,?,?,?) "
        "ON CONFLICT(agency_id) DO UPDATE SET address=excluded.address, "
        "ca_pem=excluded.ca_pem, country=excluded.country, added_at=excluded.added_at",
        (peer.agency_id, peer.address, peer.ca_pem, peer.country, peer.added_at),
    )
    return peer


def remove(conn: sqlite3.Connection, agency_id: str) -> None:
    cur = conn.execute("DELETE FROM peers WHERE agency_id = ?", (agency_id,))
    if cur.rowcount == 0:
        raise PeerError(f"no peer {agency_id!r} — see 'spoor peers list'")


def get(conn: sqlite3.Connection, agency_id: str) -> Peer:
    row = conn.execute("SELECT * FROM peers WHERE agency_id = ?", (agency_id,)).fetchone()
    if row is None:
        raise PeerError(f"no peer {agency_id!r} — add it with 'spoor peers add'")
    return Peer(**dict(row))


def list_peers(conn: sqlite3.Connection) -> list[Peer]:
    rows = conn.execute("SELECT * FROM peers ORDER BY agency_id").fetchall()
    return [Peer(**dict(r)) for r in rows]
