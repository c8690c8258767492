"""The local lookup API: LocalLookupService on a Unix socket (0600) or localhost with a token.

Only the agency's own systems reach it: the socket file is created with mode
0600 inside the node home (whoever can open it may ask), and the optional
localhost TCP port demands ``authorization: Bearer <token>`` from the token
file (0600). It is a separate gRPC server from the federation port, with its
own threads, so one counterpart's load never starves local lookups.

``PeerChannels`` keeps one verified mutual-TLS PeerClient per counterpart for
the node's lifetime (gRPC reconnects and the server's maximum connection age
still rotate connections), so a lookup pays no handshake.
"""

from __future__ import annotations

import hmac
import os
import secrets
import threading
from collections.abc import Mapping
from concurrent import futures
from pathlib import Path

import grpc
from spoor.lookup.v1 import lookup_pb2 as lk
from spoor.lookup.v1 import lookup_pb2_grpc as lk_grpc

import policy as policy_lang
from node import peers, store
from node.app.config import NodeConfig
from node.app.home import NodeHome
from node.app.logs import get_logger
from node.errors import InvalidRequest, NotAPeer
from node.lookup.fanout import LocalLookup
from node.match.held_record import record_held_match
from node.match.held_requester import Context
from node.match.requester import PeerOutcome, RowResult
from node.records.keys import KEY_SCHEME_VERSION
from node.records.schemes import keys_of_scheme
from node.rpc.client import PeerClient
from node.rpc.held_client import GrpcHeldChannel
from node.store import Connection

log = get_logger("spoor.lookup")

_TOKEN_BYTES = 32
# sockaddr_un holds 108 bytes including the terminating NUL; keep a margin.
MAX_SOCKET_PATH = 100


def socket_path(home: NodeHome, config: NodeConfig) -> Path:
    """Where the local lookup socket lives."""
    return home.root / config.lookup.socket


def ensure_token(home: NodeHome, config: NodeConfig) -> str:
    """The bearer token for the localhost port, created (0600) on first use."""
    path = home.root / config.lookup.token_file
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="ascii") as out:
            out.write(secrets.token_urlsafe(_TOKEN_BYTES))
    return path.read_text(encoding="ascii").strip()


class PeerChannels:
    """One pooled HeldSetupService channel per counterpart."""

    def __init__(self, home: NodeHome, config: NodeConfig, *, insecure: bool = False) -> None:
        self.home = home
        self.config = config
        self.insecure = insecure
        self._lock = threading.Lock()
        self._clients: dict[str, tuple[peers.Peer, PeerClient, GrpcHeldChannel]] = {}

    def configured(self) -> list[str]:
        """Agency ids of the configured counterparts."""
        with store.pooled(self.home.db_path) as conn:
            return [p.agency_id for p in peers.list_peers(conn)]

    def channel_for(self, agency_id: str) -> GrpcHeldChannel:
        """The pooled channel to ``agency_id``, rebuilt when its peer entry changed."""
        with store.pooled(self.home.db_path) as conn:
            peer = peers.get(conn, agency_id)
        with self._lock:
            entry = self._clients.get(agency_id)
            if entry is not None and entry[0] == peer:
                return entry[2]
            if entry is not None:
                entry[1].close()
            client = PeerClient(self.home, self.config, peer, insecure=self.insecure)
            channel = GrpcHeldChannel(client)
            self._clients[agency_id] = (peer, client, channel)
            return channel

    def close(self) -> None:
        """Close every pooled connection."""
        with self._lock:
            for _, client, _ in self._clients.values():
                client.close()
            self._clients.clear()


class LocalLookupServicer(lk_grpc.LocalLookupServiceServicer):
    """Answers the agency's own systems; Unix-socket callers or token holders only."""

    def __init__(self, lookup: LocalLookup, token: str | None) -> None:
        self.lookup_service = lookup
        self._token = token

    def _authorise(self, context: grpc.ServicerContext) -> None:
        if str(context.peer()).startswith("unix:"):
            return  # the socket's file mode decides who may connect
        given = dict(context.invocation_metadata()).get("authorization", "")
        expected = f"Bearer {self._token}" if self._token else None
        if expected is None or not hmac.compare_digest(str(given), expected):
            raise NotAPeer("the local lookup API needs the node's lookup token")

    def Lookup(  # noqa: N802 - gRPC method name
        self, request: lk.LookupRequest, context: grpc.ServicerContext
    ) -> lk.LookupResponse:
        try:
            self._authorise(context)
        except NotAPeer as exc:
            context.set_code(grpc.StatusCode.UNAUTHENTICATED)
            context.set_details(str(exc))
            return lk.LookupResponse()
        try:
            answers = self.lookup_service.lookup(
                list(request.match_keys),
                Context(
                    purpose=request.purpose.strip(),
                    legal_basis=request.legal_basis.strip(),
                    case_reference=request.case_reference.strip(),
                    officer=request.officer.strip(),
                ),
                list(request.peers),
            )
        except InvalidRequest as exc:
            context.set_code(grpc.StatusCode.INVALID_ARGUMENT)
            context.set_details(f"invalid lookup: {exc.field} {exc.reason}")
            return lk.LookupResponse()
        log.info(
            "local lookup",
            keys=len(request.match_keys),
            peers=len(answers),
            failed=sum(1 for a in answers if a.error),
        )
        return lk.LookupResponse(
            peers=[
                lk.PeerLookup(
                    agency_id=a.agency_id,
                    hits=list(a.hits),
                    held=a.held,
                    error=a.error,
                    elements_charged=a.elements_charged,
                    request_id=a.request_id,
                    policy_digest=a.policy_digest,
                )
                for a in answers
            ]
        )


def _bind(server: grpc.Server, address: str) -> int:
    """Bind ``address``; 0 when it cannot be bound (grpcio raises where older ones return 0)."""
    try:
        return int(server.add_insecure_port(address))
    except RuntimeError:
        return 0


def serve_local(
    home: NodeHome, config: NodeConfig, lookup: LocalLookup
) -> tuple[grpc.Server | None, int]:
    """Start the local lookup server on the socket (and the token port when configured).

    Returns the server (``None`` when nothing could be bound; the federation
    port keeps serving and the reason is logged) and the bound TCP port (0
    when there is none).
    """
    server = grpc.server(
        # Its own small thread pool: federation load never starves local lookups.
        futures.ThreadPoolExecutor(max_workers=4),
        options=[("grpc.so_reuseport", 0)],
    )
    token = ensure_token(home, config) if config.lookup.listen else None
    lk_grpc.add_LocalLookupServiceServicer_to_server(LocalLookupServicer(lookup, token), server)
    path = socket_path(home, config)
    bound_socket = False
    if len(str(path).encode()) > MAX_SOCKET_PATH:
        log.warning(
            "local lookup socket not served: its path is too long for a Unix socket; "
            "set lookup.socket to a shorter absolute path",
            length=len(str(path).encode()),
            limit=MAX_SOCKET_PATH,
        )
    else:
        path.parent.mkdir(parents=True, exist_ok=True)
        os.chmod(path.parent, 0o700)
        if path.exists() or path.is_symlink():
            path.unlink()
        # The socket is created under a strict umask, then pinned to 0600 explicitly.
        old = os.umask(0o177)
        try:
            bound_socket = _bind(server, f"unix:{path}") != 0
        finally:
            os.umask(old)
    tcp_port = _bind(server, config.lookup.listen) if config.lookup.listen else 0
    if not bound_socket and not tcp_port:
        log.warning("local lookup API not served: nothing could be bound")
        server.stop(None)
        return None, 0
    server.start()
    if bound_socket:
        os.chmod(path, 0o600)
    log.info("local lookup API serving", socket=bound_socket, tcp=bool(tcp_port))
    return server, tcp_port


class LocalLookupClient:
    """The agency-side client of the local lookup API (used by ``spoor match``)."""

    def __init__(self, target: str, token: str | None = None) -> None:
        self.channel = grpc.insecure_channel(target)
        self.stub = lk_grpc.LocalLookupServiceStub(self.channel)
        self.metadata = (("authorization", f"Bearer {token}"),) if token else ()

    @classmethod
    def for_home(cls, home: NodeHome, config: NodeConfig) -> LocalLookupClient | None:
        """A client to the running node of ``home``, or ``None`` when it is not running."""
        path = socket_path(home, config)
        if not path.exists():
            return None
        client = cls(f"unix:{path}")
        try:
            grpc.channel_ready_future(client.channel).result(timeout=1.0)
        except grpc.FutureTimeoutError:
            client.close()
            return None
        return client

    def lookup(self, request: lk.LookupRequest, timeout: float = 60.0) -> lk.LookupResponse:
        """One lookup; raises ``grpc.RpcError`` on refusal."""
        response: lk.LookupResponse = self.stub.Lookup(
            request, timeout=timeout, metadata=self.metadata
        )
        return response

    def close(self) -> None:
        """Close the channel."""
        self.channel.close()


def match_via_running_node(
    home: NodeHome,
    config: NodeConfig,
    conn: Connection,
    rows: list[RowResult],
    contexts: Mapping[str, policy_lang.RequestContext],
) -> list[PeerOutcome]:
    """Match ``rows`` through the running node's local API; outcomes of the peers it answered.

    Returns nothing when no node is running. A counterpart the node could not
    ask from held setups is left out, for the caller to match directly.
    """
    client = LocalLookupClient.for_home(home, config)
    if client is None:
        return []
    # Held setups are built in the current key scheme only.
    keys = sorted({k for row in rows for k in keys_of_scheme(row.keys, KEY_SCHEME_VERSION)})
    if not keys:
        client.close()
        return []
    rows_by_key: dict[str, list[RowResult]] = {}
    for row in rows:
        for key in row.keys:
            rows_by_key.setdefault(key, []).append(row)
    groups: dict[tuple[str, str, str, str], list[str]] = {}
    for peer, c in contexts.items():
        groups.setdefault((c.purpose, c.legal_basis, c.case_reference, c.officer), []).append(peer)
    outcomes: list[PeerOutcome] = []
    try:
        for (purpose, basis, case, officer), group in groups.items():
            try:
                answer = client.lookup(
                    lk.LookupRequest(
                        match_keys=keys,
                        purpose=purpose,
                        legal_basis=basis,
                        case_reference=case,
                        officer=officer,
                        peers=group,
                    ),
                    timeout=config.limits.rpc_deadline_seconds,
                )
            except grpc.RpcError:
                continue  # the direct path reports what is wrong
            for reply in answer.peers:
                if reply.error or reply.agency_id not in group:
                    continue
                hit_keys = sorted({keys[i] for i in reply.hits if 0 <= i < len(keys)})
                outcomes.append(
                    record_held_match(
                        conn,
                        reply.agency_id,
                        contexts[reply.agency_id],
                        rows_by_key,
                        keys,
                        hit_keys,
                        request_id=reply.request_id,
                        policy_digest=reply.policy_digest,
                    )
                )
    finally:
        client.close()
    return outcomes
