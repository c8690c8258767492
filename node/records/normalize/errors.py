"""The error raised for an identifier that cannot be keyed."""

from __future__ import annotations

from node.errors import SpoorError


class InvalidIdentifierError(SpoorError, ValueError):
    """An identifier failed validation (format or check digit) and must not be keyed.

    ``kind`` names the identifier type (``container``, ``phone`` ...), ``value``
    is the text as written and ``reason`` says what is wrong with it.
    """

    FIELDS = ("kind", "value", "reason")

    def __init__(self, kind: str, value: str, reason: str) -> None:
        super().__init__(f"{kind} {value!r}: {reason}")
        self.kind = kind
        self.value = value
        self.reason = reason
