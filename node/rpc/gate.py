"""Every service behind the same door: a refused certificate gets nothing anywhere.

FederationService authenticates each call itself (``node.rpc.servicer``).
This server interceptor applies the same per-call checks to every *other*
service on the port — health and, when enabled, reflection — so a revoked
certificate, or one naming an agency that is not a peer, is refused there
too instead of learning the node is up and what it serves.

A local probe presents no client certificate — over the plaintext admin
channel (a unix socket in the node home, ``server.admin_socket``), or in
``--insecure`` debugging mode — or the node's own certificate (the operator
holds its key; supervisors and the demo probe that way). Such a call may check
health and nothing else.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import grpc

from node import pki
from node.app.logs import get_logger
from node.errors import NotAPeer
from node.rpc.auth import Authenticator, RefusalAudit, claimed_agency

log = get_logger("spoor.rpc")

HEALTH_PREFIX = "/grpc.health.v1.Health/"
# Epoch secrets for sibling replicas: this agency's own certificate only.
REPLICA_PREFIX = "/spoor.replicas.v1.ReplicaService/"


def _refuse(code: grpc.StatusCode, message: str) -> Callable[[Any, grpc.ServicerContext], Any]:
    def refuse(request: Any, context: grpc.ServicerContext) -> Any:
        context.abort(code, message)

    return refuse


class PeerGate(grpc.ServerInterceptor):  # type: ignore[misc]
    """Refuse non-federation calls whose certificate fails the per-call checks."""

    def __init__(
        self,
        authenticator: Authenticator,
        federation_service: str,
        refusals: RefusalAudit | None = None,
        *,
        own_agency: str = "",
        own_ca_pem: bytes = b"",
        own_crl_path: Path | None = None,
    ) -> None:
        self.authenticator = authenticator
        self.federation_prefix = f"/{federation_service}/"
        self.refusals = refusals
        self.own_agency = own_agency
        self.own_ca_pem = own_ca_pem
        self.own_crl_path = own_crl_path

    def intercept_service(
        self, continuation: Callable[[Any], Any], handler_call_details: Any
    ) -> Any:
        method: str = handler_call_details.method
        handler = continuation(handler_call_details)
        if handler is None or method.startswith(self.federation_prefix):
            return handler  # FederationService authenticates (and audits) each call itself
        return _wrap(handler, lambda context: self._check(method, context))

    def _own(self, cert_pem: bytes) -> bool:
        """Whether ``cert_pem`` is this node's own certificate, chaining to its own CA."""
        if not self.own_agency or not self.own_ca_pem:
            return False
        try:
            pki.check_peer_certificate(
                cert_pem, self.own_ca_pem, expected_agency_id=self.own_agency
            )
        except pki.CertificateError:
            return False
        return True

    def _own_revoked(self, cert_pem: bytes) -> bool:
        """Whether the agency's own CRL lists ``cert_pem`` (an unreadable CRL counts as revoked)."""
        if self.own_crl_path is None:
            return False
        try:
            crl_pem = self.own_crl_path.read_bytes()
        except FileNotFoundError:
            return False
        except OSError:
            return True
        try:
            return pki.is_revoked(cert_pem, crl_pem, self.own_ca_pem)
        except pki.CertificateError:
            return True  # fail closed: secrets only when the CRL says the certificate is good

    def _check(self, method: str, context: grpc.ServicerContext) -> None:
        certs = context.auth_context().get("x509_pem_cert") or []
        if method.startswith(REPLICA_PREFIX):
            self._check_sibling(method, context, certs)
            return
        if method.startswith(HEALTH_PREFIX) and (not certs or self._own(certs[0])):
            return  # a local probe: admin socket, plaintext debugging, or our own certificate
        try:
            self.authenticator.identify(context)
        except NotAPeer as exc:
            agency = claimed_agency(context)
            log.warning(
                "rpc refused",
                method=method,
                peer_address=context.peer(),
                claimed_agency=agency,
                reason=type(exc).__name__,
            )
            if certs and self.refusals is not None:
                self.refusals.refused(agency, type(exc).__name__, context.peer())
            context.abort(
                grpc.StatusCode.PERMISSION_DENIED,
                "this node does not accept requests from your certificate",
            )

    def _check_sibling(
        self, method: str, context: grpc.ServicerContext, certs: list[bytes]
    ) -> None:
        """Only a replica of this agency (its own certificate, its own CA) gets epoch secrets.

        A certificate the agency has revoked (its own CRL, e.g. a replaced
        certificate whose key leaked) is refused like a counterpart's.
        """
        reason = "NotASibling"
        if certs and self._own(certs[0]):
            if not self._own_revoked(certs[0]):
                return
            reason = "RevokedSibling"
        agency = claimed_agency(context)
        log.warning(
            "rpc refused",
            method=method,
            peer_address=context.peer(),
            claimed_agency=agency,
            reason=reason,
        )
        if self.refusals is not None:
            self.refusals.refused(agency, reason, context.peer())
        context.abort(
            grpc.StatusCode.PERMISSION_DENIED,
            "only replicas of this agency may call this service",
        )


def _wrap(handler: Any, check: Callable[[grpc.ServicerContext], None]) -> Any:
    """The same handler with ``check`` run first on every call."""

    def guard(behaviour: Callable[..., Any] | None) -> Callable[..., Any] | None:
        if behaviour is None:
            return None

        def guarded(request: Any, context: grpc.ServicerContext) -> Any:
            check(context)
            return behaviour(request, context)

        return guarded

    return handler._replace(
        unary_unary=guard(handler.unary_unary),
        unary_stream=guard(handler.unary_stream),
        stream_unary=guard(handler.stream_unary),
        stream_stream=guard(handler.stream_stream),
    )
