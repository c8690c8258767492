"""The local lookup: the agency's own systems ask every counterpart at once, from held setups."""

from __future__ import annotations

from node.lookup.fanout import LocalLookup, PeerAnswer

__all__ = ["LocalLookup", "PeerAnswer"]
