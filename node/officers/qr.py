"""The QR code of an officer's TOTP secret, for an authenticator app to scan.

Drawn with segno (pure Python): as block characters for a terminal
(``spoor officers add`` and ``reset``), as an SVG file, or as an SVG data URI
the console shows inline (its CSP allows ``img-src data:``).
"""

from __future__ import annotations

import io
import os
from pathlib import Path

import segno


def enrolment_qr(uri: str) -> segno.QRCode:
    """The QR code an authenticator app scans: the otpauth URI, error correction M."""
    return segno.make(uri, error="m", micro=False)


def qr_text(uri: str) -> str:
    """The QR code drawn with block characters, as a terminal shows it."""
    out = io.StringIO()
    enrolment_qr(uri).terminal(out=out, compact=True, border=2)
    return out.getvalue()


def qr_data_uri(uri: str) -> str:
    """The QR code as an SVG ``data:`` URI for an ``<img>``."""
    return str(enrolment_qr(uri).svg_data_uri(scale=5, border=4))


def write_qr_svg(uri: str, path: Path) -> None:
    """The QR code as an SVG file only its owner may read (it holds the secret)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(fd, 0o600)
    with os.fdopen(fd, "wb") as handle:
        enrolment_qr(uri).save(handle, kind="svg", scale=6, border=4)
