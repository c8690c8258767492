"""Agency PKI: CAs, node certificates, agency identity, chain checks and revocation.

Trust between agencies is bilateral: each agency runs its own CA, and each peer
entry pins the one CA that the counterpart's node certificates chain to. A node
certificate names its agency in a ``spoor://agency/<agency_id>`` URI SAN.

What a node does with a caller's certificate on every call::

    agency_id = agency_id_from_certificate(cert_pem)      # who it claims to be
    peer = peers[agency_id]                               # refuse if unknown
    check_peer_certificate(cert_pem, peer.ca_pem, crl_pem=peer.crl_pem)
"""

from __future__ import annotations

from node.pki.errors import AgencyIdError, CertificateError, CountryCodeError, PkiError
from node.pki.files import (
    DEFAULT_HOSTNAMES,
    DEFAULT_IPS,
    ConfigMismatchError,
    HomeIdentity,
    IssuedCertificate,
    PkiFileExistsError,
    PkiFileMissingError,
    crl_path,
    init_home_ca,
    issue_home_certificate,
    node_agency_id,
    read_ca,
    read_ca_certificate,
    read_home_identity,
    read_node_certificate,
    resolve_identity,
    revoke_in_home,
)
from node.pki.identity import (
    AGENCY_URI_PREFIX,
    agency_dns_name,
    agency_id_from_certificate,
    agency_uri,
    fingerprint,
    load_certificate,
    parse_serial,
    serial_hex,
    validate_agency_id,
    validate_country,
)
from node.pki.issue import CA_DAYS, NODE_DAYS, create_ca, issue_node_certificate
from node.pki.peer import check_peer_certificate
from node.pki.revocation import REASONS, is_revoked, load_crl, revoke, revoked_serials
from node.pki.verify import load_ca, verify_chain

__all__ = [
    "AGENCY_URI_PREFIX",
    "CA_DAYS",
    "DEFAULT_HOSTNAMES",
    "DEFAULT_IPS",
    "NODE_DAYS",
    "REASONS",
    "AgencyIdError",
    "CertificateError",
    "ConfigMismatchError",
    "CountryCodeError",
    "HomeIdentity",
    "IssuedCertificate",
    "PkiError",
    "PkiFileExistsError",
    "PkiFileMissingError",
    "agency_dns_name",
    "agency_id_from_certificate",
    "agency_uri",
    "check_peer_certificate",
    "create_ca",
    "crl_path",
    "fingerprint",
    "init_home_ca",
    "is_revoked",
    "issue_home_certificate",
    "issue_node_certificate",
    "load_ca",
    "load_certificate",
    "load_crl",
    "node_agency_id",
    "parse_serial",
    "read_ca",
    "read_ca_certificate",
    "read_home_identity",
    "read_node_certificate",
    "resolve_identity",
    "revoke",
    "revoke_in_home",
    "revoked_serials",
    "serial_hex",
    "validate_agency_id",
    "validate_country",
    "verify_chain",
]
