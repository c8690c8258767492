"""Key-scheme negotiation between two nodes during a transition.

Every node stores the keys of each scheme in :data:`~node.records.keys.STORED_SCHEMES`
(the key string carries its scheme: ``v1|…``, ``v2|…``), so it can answer a
peer on an older scheme while its own requests use the newest one both sides
know. The requester calls :func:`choose_scheme` with the schemes the peer
advertises in ``Describe`` and derives its query keys in the scheme chosen;
the responder calls :func:`check_requested_scheme` and matches only the stored
keys of that scheme (:func:`keys_of_scheme`).
"""

from __future__ import annotations

from collections.abc import Iterable

from node.errors import VersionMismatch
from node.records.keys import KEY_SCHEME_VERSION, STORED_SCHEMES, SUPPORTED_SCHEMES


def advertised_schemes(stored: Iterable[int] = STORED_SCHEMES) -> tuple[int, ...]:
    """The schemes this node can answer, newest first (what ``Describe`` should list)."""
    return tuple(sorted(set(stored) & set(SUPPORTED_SCHEMES), reverse=True))


def choose_scheme(peer: Iterable[int], own: Iterable[int] = SUPPORTED_SCHEMES) -> int:
    """The highest scheme both sides support; :class:`VersionMismatch` when none is shared.

    A peer whose ``Describe`` carries a single version (code older than
    scheme negotiation) is passed as that one version.
    """
    peer_set = set(peer)
    common = peer_set & set(own)
    if not common:
        theirs = max(peer_set) if peer_set else 0
        raise VersionMismatch("key-scheme version", KEY_SCHEME_VERSION, theirs)
    return max(common)


def check_requested_scheme(requested: int, stored: Iterable[int] = STORED_SCHEMES) -> int:
    """The scheme a responder matches in: the requested one, if its keys are stored."""
    if requested not in set(stored) & set(SUPPORTED_SCHEMES):
        raise VersionMismatch("key-scheme version", KEY_SCHEME_VERSION, requested)
    return requested


def scheme_of(key: str) -> int:
    """The scheme of a complete key string (``v2|phone|+8491…`` → 2); ValueError otherwise."""
    head, sep, _ = key.partition("|")
    if not sep or not head.startswith("v") or not head[1:].isdigit():
        raise ValueError(f"{key[:20]!r} is not a complete match key ('v<scheme>|<type>|…')")
    return int(head[1:])


def keys_of_scheme(keys: Iterable[str], scheme: int) -> list[str]:
    """The keys of one scheme, in their order (a record's stored keys hold every scheme)."""
    prefix = f"v{scheme}|"
    return [k for k in keys if k.startswith(prefix)]
