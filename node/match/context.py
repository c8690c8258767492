"""The accountability context of a request, built once where the request enters the node.

The requester's CLI and the responder's wire decoder both call
:func:`request_context`; the :class:`policy.RequestContext` it returns is
carried unchanged by :class:`~node.match.responder.MatchCall` and
:class:`~node.disclosure.model.DisclosureCall` and handed to the policy as is.
Bad input becomes :class:`~node.errors.InvalidRequest` naming the field.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

import policy as policy_lang
from node import bounds
from node.errors import InvalidRequest


def request_context(
    *,
    requester: str,
    now: datetime,
    purpose: str,
    legal_basis: str,
    case_reference: str,
    officer: str,
    justification: str = "",
    potential_charges: Iterable[str] = (),
    assurances: Iterable[str] = (),
    requested_fields: Iterable[str] = (),
    justification_required: bool = False,
    fields_required: bool = False,
) -> policy_lang.RequestContext:
    """Check and build the context (see :func:`policy.request_context`).

    The node's bounds on a counterpart's text come first (``node.bounds``): no
    control or invisible formatting characters, lists of vocabulary words of
    bounded length and count, so no refusal can echo an unbounded value.
    """
    for name, value in (
        ("purpose", purpose),
        ("legal_basis", legal_basis),
        ("case_reference", case_reference),
        ("officer", officer),
    ):
        bounds.optional_text(name, value, bounds.MAX_TEXT)
    bounds.optional_text("justification", justification, bounds.MAX_JUSTIFICATION, multiline=True)
    potential_charges, assurances, requested_fields = (
        _words("potential_charges", potential_charges),
        _words("assurances", assurances),
        _words("requested_fields", requested_fields),
    )
    try:
        return policy_lang.request_context(
            requester=requester,
            now=now,
            purpose=purpose,
            legal_basis=legal_basis,
            case_reference=case_reference,
            officer=officer,
            justification=justification,
            potential_charges=potential_charges,
            assurances=assurances,
            requested_fields=requested_fields,
            justification_required=justification_required,
            fields_required=fields_required,
        )
    except policy_lang.InvalidRequestError as exc:
        raise InvalidRequest(exc.field, exc.reason) from None


def _words(name: str, values: Iterable[str]) -> tuple[str, ...]:
    """A list of vocabulary words, refused when it is too long or holds an unreadable word."""
    words = tuple(values)
    if len(words) > bounds.MAX_LIST_ENTRIES:
        raise InvalidRequest(name, f"holds more than {bounds.MAX_LIST_ENTRIES} entries")
    for word in words:
        if len(word) > bounds.MAX_WORD or bounds.has_control(word):
            raise InvalidRequest(name, f"holds {bounds.echo(word)}, not a word of this vocabulary")
    return words


def check_against_policy(pol: policy_lang.Policy, ctx: policy_lang.RequestContext) -> None:
    """Refuse a context naming an instrument or assurance this agency's policy does not know."""
    try:
        policy_lang.check_request(pol, ctx)
    except policy_lang.InvalidRequestError as exc:
        raise InvalidRequest(exc.field, exc.reason) from None
