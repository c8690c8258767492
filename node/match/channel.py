"""How the requester's match flow reaches one counterpart, without any transport.

Production channels speak gRPC (``node.rpc.channels.PeerMatchChannel``);
tests use a fake that answers with a real PSI responder in process. A failed
call raises :class:`~node.peers.channel.PeerCallFailed`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from node.match.responder import MatchCall, MatchReply
from node.peers.channel import PeerDescription


class MatchChannel(Protocol):
    """Describe and Match with one counterpart; closed when the flow is done with it."""

    peer_id: str
    address: str

    def describe(self) -> PeerDescription:
        """What the counterpart says about itself (versions, limits, policy digest)."""
        ...

    def match(self, call: MatchCall) -> MatchReply:
        """Send one PSI request; the counterpart's setup and response come back unchecked."""
        ...

    def __enter__(self) -> MatchChannel: ...

    def __exit__(self, *exc: object) -> None: ...


#: Opens the channel to the counterpart with this agency id.
ChannelFactory = Callable[[str], MatchChannel]
