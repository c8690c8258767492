"""Counterpart onboarding bundles: what one agency sends another to be added as a peer.

A bundle is a small JSON file: agency id, country, the address the node is
reached at, its CA certificate and CRL. The file itself can travel by any
channel; its CA fingerprint travels by another (read over the phone, in a
signed letter), and ``spoor peers add --bundle`` refuses a bundle whose CA
does not have the fingerprint given, so a swapped file pins nothing.
"""

from __future__ import annotations

import hmac
import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import ClassVar

from node import pki
from node.app.config import NodeConfig
from node.app.home import NodeHome
from node.errors import SpoorError

FORMAT = "spoor-peer-bundle/1"
PREFIX = "SHA256:"


class BundleError(SpoorError):
    """An onboarding bundle is unreadable or its CA is not the one expected."""

    FIELDS: ClassVar[tuple[str, ...]] = ("reason",)

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(reason)


@dataclass(frozen=True)
class PeerBundle:
    format: str
    agency_id: str
    country: str
    address: str
    ca_pem: str
    crl_pem: str | None

    @property
    def fingerprint_text(self) -> str:
        """``SHA256:<hex>`` of the CA certificate, computed from the certificate itself."""
        return PREFIX + pki.fingerprint(self.ca_pem.encode("ascii"))


def make_bundle(home: NodeHome, config: NodeConfig, address: str) -> PeerBundle:
    crl = pki.crl_path(home)
    return PeerBundle(
        format=FORMAT,
        agency_id=config.agency_id,
        country=config.country,
        address=address,
        ca_pem=pki.read_ca_certificate(home).decode("ascii"),
        crl_pem=crl.read_text(encoding="ascii") if crl.is_file() else None,
    )


def write_bundle(bundle: PeerBundle, path: Path) -> None:
    doc = {**asdict(bundle), "ca_fingerprint": bundle.fingerprint_text}
    path.write_text(json.dumps(doc, indent=2, sort_keys=True) + "\n", encoding="utf-8")


def normalise_fingerprint(text: str) -> str:
    cleaned = text.strip()
    if cleaned.upper().startswith(PREFIX):
        cleaned = cleaned[len(PREFIX) :]
    return cleaned.replace(":", "").lower()


def read_bundle(path: Path, expected_fingerprint: str) -> PeerBundle:
    """Read a bundle and check its CA against ``expected_fingerprint`` (``SHA256:<hex>``)."""
    if not expected_fingerprint.strip():
        raise BundleError(
            "--fingerprint is required with --bundle: ask the counterpart for their CA "
            "fingerprint by another channel than the one the file came by"
        )
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
        bundle = PeerBundle(
            format=raw["format"],
            agency_id=raw["agency_id"],
            country=raw["country"],
            address=raw["address"],
            ca_pem=raw["ca_pem"],
            crl_pem=raw.get("crl_pem"),
        )
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise BundleError(f"{path} is not an onboarding bundle ({exc})") from exc
    if bundle.format != FORMAT:
        raise BundleError(f"{path}: unknown bundle format {bundle.format!r} (expected {FORMAT})")
    try:
        actual = pki.fingerprint(bundle.ca_pem.encode("ascii"))
    except (pki.CertificateError, ValueError) as exc:
        raise BundleError(f"{path}: the CA certificate in it is unreadable ({exc})") from exc
    if not hmac.compare_digest(actual, normalise_fingerprint(expected_fingerprint)):
        raise BundleError(
            f"{path}: the CA in the bundle has fingerprint {PREFIX}{actual}, not the "
            f"{expected_fingerprint.strip()} you were given. The file may have been swapped or "
            "the fingerprint misread; confirm it with the counterpart"
        )
    return bundle
