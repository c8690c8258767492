"""What reaching a counterpart looks like to the domain, whatever the transport.

The requester's match and disclosure flows talk to a counterpart through a
channel (``node.match.channel.MatchChannel``,
``node.disclosure.requester.DisclosureChannel``); production channels are
gRPC (``node.rpc.channels``), tests use fakes. A failed call surfaces as
:class:`PeerCallFailed` with the counterpart's status and public message.
"""

from __future__ import annotations

from dataclasses import dataclass

from node.errors import SpoorError


class PeerCallFailed(SpoorError):
    """A call to a counterpart failed; carries its status and public message."""

    FIELDS = ("peer", "code", "message", "details")

    def __init__(self, peer: str, code: str, message: str, details: list[str]) -> None:
        self.peer = peer
        self.code = code
        self.message = message
        self.details = details
        extra = f" [{'; '.join(details)}]" if details else ""
        super().__init__(f"{peer}: {code}: {message}{extra}")


@dataclass(frozen=True)
class Vocabulary:
    """Purposes and legal bases a counterpart accepts from one requester, and its budget left."""

    purposes: tuple[str, ...]
    legal_bases: tuple[str, ...]
    budget_remaining: int = 0
    budget_period: str = ""


@dataclass(frozen=True)
class PeerDescription:
    """A counterpart's Describe answer."""

    agency_id: str
    country: str
    protocol_version: int
    key_scheme_version: int
    capabilities: tuple[str, ...]
    policy_digest: str
    max_elements_per_request: int
    software_version: str
    #: For the calling agency, when the counterpart advertises it (``match.vocabulary``).
    vocabulary: Vocabulary | None = None
    #: Every scheme the counterpart answers in, newest first; empty from a node
    #: that predates scheme negotiation (then ``key_scheme_version`` is its only one).
    key_scheme_versions: tuple[int, ...] = ()

    def schemes(self) -> tuple[int, ...]:
        """The key schemes this counterpart can be asked in."""
        return self.key_scheme_versions or (self.key_scheme_version,)
