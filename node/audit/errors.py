"""Exceptions raised by the audit trail."""

from __future__ import annotations

from typing import ClassVar

from node.errors import SpoorError


class AuditError(SpoorError):
    """The audit trail could not record or check something; nothing was changed."""

    FIELDS: ClassVar[tuple[str, ...]] = ("reason",)

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(reason)


class NotInTransactionError(AuditError):
    """``append`` was called outside the caller's open write transaction."""

    FIELDS = ("event",)

    def __init__(self, event: str) -> None:
        self.event = event
        super().__init__(
            f"audit entry {event!r} refused: it must be written inside the same "
            "transaction as the action it records (use 'with node.store.transaction(conn):')"
        )


class UnknownEventError(AuditError):
    """The event name is not in the audit vocabulary."""

    FIELDS = ("event",)

    def __init__(self, event: str) -> None:
        self.event = event
        super().__init__(
            f"audit event {event!r} is not a known event name; nothing was written "
            "(see node.audit.EVENTS and docs/audit.md)"
        )


class InvalidAuditFieldError(AuditError):
    """A field given to ``append`` is unknown or has the wrong type or content."""

    FIELDS = ("field", "reason")

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"audit field {field!r} refused: {reason}; nothing was written")
        self.field = field
        self.reason = reason


class CheckpointError(AuditError):
    """A checkpoint file could not be read or is not a Spoor audit checkpoint."""

    FIELDS = ("source", "reason")

    def __init__(self, source: str, reason: str) -> None:
        super().__init__(f"{source}: {reason}")
        self.source = source
        self.reason = reason


class SigningKeyMissingError(AuditError):
    """The audit signing key is gone although the trail has used one: never replaced silently."""

    FIELDS = ("location",)

    def __init__(self, location: str) -> None:
        self.location = location
        super().__init__(
            f"the audit signing key is missing from {location}; no checkpoint was signed and no "
            "new key was made. Restore the key from its backup, or, if it is truly lost, run "
            "'spoor audit key lost' (audited; older checkpoints stay verifiable by their key)"
        )


class SigningKeyMismatchError(AuditError):
    """The key found is not the one the trail says is in force."""

    FIELDS = ("location", "expected", "found")

    def __init__(self, location: str, expected: str, found: str) -> None:
        self.location = location
        self.expected = expected
        self.found = found
        super().__init__(
            f"the audit signing key in {location} (public key {found[:16]}…) is not the key in "
            f"force ({expected[:16]}…); nothing was signed. Restore the right key, or record the "
            "change with 'spoor audit key rotate' or 'spoor audit key lost'"
        )
