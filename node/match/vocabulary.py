"""What a responder accepts from one requester at the match stage, on both sides.

A purpose or legal basis the responder does not know for this requester used
to answer "0 hits" and be charged, and an analyst concluded the counterpart
held nothing. Now:

- the responder refuses such a match with INVALID_ARGUMENT before any charge
  (:func:`check_match`): the legal basis must be an instrument of the
  requester's counterpart profile, known to the policy and in force today, and
  the purpose one that instrument covers (any purpose, if it lists none);
- Describe advertises the same vocabulary to the calling agency, with its
  remaining element budget (capability ``match.vocabulary``), and the
  requester checks before sending (:func:`check_advertised`), including
  ``spoor match --dry-run``.
"""

from __future__ import annotations

from datetime import date

import policy as policy_lang
from node.errors import InvalidRequest
from node.peers.channel import Vocabulary
from policy import vocab
from policy.model import Instrument

CAPABILITY = "match.vocabulary"


def _in_force(instrument: Instrument, today: date) -> bool:
    if instrument.valid_from is not None and today < instrument.valid_from:
        return False
    return instrument.expires is None or today <= instrument.expires


def _purposes(instrument: Instrument) -> tuple[str, ...]:
    return tuple(p for p in vocab.PURPOSES if not instrument.purposes or p in instrument.purposes)


def accepted(pol: policy_lang.Policy, requester: str, today: date) -> Vocabulary:
    """The vocabulary ``pol`` accepts from ``requester`` on ``today`` (empty without a profile)."""
    profile = pol.counterparts.get(requester)
    if profile is None:
        return Vocabulary((), ())
    bases = [
        pol.instruments[i]
        for i in profile.instruments
        if i in pol.instruments and _in_force(pol.instruments[i], today)
    ]
    purposes = {p for instrument in bases for p in _purposes(instrument)}
    return Vocabulary(
        purposes=tuple(p for p in vocab.PURPOSES if p in purposes),
        legal_bases=tuple(sorted(i.id for i in bases)),
    )


def check_match(pol: policy_lang.Policy, ctx: policy_lang.RequestContext) -> None:
    """Refuse, before any charge, a purpose or legal basis not accepted from this requester."""
    today = ctx.now.date()
    known = accepted(pol, ctx.requester, today)
    if ctx.legal_basis not in known.legal_bases:
        raise InvalidRequest(
            "legal_basis",
            "is not a legal instrument in force between this agency and yours "
            f"(accepted: {', '.join(known.legal_bases) or 'none'}); nothing was charged",
        )
    covered = _purposes(pol.instruments[ctx.legal_basis])
    if ctx.purpose not in covered:
        raise InvalidRequest(
            "purpose",
            f"is not covered by {ctx.legal_basis} (covered: {', '.join(covered)}); "
            "nothing was charged",
        )


def check_advertised(
    peer: str, advertised: Vocabulary, ctx: policy_lang.RequestContext, elements: int
) -> None:
    """Refuse, before sending, what the counterpart said it will not accept or cannot afford."""
    if ctx.legal_basis not in advertised.legal_bases:
        raise InvalidRequest(
            "legal_basis",
            f"{ctx.legal_basis!r} is not accepted by {peer} for your agency "
            f"(it accepts: {', '.join(advertised.legal_bases) or 'none'}); nothing was sent",
        )
    if ctx.purpose not in advertised.purposes:
        raise InvalidRequest(
            "purpose",
            f"{ctx.purpose!r} is not accepted by {peer} "
            f"(it accepts: {', '.join(advertised.purposes) or 'none'}); nothing was sent",
        )
    if elements > advertised.budget_remaining:
        raise InvalidRequest(
            "elements",
            f"{elements} keys exceed the {advertised.budget_remaining} left of your budget at "
            f"{peer} for {advertised.budget_period or 'this period'}; nothing was sent",
        )
