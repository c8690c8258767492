"""Errors raised by the PKI module.

Every error carries structured fields so the CLI and the RPC layer can turn it
into an exit code or a gRPC status without parsing the message.
"""

from __future__ import annotations

from typing import ClassVar

from node.errors import SpoorError


class PkiError(SpoorError):
    """Base class of every PKI error."""

    FIELDS: ClassVar[tuple[str, ...]] = ("reason",)

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(reason)


class AgencyIdError(PkiError, ValueError):
    """An agency id does not follow the agency-id rules."""

    FIELDS = ("value",)

    def __init__(self, value: str) -> None:
        self.value = value
        super().__init__(
            f"{value!r} is not a valid agency id: use 2 to 63 lowercase letters, digits "
            "and hyphens, starting with a letter or digit (for example 'ke-kws', "
            "'vn-customs', 'mz-pgr')"
        )


class CountryCodeError(PkiError, ValueError):
    """A country is not an ISO 3166-1 alpha-2 code."""

    FIELDS = ("value",)

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

    FIELDS = ("reason", "code")

    def __init__(self, reason: str, *, code: str = "invalid") -> None:
        super().__init__(reason)
        self.code = code
