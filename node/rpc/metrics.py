"""Counts every RPC for the ops port: method, calling peer, status code and latency.

A server interceptor wraps each unary handler. The peer label is the agency
the client certificate names when that agency is a configured peer (else
``unknown``); nothing from the request itself becomes a label.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import grpc

from node import pki
from node.ops.metrics import NodeMetrics
from node.rpc.auth import AGENCY_METADATA_KEY


def _peer_of(context: grpc.ServicerContext) -> str | None:
    certs = context.auth_context().get("x509_pem_cert") or []
    if not certs:  # plaintext debugging mode: the caller names itself
        claimed = dict(context.invocation_metadata()).get(AGENCY_METADATA_KEY)
        return claimed if isinstance(claimed, str) else None
    try:
        return pki.agency_id_from_certificate(certs[0])
    except pki.CertificateError:
        return None


def _code_of(context: grpc.ServicerContext, failed: bool) -> str:
    code = context.code()  # set by abort() or set_code(); None means OK unless it raised
    if isinstance(code, grpc.StatusCode):
        return str(code.name)
    return "UNKNOWN" if failed else "OK"


class MetricsInterceptor(grpc.ServerInterceptor):  # type: ignore[misc]
    """Observes each unary RPC in :class:`NodeMetrics`."""

    def __init__(self, metrics: NodeMetrics) -> None:
        self.metrics = metrics

    def intercept_service(
        self, continuation: Callable[[Any], Any], handler_call_details: Any
    ) -> Any:
        handler = continuation(handler_call_details)
        if handler is None or handler.unary_unary is None:
            return handler
        method = str(handler_call_details.method).rsplit("/", 1)[-1]
        inner = handler.unary_unary
        metrics = self.metrics

        def observed(request: Any, context: grpc.ServicerContext) -> Any:
            started = time.monotonic()
            failed = False
            try:
                return inner(request, context)
            except BaseException:
                failed = True
                raise
            finally:
                metrics.observe_rpc(
                    method,
                    metrics.peer_label(_peer_of(context)),
                    _code_of(context, failed),
                    time.monotonic() - started,
                )

        return grpc.unary_unary_rpc_method_handler(
            observed,
            request_deserializer=handler.request_deserializer,
            response_serializer=handler.response_serializer,
        )
