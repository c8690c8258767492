"""The root of the node's domain errors, and the errors shared by its flows.

Every exception the node raises on purpose derives from :class:`SpoorError`
and keeps its constructor arguments as attributes, named in ``FIELDS``. The
catalogue in ``node.rpc.errors`` maps each class to a gRPC status, a public
message templated from the fields that are safe to show, a ``google.rpc``
detail, a log level and, for refusals, an audit event; the CLI turns them into
exit codes. Messages (``str(exc)``) are for the local operator and may name
paths or values a counterpart must never see.

The policy language keeps its own root (``policy.errors.PolicyLanguageError``)
because ``policy`` does not depend on the node; the catalogue maps it too.
"""

from __future__ import annotations

from typing import Any, ClassVar


class SpoorError(Exception):
    """Root of every domain error the node raises on purpose."""

    #: The constructor's arguments, kept as attributes of the same names.
    FIELDS: ClassVar[tuple[str, ...]] = ()

    def fields(self) -> dict[str, Any]:
        """The structured fields, by name (for the catalogue; not all are safe to show)."""
        return {name: getattr(self, name) for name in self.FIELDS}


class InvalidRequest(SpoorError):
    """A request field is missing or malformed."""

    FIELDS = ("field", "reason")

    def __init__(self, field: str, reason: str) -> None:
        self.field = field
        self.reason = reason
        super().__init__(f"{field}: {reason}")


class VersionMismatch(SpoorError):
    """The two nodes speak different protocol or key-scheme versions."""

    FIELDS = ("what", "ours", "theirs")

    def __init__(self, what: str, ours: int, theirs: int) -> None:
        self.what = what
        self.ours = ours
        self.theirs = theirs
        super().__init__(f"{what} mismatch: this node speaks {ours}, the request uses {theirs}")


class NotAPeer(SpoorError):
    """The caller is not a configured peer, or its certificate does not chain to the pinned CA."""

    FIELDS = ("reason",)

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(reason)


class CertificateRevoked(NotAPeer):
    """The caller's certificate is on the CRL installed for its agency."""


class ServiceUnavailable(SpoorError):
    """The node cannot serve right now (e.g. no valid policy loaded)."""

    FIELDS = ("reason",)

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(reason)


class DeadlineTooShort(SpoorError):
    """The caller's deadline leaves too little time to start the work."""

    FIELDS = ("remaining_s",)

    def __init__(self, remaining_s: float) -> None:
        self.remaining_s = remaining_s
        super().__init__(f"only {remaining_s:.2f}s left before the caller's deadline")


class DisclosureNotFound(SpoorError):
    """No disclosure request or ticket by that reference exists for this caller.

    An unknown reference and one belonging to another agency raise the same
    error with the same message, so nothing about other agencies leaks.
    """

    FIELDS = ("what", "reference")

    def __init__(self, what: str, reference: str) -> None:
        self.what = what
        self.reference = reference
        super().__init__(f"no {what} {reference!r} is known for you")


class TicketStateConflict(SpoorError):
    """An approval ticket is not in a state that allows the action (e.g. overdue, decided)."""

    FIELDS = ("ticket_id", "status", "reason", "hint")

    def __init__(self, ticket_id: str, status: str, reason: str, hint: str) -> None:
        self.ticket_id = ticket_id
        self.status = status
        self.reason = reason
        self.hint = hint
        super().__init__(f"ticket {ticket_id} is {status}: {reason}; {hint}")
