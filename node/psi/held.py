"""PSI steps for epoch setups: shard builds, keyed responses and held-setup lookups.

A responder serving held setups keeps one server key per peer, view and epoch
(``node.setups.epochs``). With that key it builds one GCS setup per shard once
(``build_shard_setup``) and, per lookup, only re-blinds the request's own
points (``process_with_key``). The requester keeps the shards it synced and
computes its intersection against the few shards its keys fall in
(``held_intersection``).

Every function here that touches the library is module-level so it runs in a
PSI worker process (``node.psi.pool``) under that worker's memory and time
limits; keys travel to the worker over its private socket and are never
written anywhere. ``check_shard_setup`` validates a counterpart's shard in
pure Python before the library may read it, and is meant to run in a worker
too, so even the validator of hostile bytes is bounded.
"""

from __future__ import annotations

import hashlib
import secrets
import threading
from collections import OrderedDict
from collections.abc import Sequence
from typing import Any

import private_set_intersection.python as psi

from node.psi.errors import MalformedPsiMessage
from node.psi.messages import DEFAULT_LIMITS, Limits, parse_request, parse_response, parse_setup
from node.psi.server import effective_fpr

# P-256 group order: a server key is a scalar in [1, n).
_P256_ORDER = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551
KEY_BYTES = 32


def valid_key(key: bytes) -> bool:
    """True when ``key`` is a usable P-256 server key (32 bytes, a scalar in [1, n))."""
    return len(key) == KEY_BYTES and 0 < int.from_bytes(key, "big") < _P256_ORDER


# A worker keeps the library objects of its few most recent epoch keys: making
# one costs milliseconds, more than re-blinding a lookup's points. They live in
# the worker's memory only (workers never dump core) and go with the worker
# when it is recycled; the parent still decides which key answers a lookup.
_SERVERS: OrderedDict[tuple[bytes, bool], Any] = OrderedDict()
_MAX_SERVERS = 4


def _server_for(key: bytes, reveal: bool) -> Any:
    slot = (bytes(key), reveal)
    server = _SERVERS.get(slot)
    if server is None:
        server = psi.server.CreateFromKey(key, reveal)
        _SERVERS[slot] = server
        while len(_SERVERS) > _MAX_SERVERS:
            _SERVERS.popitem(last=False)
    else:
        _SERVERS.move_to_end(slot)
    return server


def build_shard_setup(key: bytes, elements: Sequence[str], num_client: int, fpr: float) -> bytes:
    """Build one shard's GCS setup under the epoch ``key`` (runs in a worker).

    ``num_client`` is the number of membership tests the setup must answer in
    its epoch (the peer's element budget over the epoch), so the false-positive
    rate ``fpr`` holds over every lookup of the epoch, not just one.
    """
    chosen = effective_fpr(fpr, num_client, len(elements))
    server = _server_for(key, True)  # one key set-up per worker and epoch, not per shard
    setup = server.CreateSetupMessage(chosen, num_client, list(elements), psi.DataStructure.GCS)
    data: bytes = setup.SerializeToString()
    return data


def build_shard_setups(
    key: bytes, shards: Sequence[Sequence[str]], num_client: int, fpr: float
) -> list[bytes]:
    """Build several shards in one worker call (amortises the round trip)."""
    return [build_shard_setup(key, s, num_client, fpr) for s in shards]


def process_with_key(
    key: bytes, request_bytes: bytes, reveal: bool, max_elements: int | None = None
) -> bytes:
    """Re-blind a validated request under the epoch ``key`` (runs in a worker)."""
    request = parse_request(request_bytes, reveal=reveal, max_elements=max_elements)
    server = _server_for(key, reveal)
    try:
        response = server.ProcessRequest(request)
    except RuntimeError:
        raise MalformedPsiMessage(
            "request.encrypted_elements", "holds an element that is not a point on P-256"
        ) from None
    data: bytes = response.SerializeToString()
    return data


def check_shard_setup(
    setup_bytes: bytes, expected_digest: str, limits: Limits = DEFAULT_LIMITS
) -> int:
    """Validate one synced shard; return its size in bytes (runs in a worker).

    The digest must match the manifest the shard was announced in, and the
    setup must pass the same field checks as a one-shot setup, including the
    full Golomb decode that keeps the library from reading past its buffer.
    """
    if hashlib.sha256(setup_bytes).hexdigest() != expected_digest:
        raise MalformedPsiMessage("shard.setup", "does not match the digest in the manifest")
    setup = parse_setup(setup_bytes, limits=limits, client_count=1)
    if setup.WhichOneof("data_structure") != "gcs":
        raise MalformedPsiMessage("shard.setup", "is not a GCS setup")
    return len(setup_bytes)


def held_intersection(
    client_key: bytes,
    response_bytes: bytes,
    groups: Sequence[tuple[bytes, Sequence[int]]],
) -> list[int]:
    """Indices of the request found in the held shards (runs in a worker).

    ``groups`` pairs each held shard setup with the request positions whose
    keys fall in that shard. Each shard is tested only with its own positions,
    so a lookup decodes only the shards its keys fall in and a hit in a shard
    a key cannot belong to is impossible by construction.
    """
    return intersect_with(psi.client.CreateFromKey(client_key, True), response_bytes, groups)


def intersect_with(
    client: Any, response_bytes: bytes, groups: Sequence[tuple[bytes, Sequence[int]]]
) -> list[int]:
    """:func:`held_intersection` with the client key's library object already made.

    A key already found in an earlier group (its base shard) is not tested
    again in a later one (its delta shard): it is a hit either way, and each
    test costs a point multiplication.
    """
    response = psi.Response()
    response.ParseFromString(response_bytes)
    found: list[int] = []
    seen: set[int] = set()
    for setup_bytes, asked in groups:
        positions = [p for p in asked if p not in seen]
        if not positions:
            continue
        setup = psi.ServerSetup()
        setup.ParseFromString(setup_bytes)
        sub = psi.Response()
        sub.encrypted_elements.extend(response.encrypted_elements[i] for i in positions)
        try:
            local = client.GetIntersection(setup, sub)
        except RuntimeError:
            raise MalformedPsiMessage(
                "response.encrypted_elements", "holds an element that is not a point on P-256"
            ) from None
        hits = [positions[int(i)] for i in local if 0 <= int(i) < len(positions)]
        found.extend(hits)
        seen.update(hits)
    return sorted(set(found))


def check_response(response_bytes: bytes, expected_count: int) -> None:
    """Validate a keyed response before the library reads it (pure Python)."""
    parse_response(response_bytes, expected_count=expected_count)


def create_request(client_key: bytes, elements: Sequence[str]) -> list[bytes]:
    """Blind ``elements`` under ``client_key``; the points in order (runs in a worker).

    A large request is blinded in slices on several workers with the same
    fresh key, then joined; the result equals one ``CreateRequest`` call.
    """
    client = psi.client.CreateFromKey(client_key, True)
    request = client.CreateRequest(list(elements))
    return [bytes(p) for p in request.encrypted_elements]


def blind_inline(client_key: bytes, elements: Sequence[str], client: Any = None) -> bytes:
    """A request for ``elements`` under ``client_key``, made in this process (small requests).

    ``client`` is the library object already made for ``client_key`` (see
    :class:`SpareClients`); without it one is made here.
    """
    if client is None:
        client = psi.client.CreateFromKey(client_key, True)
    data: bytes = client.CreateRequest(list(elements)).SerializeToString()
    return data


def new_client_key() -> bytes:
    """A uniformly random P-256 scalar from the OS generator, for one lookup."""
    while True:
        key = secrets.token_bytes(KEY_BYTES)
        if valid_key(key):
            return key


class SpareClients:
    """Fresh client keys with their library objects, made ahead of time.

    Making the library object for a key costs milliseconds, several times the
    blinding of a lookup's few keys. A lookup takes a spare made in the
    background instead (or makes one itself when none is left). Every key comes
    from the OS generator and serves exactly one lookup; spares live in memory
    only and at most ``keep`` of them exist.
    """

    def __init__(self, keep: int = 4) -> None:
        self.keep = keep
        self._lock = threading.Lock()
        self._spare: list[tuple[bytes, Any]] = []
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None

    def take(self) -> tuple[bytes, Any]:
        """A key used for nothing else, and its client object."""
        with self._lock:
            spare = self._spare.pop() if self._spare else None
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._fill, name="spoor-psi-spares", daemon=True
                )
                self._thread.start()
        self._wake.set()
        if spare is not None:
            return spare
        key = new_client_key()
        return key, psi.client.CreateFromKey(key, True)

    def _fill(self) -> None:
        while True:
            self._wake.wait()
            self._wake.clear()
            while True:
                with self._lock:
                    if len(self._spare) >= self.keep:
                        break
                key = new_client_key()
                made = (key, psi.client.CreateFromKey(key, True))
                with self._lock:
                    self._spare.append(made)


def join_request(slices: Sequence[Sequence[bytes]]) -> bytes:
    """One reveal-mode request from the points of consecutive slices."""
    request = psi.Request()
    request.reveal_intersection = True
    for points in slices:
        request.encrypted_elements.extend(points)
    data: bytes = request.SerializeToString()
    return data


def split_request(request_bytes: bytes, parts: int) -> list[bytes]:
    """Split a reveal-mode request into ``parts`` requests of consecutive points."""
    request = psi.Request()
    request.ParseFromString(request_bytes)
    points = list(request.encrypted_elements)
    step = -(-len(points) // parts)
    out = []
    for i in range(0, len(points), step):
        part = psi.Request()
        part.reveal_intersection = True
        part.encrypted_elements.extend(points[i : i + step])
        out.append(part.SerializeToString())
    return out


def join_responses(responses: list[bytes]) -> bytes:
    """Concatenate responses to consecutive slices of one request (reveal mode keeps order)."""
    joined = psi.Response()
    for data in responses:
        part = psi.Response()
        part.ParseFromString(data)
        joined.encrypted_elements.extend(part.encrypted_elements)
    out: bytes = joined.SerializeToString()
    return out
