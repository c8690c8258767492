"""Private set intersection for Spoor, hardened against a hostile counterpart.

The requester (``start`` → ``ClientSession.finish``) and the responder
(``count_request_elements`` → ``PsiPool.serve`` / ``process``) exchange
serialized OpenMined PSI messages. Every message from the other side is
validated field by field before the library sees it, and library work runs in
worker processes with memory and time limits. ``PSI_PROTOCOL_VERSION`` names
this message format on the wire.
"""

from __future__ import annotations

from node.psi.client import ClientResult, ClientSession, start
from node.psi.errors import MalformedPsiMessage, PsiError, PsiWorkerFailed, SetTooLarge
from node.psi.messages import DEFAULT_LIMITS, Limits
from node.psi.pool import PsiPool, default_pool
from node.psi.server import ServerResult, bucket_size, count_request_elements, process

# Version of the PSI exchange carried in every Match call: OpenMined PSI 2.x
# protobuf messages, P-256 compressed points, GCS setups, client-set size taken
# from the request. Peers refuse calls with a version they do not speak.
PSI_PROTOCOL_VERSION = 1

__all__ = [
    "DEFAULT_LIMITS",
    "PSI_PROTOCOL_VERSION",
    "ClientResult",
    "ClientSession",
    "Limits",
    "MalformedPsiMessage",
    "PsiError",
    "PsiPool",
    "PsiWorkerFailed",
    "ServerResult",
    "SetTooLarge",
    "bucket_size",
    "count_request_elements",
    "default_pool",
    "process",
    "start",
]
