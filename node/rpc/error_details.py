"""``google.rpc`` error details, declared as templates over an error's public fields.

The catalogue in :mod:`node.rpc.errors` gives each error class one of these;
:meth:`build` fills the templates with the values the entry marks public (and
the request id) and returns the protobuf message packed into the call's
``google.rpc.Status``.
"""

from __future__ import annotations

import string
from collections.abc import Mapping
from dataclasses import dataclass, fields

from google.protobuf.message import Message
from google.rpc import error_details_pb2


def fill(template: str, values: Mapping[str, object]) -> str:
    """``template`` with the given values; names outside ``values`` raise ``KeyError``."""
    return template.format_map(values)


def template_names(template: str) -> set[str]:
    """The field names a template refers to."""
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


@dataclass(frozen=True)
class BadRequestDetail:
    """A ``BadRequest`` naming the offending field."""

    field: str
    description: str

    def build(self, values: Mapping[str, object]) -> Message:
        detail: Message = error_details_pb2.BadRequest(
            field_violations=[
                error_details_pb2.BadRequest.FieldViolation(
                    field=fill(self.field, values), description=fill(self.description, values)
                )
            ]
        )
        return detail


@dataclass(frozen=True)
class QuotaDetail:
    """A ``QuotaFailure`` naming the limit hit."""

    subject: str
    description: str

    def build(self, values: Mapping[str, object]) -> Message:
        detail: Message = error_details_pb2.QuotaFailure(
            violations=[
                error_details_pb2.QuotaFailure.Violation(
                    subject=fill(self.subject, values), description=fill(self.description, values)
                )
            ]
        )
        return detail


@dataclass(frozen=True)
class PreconditionDetail:
    """A ``PreconditionFailure``: what must change before a retry can succeed."""

    type: str
    subject: str
    description: str

    def build(self, values: Mapping[str, object]) -> Message:
        detail: Message = error_details_pb2.PreconditionFailure(
            violations=[
                error_details_pb2.PreconditionFailure.Violation(
                    type=fill(self.type, values),
                    subject=fill(self.subject, values),
                    description=fill(self.description, values),
                )
            ]
        )
        return detail


@dataclass(frozen=True)
class ResourceDetail:
    """A ``ResourceInfo`` naming the resource the caller referred to."""

    resource_type: str
    resource_name: str
    description: str

    def build(self, values: Mapping[str, object]) -> Message:
        detail: Message = error_details_pb2.ResourceInfo(
            resource_type=fill(self.resource_type, values),
            resource_name=fill(self.resource_name, values),
            description=fill(self.description, values),
        )
        return detail


@dataclass(frozen=True)
class ErrorInfoDetail:
    """An ``ErrorInfo`` with a machine-readable reason in the ``spoor`` domain."""

    reason: str

    def build(self, values: Mapping[str, object]) -> Message:
        detail: Message = error_details_pb2.ErrorInfo(
            reason=fill(self.reason, values), domain="spoor"
        )
        return detail


@dataclass(frozen=True)
class RequestIdDetail:
    """A ``RequestInfo`` carrying the request id the local log is keyed by."""

    def build(self, values: Mapping[str, object]) -> Message:
        detail: Message = error_details_pb2.RequestInfo(request_id=str(values["request_id"]))
        return detail


Detail = (
    BadRequestDetail
    | QuotaDetail
    | PreconditionDetail
    | ResourceDetail
    | ErrorInfoDetail
    | RequestIdDetail
)


def detail_templates(detail: Detail) -> tuple[str, ...]:
    """The templates a detail fills (to check they name only public fields)."""
    return tuple(getattr(detail, f.name) for f in fields(detail))
