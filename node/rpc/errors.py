"""The error catalogue: domain error → gRPC status, public message, rich detail.

Public messages are written for a counterpart agency: they say what was wrong
and what to do, and never echo identifiers, record contents, PSI bytes or
internal state. Unknown exceptions become ``INTERNAL`` with a request id that
the local operator can find in the full log entry.

``grpc_testing`` cannot test ``abort_with_status``; :func:`set_error` sets the
trailing metadata, code and details instead, which works in both.
"""

from __future__ import annotations

from dataclasses import dataclass

import grpc
from google.protobuf import any_pb2
from google.rpc import code_pb2, error_details_pb2, status_pb2
from grpc_status import rpc_status

from node.errors import (
    DeadlineTooShort,
    DisclosureNotFound,
    InvalidRequest,
    NotAPeer,
    ServiceUnavailable,
    TicketStateConflict,
    VersionMismatch,
)
from node.match.budget import BudgetExceeded
from node.psi.errors import MalformedPsiMessage, PsiWorkerFailed, SetTooLarge


@dataclass(frozen=True)
class PublicError:
    """What a caller is told about a failure."""

    code: grpc.StatusCode
    message: str
    detail: object | None = None


def _bad_request(field: str, description: str) -> error_details_pb2.BadRequest:
    return error_details_pb2.BadRequest(
        field_violations=[
            error_details_pb2.BadRequest.FieldViolation(field=field, description=description)
        ]
    )


def classify(exc: BaseException, request_id: str) -> PublicError:  # noqa: PLR0911 - the catalogue
    """Map an exception to the status and message a counterpart may see."""
    if isinstance(exc, InvalidRequest):
        return PublicError(
            grpc.StatusCode.INVALID_ARGUMENT,
            f"invalid request: {exc.field} {exc.reason}; correct it and send again",
            _bad_request(exc.field, exc.reason),
        )
    if isinstance(exc, MalformedPsiMessage):
        return PublicError(
            grpc.StatusCode.INVALID_ARGUMENT,
            f"the PSI request is malformed ({exc.field}: {exc.reason}); nothing was computed",
            _bad_request(f"psi_request.{exc.field}", exc.reason),
        )
    if isinstance(exc, VersionMismatch):
        return PublicError(
            grpc.StatusCode.FAILED_PRECONDITION,
            f"{exc.what} mismatch: this node uses {exc.ours}, the request uses {exc.theirs}; "
            "both agencies must run the same version to match",
            error_details_pb2.PreconditionFailure(
                violations=[
                    error_details_pb2.PreconditionFailure.Violation(
                        type="VERSION", subject=exc.what, description=str(exc)
                    )
                ]
            ),
        )
    if isinstance(exc, SetTooLarge):
        return PublicError(
            grpc.StatusCode.RESOURCE_EXHAUSTED,
            f"the request holds {exc.actual} elements; this node accepts at most {exc.limit} "
            "per request — split it",
            error_details_pb2.QuotaFailure(
                violations=[
                    error_details_pb2.QuotaFailure.Violation(
                        subject="elements_per_request",
                        description=f"limit {exc.limit}, requested {exc.actual}",
                    )
                ]
            ),
        )
    if isinstance(exc, BudgetExceeded):
        left = max(exc.limit - exc.used, 0)
        return PublicError(
            grpc.StatusCode.RESOURCE_EXHAUSTED,
            f"element budget for {exc.period} exhausted ({left} of {exc.limit} left, "
            f"{exc.requested} requested); nothing was computed — try a smaller request or "
            "the next period",
            error_details_pb2.QuotaFailure(
                violations=[
                    error_details_pb2.QuotaFailure.Violation(
                        subject=f"peer:{exc.agency_id}/period:{exc.period}",
                        description=(
                            f"limit {exc.limit}, used {exc.used}, requested {exc.requested}"
                        ),
                    )
                ]
            ),
        )
    if isinstance(exc, NotAPeer):
        return PublicError(
            grpc.StatusCode.PERMISSION_DENIED,
            "this node does not accept requests from your certificate: your agency is not a "
            "configured peer or your certificate does not chain to the CA pinned for it",
            error_details_pb2.ErrorInfo(reason="NOT_A_PEER", domain="spoor"),
        )
    if isinstance(exc, DeadlineTooShort):
        return PublicError(
            grpc.StatusCode.DEADLINE_EXCEEDED,
            "the call's deadline leaves too little time to compute a match; nothing was "
            "computed — retry with a longer deadline",
        )
    if isinstance(exc, ServiceUnavailable):
        return PublicError(
            grpc.StatusCode.UNAVAILABLE, "the node cannot serve this request right now; retry later"
        )
    if isinstance(exc, PsiWorkerFailed):
        return PublicError(
            grpc.StatusCode.INTERNAL,
            f"the match could not be computed (reference {request_id}); nothing was disclosed",
            error_details_pb2.RequestInfo(request_id=request_id),
        )
    if isinstance(exc, DisclosureNotFound):
        # Unknown and foreign references answer identically, so nothing leaks.
        return PublicError(
            grpc.StatusCode.NOT_FOUND,
            f"no {exc.what} {exc.reference!r} is known for your agency; nothing was disclosed — "
            "check the reference your node stored when it sent the request",
            error_details_pb2.ErrorInfo(
                reason="NOT_FOUND", domain="spoor", metadata={"resource": exc.what}
            ),
        )
    if isinstance(exc, TicketStateConflict):
        return PublicError(
            grpc.StatusCode.FAILED_PRECONDITION,
            f"ticket {exc.ticket_id} is {exc.status}: {exc.reason}; {exc.hint}",
            error_details_pb2.PreconditionFailure(
                violations=[
                    error_details_pb2.PreconditionFailure.Violation(
                        type="TICKET_STATE", subject=exc.ticket_id, description=exc.reason
                    )
                ]
            ),
        )
    return PublicError(
        grpc.StatusCode.INTERNAL,
        f"internal error (reference {request_id}); nothing was disclosed",
        error_details_pb2.RequestInfo(request_id=request_id),
    )


def set_error(context: grpc.ServicerContext, error: PublicError) -> None:
    """Attach code, message and a google.rpc.Status detail to the call."""
    details = []
    if error.detail is not None:
        packed = any_pb2.Any()
        packed.Pack(error.detail)  # type: ignore[arg-type]
        details.append(packed)
    status = status_pb2.Status(
        code=getattr(code_pb2, error.code.name), message=error.message, details=details
    )
    rich = rpc_status.to_status(status)
    context.set_trailing_metadata(rich.trailing_metadata)
    context.set_code(rich.code)
    context.set_details(rich.details)


def details_of(status: status_pb2.Status) -> list[str]:
    """Human-readable lines for the rich details a peer sent back (client side)."""
    lines: list[str] = []
    for item in status.details:
        for cls in (
            error_details_pb2.BadRequest,
            error_details_pb2.QuotaFailure,
            error_details_pb2.PreconditionFailure,
            error_details_pb2.ErrorInfo,
            error_details_pb2.RequestInfo,
        ):
            if item.Is(cls.DESCRIPTOR):
                msg = cls()
                item.Unpack(msg)
                lines.append(f"{cls.__name__}: {msg}".strip().replace("\n", "; "))
    return lines
