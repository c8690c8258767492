"""The requester's gRPC channels to one counterpart, behind the domain's interfaces.

:class:`PeerMatchChannel` implements ``node.match.channel.MatchChannel`` and
:class:`PeerDisclosureChannel` implements
``node.disclosure.requester.DisclosureChannel``; both encode and decode through
``node.rpc.wire`` and call the counterpart with :class:`~node.rpc.client.PeerClient`
(mutual TLS, revocation check, deadlines, rich errors as ``PeerCallFailed``).
"""

from __future__ import annotations

from node import peers, store
from node.app.config import NodeConfig
from node.app.home import NodeHome
from node.disclosure import DisclosureAnswer, DisclosureCall
from node.disclosure.model import OpenCall
from node.errors import InvalidRequest
from node.match.channel import ChannelFactory, MatchChannel
from node.match.responder import MatchCall, MatchReply
from node.peers.channel import PeerDescription
from node.rpc import wire
from node.rpc.client import PeerClient


class PeerMatchChannel:
    """Describe and Match with one counterpart over gRPC."""

    def __init__(self, client: PeerClient) -> None:
        self.client = client
        self.peer_id = client.peer.agency_id
        self.address = client.peer.address

    def describe(self) -> PeerDescription:
        return self.client.describe()

    def match(self, call: MatchCall) -> MatchReply:
        return wire.match_reply_of(self.client.match(wire.match_request_pb(call)))

    def close(self) -> None:
        self.client.close()

    def __enter__(self) -> PeerMatchChannel:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class PeerDisclosureChannel:
    """Disclose and GetDisclosure with one counterpart over gRPC."""

    def __init__(self, client: PeerClient) -> None:
        self.client = client
        self.peer_id = client.peer.agency_id

    def open_disclosure(self, call: OpenCall) -> bytes:
        response = self.client.open_disclosure(wire.open_disclosure_request_pb(call))
        return bytes(response.psi_request)

    def disclose(self, call: DisclosureCall) -> DisclosureAnswer:
        response = self.client.disclose(wire.disclose_request_pb(call))
        return wire.disclosure_answer_of(self.peer_id, response)

    def get_disclosure(self, disclosure_id: str, include_fields: bool) -> DisclosureAnswer:
        response = self.client.get_disclosure(
            wire.get_disclosure_request_pb(disclosure_id, include_fields)
        )
        return wire.disclosure_answer_of(self.peer_id, response)


def peer_match_channels(
    home: NodeHome, config: NodeConfig, insecure: bool = False
) -> ChannelFactory:
    """Opens a match channel to a configured peer by agency id (peers read at each call)."""

    def open_channel(agency_id: str) -> MatchChannel:
        with store.opened(home.db_path) as conn:
            known = {p.agency_id: p for p in peers.list_peers(conn)}
        if agency_id not in known:
            raise InvalidRequest("peer", f"{agency_id} is not a configured peer")
        return PeerMatchChannel(PeerClient(home, config, known[agency_id], insecure=insecure))

    return open_channel
