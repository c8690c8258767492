"""Held setups on the responder's side: epoch keys, cached views, sharded double-buffered builds.

``HeldSetupService`` (``node.setups.service``) is the entry point; the node
wires it to its store, policy, budget and audit in ``node.setups.responder``.
See docs/protocol.md, "Held setups".
"""

from __future__ import annotations

from node.setups.book import Generation, SetupBook, ShardBuilder
from node.setups.epochs import Epoch, EpochKeys
from node.setups.errors import SetupsNotReady, SetupsStale
from node.setups.service import HeldSetupService, KeyedAnswer
from node.setups.shards import ShardLayout
from node.setups.views import View, ViewCache, ViewKey, ViewStamp

__all__ = [
    "Epoch",
    "EpochKeys",
    "Generation",
    "HeldSetupService",
    "KeyedAnswer",
    "SetupBook",
    "SetupsNotReady",
    "SetupsStale",
    "ShardBuilder",
    "ShardLayout",
    "View",
    "ViewCache",
    "ViewKey",
    "ViewStamp",
]
