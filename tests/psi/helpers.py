"""Helpers shared by the PSI tests: honest exchanges and message surgery."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import private_set_intersection.python as psi

from node.psi import ClientSession, ServerResult, process, start

REQUESTER_KEYS = [f"v1|passport|VNM|C{i:07d}" for i in range(40)]
RESPONDER_KEYS = [f"v1|passport|VNM|C{i:07d}" for i in range(25, 70)]
SHARED_POSITIONS = list(range(25, 40))


@dataclass
class Exchange:
    """A requester session and the responder's honest answer to it."""

    session: ClientSession
    result: ServerResult

    @property
    def setup_bytes(self) -> bytes:
        return self.result.setup_bytes

    @property
    def response_bytes(self) -> bytes:
        return self.result.response_bytes


def make_exchange(
    requester: Sequence[str] = REQUESTER_KEYS,
    responder: Sequence[str] = RESPONDER_KEYS,
    *,
    reveal: bool = True,
) -> Exchange:
    """Run the requester's and responder's steps in-process."""
    session = start(requester, reveal=reveal)
    return Exchange(session, process(responder, session.request_bytes, reveal=reveal))


def mutate_setup(setup_bytes: bytes, change: Callable[[Any], object]) -> bytes:
    """Parse a setup, apply ``change`` to the message, and serialize it again."""
    setup = psi.ServerSetup()
    setup.ParseFromString(setup_bytes)
    change(setup)
    data: bytes = setup.SerializeToString()
    return data


def mutate_response(response_bytes: bytes, change: Callable[[Any], object]) -> bytes:
    """Parse a response, apply ``change`` to the message, and serialize it again."""
    response = psi.Response()
    response.ParseFromString(response_bytes)
    change(response)
    data: bytes = response.SerializeToString()
    return data
