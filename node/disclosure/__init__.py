"""Governed follow-up: disclosure requests, per-record decisions, tickets and approvals.

Responder side: :class:`DisclosureResponder` decides requests under the release
policy; :mod:`node.disclosure.tickets` is what legal officers use to approve,
deny and reopen tickets. Requester side: :mod:`node.disclosure.requester`
sends requests for chosen hits and keeps what is released;
:mod:`node.disclosure.export` writes it out with its conditions and purges it
after retention. No module here imports gRPC (the wire mapping is ``node.rpc.wire``).
"""

from __future__ import annotations

from node.disclosure.model import (
    DENY,
    NOT_RELEASABLE,
    PENDING_APPROVAL,
    RELEASE,
    DisclosureAnswer,
    DisclosureCall,
    ItemDecision,
)
from node.disclosure.responder import DisclosureResponder

__all__ = [
    "DENY",
    "NOT_RELEASABLE",
    "PENDING_APPROVAL",
    "RELEASE",
    "DisclosureAnswer",
    "DisclosureCall",
    "DisclosureResponder",
    "ItemDecision",
]
