"""The error catalogue: every domain error → gRPC status, public message, detail, log, audit.

:func:`catalogue` is one table with an entry per error class (a test walks
every ``SpoorError`` and ``PolicyLanguageError`` subclass and fails on a
missing one). An entry says:

* ``code``: the gRPC status a counterpart receives;
* ``message``: the public message, a ``str.format`` template that may name
  only the fields listed in ``public`` (and ``request_id``). It is written for
  a counterpart agency: what was wrong and what to do, never ``repr`` of the
  exception, identifiers, record contents, PSI bytes or internal state;
* ``detail``: the ``google.rpc`` detail, templated the same way
  (:mod:`node.rpc.error_details`);
* ``log``: the level of the call's one summary line (``info``, ``warning``,
  ``error``); ``traceback`` also logs the exception in full, for errors an
  operator must look into; ``logged`` names fields written to that local line
  but never sent;
* ``audit``: for refusals, the audit event a refused Match call writes, with
  the fields named in ``audited`` in its details.

Anything not in the catalogue is logged in full and answered ``INTERNAL`` with
a request id the local operator can find in the log.

``grpc_testing`` cannot test ``abort_with_status``; :func:`set_error` sets the
trailing metadata, code and details instead, which works in both.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Literal

import grpc
from google.protobuf import any_pb2
from google.protobuf.message import Message
from google.rpc import code_pb2, error_details_pb2, status_pb2
from grpc_status import rpc_status

import policy
from node import errors as node_errors
from node import officers, peers
from node.app.config import ConfigError
from node.app.lock import HomeInUse
from node.audit import errors as audit_errors
from node.disclosure.requester import CounterpartReplyError
from node.disclosure.selection import SelectionExpired
from node.match.budget import BudgetExceeded
from node.match.limits import CounterpartRefused
from node.match.plausibility import ImplausibleReply
from node.match.responder import ChargedMalformedRequest, ChargedWorkFailed
from node.officers import credentials
from node.ops.backup import BackupError
from node.ops.bundle import BundleError
from node.pki import errors as pki_errors
from node.pki import files as pki_files
from node.psi import errors as psi_errors
from node.records.importer import ImportRefusedError
from node.records.io import UnreadableFileError
from node.records.normalize.errors import InvalidIdentifierError
from node.records.parse import InvalidRowError
from node.records.profiles import ProfileError
from node.rpc.error_details import (
    BadRequestDetail,
    Detail,
    ErrorInfoDetail,
    PreconditionDetail,
    QuotaDetail,
    RequestIdDetail,
    ResourceDetail,
    fill,
)
from node.rpc.quotas import PeerBusy
from node.setups import errors as setup_errors
from node.store import SchemaTooNew, StoreError, StoreUnavailable
from node.store.location import BadStoreUrl
from node.store.transfer import TargetNotEmpty
from policy.context import InvalidFactsError, InvalidRequestError
from policy.source import SourceError

MATCH_REFUSED = "match.refused"
LogLevel = Literal["info", "warning", "error"]
LOG_LEVELS: tuple[LogLevel, ...] = ("info", "warning", "error")
_MAX_SHOWN = 200  # a public value longer than this is cut


# -- the catalogue ------------------------------------------------------------------


@dataclass(frozen=True)
class Entry:
    """How one error class is answered, logged and audited (see the module docstring)."""

    code: grpc.StatusCode
    message: str
    public: tuple[str, ...] = ()
    detail: Detail | None = None
    log: LogLevel = "info"
    traceback: bool = False
    logged: tuple[str, ...] = ()
    audit: str | None = None
    audited: tuple[str, ...] = ()


# Errors that belong to local work (CLI, start-up, the requester side) and have
# nothing to tell a counterpart: if one ever ends an RPC, it is a fault here.
_LOCAL = Entry(
    grpc.StatusCode.INTERNAL,
    "internal error (reference {request_id}); nothing was disclosed",
    detail=RequestIdDetail(),
    log="error",
    traceback=True,
)
_UNKNOWN = _LOCAL

_ENTRIES: dict[type[BaseException], Entry] = {
    node_errors.InvalidRequest: Entry(
        grpc.StatusCode.INVALID_ARGUMENT,
        "invalid request: {field} {reason}; correct it and send again",
        public=("field", "reason"),
        detail=BadRequestDetail("{field}", "{reason}"),
        audit=MATCH_REFUSED,
        audited=("field",),
    ),
    psi_errors.MalformedPsiMessage: Entry(
        grpc.StatusCode.INVALID_ARGUMENT,
        "the PSI request is malformed ({field}: {reason}); nothing was computed",
        public=("field", "reason"),
        detail=BadRequestDetail("psi_request.{field}", "{reason}"),
        log="warning",
        audit=MATCH_REFUSED,
        audited=("field",),
    ),
    ChargedMalformedRequest: Entry(
        grpc.StatusCode.INVALID_ARGUMENT,
        "the PSI request is malformed ({field}: {reason}); nothing was disclosed, but its "
        "{charged} elements were charged to your budget: a request is counted and charged "
        "before its points can be checked",
        public=("field", "reason", "charged"),
        detail=BadRequestDetail("psi_request.{field}", "{reason}; {charged} elements charged"),
        log="warning",
        audit=MATCH_REFUSED,
        audited=("field", "charged"),
    ),
    ChargedWorkFailed: Entry(
        grpc.StatusCode.INTERNAL,
        "the match could not be computed (reference {request_id}): it failed, ran out of "
        "time or was cancelled; nothing was disclosed, {charged} elements were charged",
        public=("charged",),
        detail=RequestIdDetail(),
        log="error",
        traceback=True,
        logged=("reason",),
        audit=MATCH_REFUSED,
        audited=("reason", "charged"),
    ),
    node_errors.VersionMismatch: Entry(
        grpc.StatusCode.FAILED_PRECONDITION,
        "{what} mismatch: this node uses {ours}, the request uses {theirs}; "
        "both agencies must run the same version to match",
        public=("what", "ours", "theirs"),
        detail=PreconditionDetail(
            "VERSION",
            "{what}",
            "{what} mismatch: this node speaks {ours}, the request uses {theirs}",
        ),
        log="warning",
        audit=MATCH_REFUSED,
        audited=("what", "ours", "theirs"),
    ),
    psi_errors.SetTooLarge: Entry(
        grpc.StatusCode.RESOURCE_EXHAUSTED,
        "the request holds {actual} elements; this node accepts at most {limit} per "
        "request — split it",
        public=("limit", "actual"),
        detail=QuotaDetail("elements_per_request", "limit {limit}, requested {actual}"),
        log="warning",
        audit=MATCH_REFUSED,
        audited=("limit", "actual"),
    ),
    BudgetExceeded: Entry(
        grpc.StatusCode.RESOURCE_EXHAUSTED,
        "element budget for {period} exhausted: {used} of {limit} elements used, "
        "{requested} more requested; nothing was computed — try a smaller request or "
        "the next period",
        public=("agency_id", "period", "limit", "used", "requested"),
        detail=QuotaDetail(
            "peer:{agency_id}/period:{period}",
            "limit {limit}, used {used}, requested {requested}",
        ),
        log="warning",
        audit=MATCH_REFUSED,
        audited=("period", "limit", "used", "requested"),
    ),
    node_errors.NotAPeer: Entry(
        grpc.StatusCode.PERMISSION_DENIED,
        "this node does not accept requests from your certificate: your agency is not a "
        "configured peer or your certificate does not chain to the CA pinned for it",
        detail=ErrorInfoDetail("NOT_A_PEER"),
        log="warning",
        logged=("reason",),
        # Audited by the servicer and the gate as aggregated ``auth.refused`` entries
        # (node.rpc.auth.RefusalAudit), so no caller can grow the trail without bound.
    ),
    node_errors.CertificateRevoked: Entry(
        grpc.StatusCode.PERMISSION_DENIED,
        "this node does not accept requests from your certificate: your agency is not a "
        "configured peer or your certificate does not chain to the CA pinned for it",
        detail=ErrorInfoDetail("NOT_A_PEER"),
        log="warning",
        logged=("reason",),
        # Same answer as NotAPeer; the local log names the revocation.
    ),
    node_errors.DeadlineTooShort: Entry(
        grpc.StatusCode.DEADLINE_EXCEEDED,
        "the call's deadline leaves too little time to compute a match; nothing was "
        "computed — retry with a longer deadline",
        logged=("remaining_s",),
        audit=MATCH_REFUSED,
    ),
    node_errors.ServiceUnavailable: Entry(
        grpc.StatusCode.UNAVAILABLE,
        "the node cannot serve this request right now; retry later",
        detail=ErrorInfoDetail("SERVICE_UNAVAILABLE"),
        log="warning",
        logged=("reason",),
        audit=MATCH_REFUSED,
    ),
    StoreUnavailable: Entry(
        grpc.StatusCode.UNAVAILABLE,
        "the node cannot reach its database right now; nothing was computed or charged — "
        "retry later",
        detail=ErrorInfoDetail("SERVICE_UNAVAILABLE"),
        log="warning",
    ),
    psi_errors.PsiWorkerFailed: Entry(
        grpc.StatusCode.INTERNAL,
        "the match could not be computed (reference {request_id}); nothing was disclosed",
        detail=RequestIdDetail(),
        log="error",
        traceback=True,
    ),
    PeerBusy: Entry(
        grpc.StatusCode.RESOURCE_EXHAUSTED,
        "your agency already has {in_flight} {what} in flight at this node (limit {limit}); "
        "nothing was computed or charged — wait for your calls to finish and retry",
        public=("agency_id", "what", "limit", "in_flight"),
        detail=QuotaDetail("peer:{agency_id}/in_flight:{what}", "limit {limit}"),
        log="warning",
    ),
    SelectionExpired: Entry(
        grpc.StatusCode.FAILED_PRECONDITION,
        "no open selection for request {reference}: it was never opened, was already "
        "used, or expired; nothing was charged — call OpenDisclosure again with a new UUID",
        public=("reference",),
        detail=PreconditionDetail("SELECTION", "{reference}", "no open selection"),
        log="warning",
    ),
    node_errors.DisclosureNotFound: Entry(
        # Unknown and foreign references answer identically, so nothing leaks.
        grpc.StatusCode.NOT_FOUND,
        "no {what} {reference!r} is known for your agency; nothing was disclosed — "
        "check the reference your node stored when it sent the request",
        public=("what", "reference"),
        # The detail names no reference, so both answers are byte-for-byte the same.
        detail=ResourceDetail("{what}", "", "not known for your agency"),
    ),
    node_errors.TicketStateConflict: Entry(
        grpc.StatusCode.FAILED_PRECONDITION,
        "ticket {ticket_id} is {status}: {reason}; {hint}",
        public=("ticket_id", "status", "reason", "hint"),
        detail=PreconditionDetail("TICKET_STATE", "{ticket_id}", "{reason}"),
    ),
    setup_errors.SetupsStale: Entry(
        grpc.StatusCode.FAILED_PRECONDITION,
        "the setups you hold are out of date ({reason}); nothing was matched — sync the "
        "setups (GetSetupManifest, SyncSetups) and look up again",
        public=("reason",),
        detail=ErrorInfoDetail("SETUPS_STALE"),
        audit=MATCH_REFUSED,
    ),
    setup_errors.SetupsNotReady: Entry(
        grpc.StatusCode.UNAVAILABLE,
        "setups for this context are still being built; retry shortly or match directly",
        detail=ErrorInfoDetail("SETUPS_NOT_READY"),
        logged=("reason",),
    ),
    # Local work only.
    node_errors.SpoorError: _LOCAL,
    psi_errors.PsiError: _LOCAL,
    officers.OfficerNotAuthorized: _LOCAL,
    officers.RosterError: _LOCAL,
    credentials.AuthenticationFailed: _LOCAL,
    credentials.AccountLocked: _LOCAL,
    credentials.CredentialError: _LOCAL,
    credentials.SignInRequired: _LOCAL,
    credentials.FormTokenRefused: _LOCAL,
    peers.PeerError: _LOCAL,
    ConfigError: _LOCAL,
    HomeInUse: _LOCAL,
    BackupError: _LOCAL,
    BundleError: _LOCAL,
    StoreError: _LOCAL,
    SchemaTooNew: _LOCAL,
    BadStoreUrl: _LOCAL,
    TargetNotEmpty: _LOCAL,
    audit_errors.AuditError: _LOCAL,
    audit_errors.NotInTransactionError: _LOCAL,
    audit_errors.UnknownEventError: _LOCAL,
    audit_errors.InvalidAuditFieldError: _LOCAL,
    audit_errors.CheckpointError: _LOCAL,
    audit_errors.SigningKeyMissingError: _LOCAL,
    audit_errors.SigningKeyMismatchError: _LOCAL,
    pki_errors.PkiError: _LOCAL,
    pki_errors.AgencyIdError: _LOCAL,
    pki_errors.CountryCodeError: _LOCAL,
    pki_errors.CertificateError: _LOCAL,
    pki_files.PkiFileExistsError: _LOCAL,
    pki_files.PkiFileMissingError: _LOCAL,
    pki_files.ConfigMismatchError: _LOCAL,
    InvalidRowError: _LOCAL,
    ImportRefusedError: _LOCAL,
    UnreadableFileError: _LOCAL,
    ProfileError: _LOCAL,
    InvalidIdentifierError: _LOCAL,
    CounterpartReplyError: _LOCAL,
    ImplausibleReply: _LOCAL,
    CounterpartRefused: _LOCAL,
    # The policy language's own errors: a policy fault, never the caller's.
    policy.PolicyLanguageError: _LOCAL,
    policy.PolicyError: _LOCAL,
    SourceError: _LOCAL,
    InvalidRequestError: _LOCAL,
    InvalidFactsError: _LOCAL,
}


@functools.cache
def catalogue() -> Mapping[type[BaseException], Entry]:
    """Every catalogued error class and its entry."""
    # Requester-side errors: loaded here so the servicer need not import the requester.
    from node.match.requester import QueryFileInvalid
    from node.peers.channel import PeerCallFailed

    return MappingProxyType({**_ENTRIES, QueryFileInvalid: _LOCAL, PeerCallFailed: _LOCAL})


def entry_for(exc: BaseException) -> Entry | None:
    """The entry of the exception's class, else of its nearest catalogued base."""
    table = catalogue()
    for cls in type(exc).__mro__:
        entry = table.get(cls)
        if entry is not None:
            return entry
    return None


# -- applying it --------------------------------------------------------------------


@dataclass(frozen=True)
class PublicError:
    """What a caller is told about a failure, and how this node logs and audits it."""

    code: grpc.StatusCode
    message: str
    detail: Message | None = None
    error_type: str = ""
    catalogued: bool = False
    log_level: LogLevel = "error"
    log_traceback: bool = True
    log_fields: Mapping[str, object] = field(default_factory=dict)
    audit_event: str | None = None
    audit_details: Mapping[str, object] = field(default_factory=dict)


def _shown(value: object) -> object:
    if isinstance(value, str) and len(value) > _MAX_SHOWN:
        return value[: _MAX_SHOWN - 3] + "..."
    return value


def classify(exc: BaseException, request_id: str) -> PublicError:
    """Map an exception through the catalogue; unknown ones answer INTERNAL."""
    entry = entry_for(exc)
    catalogued = entry is not None
    if entry is None:
        entry = _UNKNOWN
    values: dict[str, Any] = {name: _shown(getattr(exc, name)) for name in entry.public}
    values["request_id"] = request_id
    audit_details: dict[str, object] = {}
    if entry.audit is not None:
        audit_details = {"reason": type(exc).__name__}
        audit_details.update({name: getattr(exc, name) for name in entry.audited})
    return PublicError(
        code=entry.code,
        message=fill(entry.message, values),
        detail=entry.detail.build(values) if entry.detail is not None else None,
        error_type=type(exc).__name__,
        catalogued=catalogued,
        log_level=entry.log,
        log_traceback=entry.traceback,
        log_fields={name: _shown(getattr(exc, name)) for name in (*entry.public, *entry.logged)},
        audit_event=entry.audit,
        audit_details=audit_details,
    )


def set_error(context: grpc.ServicerContext, error: PublicError) -> None:
    """Attach code, message and a google.rpc.Status detail to the call."""
    details = []
    if error.detail is not None:
        packed = any_pb2.Any()
        packed.Pack(error.detail)
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
            error_details_pb2.ResourceInfo,
            error_details_pb2.ErrorInfo,
            error_details_pb2.RequestInfo,
        ):
            if item.Is(cls.DESCRIPTOR):
                msg = cls()
                item.Unpack(msg)
                lines.append(f"{cls.__name__}: {msg}".strip().replace("\n", "; "))
    return lines
