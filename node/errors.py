"""Domain errors shared by the node's flows.

Each carries structured fields; ``node.rpc.errors`` maps them to a gRPC status,
a public message safe for a counterpart, and a ``google.rpc`` detail.
"""

from __future__ import annotations


class SpoorError(Exception):
    """Base of every domain error the node reports to a caller."""


class InvalidRequest(SpoorError):
    """A request field is missing or malformed."""

    def __init__(self, field: str, reason: str) -> None:
        self.field = field
        self.reason = reason
        super().__init__(f"{field}: {reason}")


class VersionMismatch(SpoorError):
    """The two nodes speak different protocol or key-scheme versions."""

    def __init__(self, what: str, ours: int, theirs: int) -> None:
        self.what = what
        self.ours = ours
        self.theirs = theirs
        super().__init__(f"{what} mismatch: this node speaks {ours}, the request uses {theirs}")


class NotAPeer(SpoorError):
    """The caller is not a configured peer, or its certificate does not chain to the pinned CA."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(reason)


class ServiceUnavailable(SpoorError):
    """The node cannot serve right now (e.g. no valid policy loaded)."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(reason)


class DeadlineTooShort(SpoorError):
    """The caller's deadline leaves too little time to start the work."""

    def __init__(self, remaining_s: float) -> None:
        self.remaining_s = remaining_s
        super().__init__(f"only {remaining_s:.2f}s left before the caller's deadline")


class DisclosureNotFound(SpoorError):
    """No disclosure request or ticket by that reference exists for this caller.

    An unknown reference and one belonging to another agency raise the same
    error with the same message, so nothing about other agencies leaks.
    """

    def __init__(self, what: str, reference: str) -> None:
        self.what = what
        self.reference = reference
        super().__init__(f"no {what} {reference!r} is known for you")


class TicketStateConflict(SpoorError):
    """An approval ticket is not in a state that allows the action (e.g. overdue, decided)."""

    def __init__(self, ticket_id: str, status: str, reason: str, hint: str) -> None:
        self.ticket_id = ticket_id
        self.status = status
        self.reason = reason
        self.hint = hint
        super().__init__(f"ticket {ticket_id} is {status}: {reason}; {hint}")
