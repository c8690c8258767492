"""Errors raised by the PKI module.

Every error carries structured fields so the CLI and the RPC layer can turn it
into an exit code or a gRPC status without parsing the message.
"""

from __future__ import annotations


class PkiError(Exception):
    """Base class of every PKI error."""


class AgencyIdError(PkiError, ValueError):
    """An agency id does not follow the agency-id rules."""

    def __init__(self, value: str) -> None:
        self.value = value
        super().__init__(
            f"{value!r} is not a valid agency id: use 2 to 63 lowercase letters, digits "
            "and hyphens, starting with a letter or digit (for example 'ke-kws', "
            "'vn-customs', 'mz-pgr')"
        )


class CountryCodeError(PkiError, ValueError):
    """A country is not an ISO 3166-1 alpha-2 code."""

    def __init__(self, value: str) -> None:
        self.value = value
        super().__init__(
            f"{value!r} is not an ISO 3166-1 alpha-2 country code (for example 'KE', 'VN', 'MZ')"
        )


class CertificateError(PkiError):
    """A certificate, CA certificate or revocation list was refused.

    ``reason`` is a sentence safe to show an operator; ``code`` is a short
    machine-readable tag (``expired``, ``wrong_ca``, ``revoked``, ...).
    """

    def __init__(self, reason: str, *, code: str = "invalid") -> None:
        self.reason = reason
        self.code = code
        super().__init__(reason)
