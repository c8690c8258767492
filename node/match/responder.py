"""The match step on both sides, without any transport.

Responder: authenticate (done by the transport), check versions and fields,
count the request's elements without curve work, charge the peer's budget,
ask the policy which records may take part, run PSI in the worker pool, audit.

Requester: see :mod:`node.match.requester`.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Hashable, Iterable, Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path

import policy as policy_lang
from node import audit, bounds, store
from node.app.config import NodeConfig
from node.app.policy_holder import PolicyHolder
from node.errors import InvalidRequest, SpoorError, VersionMismatch
from node.match import budget, request_ids
from node.match.vocabulary import accepted, check_match
from node.peers.channel import Vocabulary
from node.psi import PSI_PROTOCOL_VERSION, count_request_elements
from node.psi.errors import MalformedPsiMessage, PsiWorkerFailed, SetTooLarge
from node.psi.messages import parse_request
from node.psi.pool import PsiPool
from node.records.keys import KEY_SCHEME_VERSION
from node.records.schemes import check_requested_scheme, keys_of_scheme
from node.store import Connection
from node.store import records as record_store

PROTOCOL_VERSION = 1
CAPABILITIES = (
    "match.intersection",
    "match.cardinality",
    "budget.elements",
    "disclose",
    "disclose.approval",
    "disclose.private",
    "match.vocabulary",
)

_KEY_TYPE_RE = re.compile(r"^[a-z][a-z0-9_]{0,31}$")
_MAX_FIELD = bounds.MAX_TEXT


class ChargedMalformedRequest(SpoorError):
    """A request counted and charged, then found malformed while its points were processed.

    The elements are counted and charged before any curve work; a point that is
    not on the curve shows only during that work. The charge stands (the work
    was done) and is named in the answer and the audit entry.
    """

    FIELDS = ("field", "reason", "charged")

    def __init__(self, field: str, reason: str, charged: int) -> None:
        self.field = field
        self.reason = reason
        self.charged = charged
        super().__init__(f"{field} {reason}; {charged} elements were charged")


class ChargedWorkFailed(SpoorError):
    """The PSI work of a charged request failed, timed out or was cancelled by the caller."""

    FIELDS = ("reason", "charged")

    def __init__(self, reason: str, charged: int) -> None:
        self.reason = reason
        self.charged = charged
        super().__init__(f"{reason}; {charged} elements were charged")


@dataclass(frozen=True)
class MatchCall:
    """One match request, on either side of the wire.

    The requester builds it for a counterpart; the responder's wire decoder
    builds it from what arrived, with ``context.requester`` set to the
    authenticated peer. ``context`` was checked once where it was built and
    reaches the participation policy unchanged.
    """

    context: policy_lang.RequestContext
    protocol_version: int
    key_scheme_version: int
    psi_protocol_version: int
    reveal_intersection: bool
    psi_request: bytes
    request_id: str
    key_types: tuple[str, ...] = ()
    held_setup_digest: str = ""

    @property
    def requester(self) -> str:
        """The agency asking."""
        return self.context.requester


@dataclass(frozen=True)
class MatchReply:
    """The responder's answer (``transcript_hash`` is computed by each side, never sent)."""

    server_setup: bytes
    psi_response: bytes
    setup_digest: str
    reveal_intersection: bool
    policy_digest: str
    elements_charged: int
    budget_remaining: int
    transcript_hash: str = ""


def transcript_hash(request_id: str, request: bytes, setup: bytes, response: bytes) -> str:
    """A digest both sides can compute from what crossed the wire, to reconcile audit trails."""
    h = hashlib.sha256()
    for part in (request_id.encode(), request, setup, response):
        h.update(hashlib.sha256(part).digest())
    return h.hexdigest()


def validate_call(call: MatchCall) -> None:
    """Check versions and the PSI envelope before anything is charged or computed.

    The accountability context was checked when the call was built.
    """
    if call.protocol_version != PROTOCOL_VERSION:
        raise VersionMismatch("protocol version", PROTOCOL_VERSION, call.protocol_version)
    # Keys of every stored scheme are held, so a peer still on an older one is answered.
    check_requested_scheme(call.key_scheme_version)
    if call.psi_protocol_version != PSI_PROTOCOL_VERSION:
        raise VersionMismatch(
            "PSI protocol version", PSI_PROTOCOL_VERSION, call.psi_protocol_version
        )
    request_ids.check_canonical(call.request_id)
    if len(call.key_types) > bounds.MAX_KEY_TYPES:
        raise InvalidRequest(
            "key_types",
            f"holds {len(call.key_types)} entries; name each key type once "
            f"(at most {bounds.MAX_KEY_TYPES})",
        )
    for key_type in call.key_types:
        if not _KEY_TYPE_RE.match(key_type):
            raise InvalidRequest("key_types", "contains a value that is not a key-type name")
    if not call.psi_request:
        raise InvalidRequest("psi_request", "is empty")


class Responder:
    """Serves match requests for one node."""

    def __init__(
        self,
        config: NodeConfig,
        db_path: object,
        policies: PolicyHolder,
        pool: PsiPool,
    ) -> None:
        self.config = config
        self.db_path = db_path
        self.policies = policies
        self.pool = pool

    def _opened(self) -> AbstractContextManager[Connection]:
        # The node upgraded its store at start-up; calls skip the schema check.
        return store.opened(Path(str(self.db_path)), check_schema=False)

    def eligible_elements(
        self,
        conn: Connection,
        ctx: policy_lang.RequestContext,
        scheme: int = KEY_SCHEME_VERSION,
    ) -> tuple[list[str], int]:
        """Keys in ``scheme`` of the records the participation policy admits for this request.

        A record's stored keys hold every stored scheme; only the requested one
        enters the set, so a transition never doubles the responder's PSI set.
        """
        return eligible_elements(self.policies.current(), conn, ctx, scheme)

    def vocabulary_for(self, requester: str, now: datetime | None = None) -> Vocabulary:
        """What Describe advertises to ``requester``: its vocabulary and budget left today."""
        moment = now or datetime.now(UTC)
        known = accepted(self.policies.current(), requester, moment.date())
        period = budget.current_period(moment)
        with self._opened() as conn:
            spent = budget.used(conn, requester, period)
        limit = self.config.limits.max_elements_per_peer_per_day
        return replace(known, budget_remaining=max(0, limit - spent), budget_period=period)

    def serve(
        self,
        call: MatchCall,
        now: datetime | None = None,
        *,
        time_left_s: float | None = None,
        should_stop: Callable[[], bool] | None = None,
    ) -> MatchReply:
        """Answer one match; ``time_left_s`` and ``should_stop`` come from the caller's deadline
        and cancellation, so a call the requester gave up on stops its PSI worker."""
        validate_call(call)
        # An unknown purpose or legal basis is refused before the budget is touched.
        check_match(self.policies.current(), call.context)
        limit = self.config.limits.max_elements_per_request
        n = count_request_elements(call.psi_request)  # parse only; no curve work
        if n > limit:
            raise SetTooLarge(limit, n)
        # Lengths, prefixes and the reveal mode are checked before the charge (no curve
        # work); only a point off the curve is found after it (ChargedMalformedRequest).
        parse_request(call.psi_request, reveal=call.reveal_intersection, max_elements=limit)
        pol = self.policies.current()
        ctx = call.context
        now = now or ctx.now
        with self._opened() as conn:
            # Single use per peer, claimed before the charge (a replay costs nothing).
            request_ids.claim(conn, call.requester, call.request_id, "Match")
            charge = budget.charge(
                conn, call.requester, n, self.config.limits.max_elements_per_peer_per_day, now
            )
            try:
                elements, admitted = self.eligible_elements(conn, ctx, call.key_scheme_version)
                result = self.pool.serve(
                    elements,
                    call.psi_request,
                    reveal=call.reveal_intersection,
                    max_elements=limit,
                    fpr=self.config.psi.fpr,
                    timeout_s=(
                        min(time_left_s, self.config.psi.timeout_seconds)
                        if time_left_s is not None
                        else None
                    ),
                    should_stop=should_stop,
                )
            except MalformedPsiMessage as exc:
                raise ChargedMalformedRequest(exc.field, exc.reason, charge.charged) from exc
            except PsiWorkerFailed as exc:
                raise ChargedWorkFailed(exc.reason, charge.charged) from exc
            digest = transcript_hash(
                call.request_id, call.psi_request, result.setup_bytes, result.response_bytes
            )
            with store.transaction(conn):
                audit.append(
                    conn,
                    "match.served",
                    counterpart=call.requester,
                    purpose=ctx.purpose,
                    legal_basis=ctx.legal_basis,
                    case_reference=ctx.case_reference,
                    officer=ctx.officer,
                    request_id=call.request_id,
                    transcript_hash=digest,
                    policy_digest=pol.digest,
                    key_types=bounds.key_type_names(call.key_types),
                    elements=n,
                    status="OK",
                    details={
                        "records_admitted": admitted,
                        "responder_elements": len(elements),
                        "reveal": "intersection" if call.reveal_intersection else "cardinality",
                    },
                )
        return MatchReply(
            server_setup=result.setup_bytes,
            psi_response=result.response_bytes,
            setup_digest=result.setup_digest,
            reveal_intersection=call.reveal_intersection,
            policy_digest=pol.digest,
            elements_charged=charge.charged,
            budget_remaining=charge.remaining,
            transcript_hash=digest,
        )

    def record_refusal(
        self,
        requester: str,
        status: str,
        reason: str,
        fields: Mapping[str, object] | None = None,
        *,
        request_id: str = "",
        purpose: str = "",
        legal_basis: str = "",
        event: str = "match.refused",
    ) -> None:
        """Audit a refused match (budget, version, malformed input) without its content."""
        record_refusal(
            Path(str(self.db_path)),
            requester,
            status,
            reason,
            fields,
            request_id=request_id,
            purpose=purpose,
            legal_basis=legal_basis,
            event=event,
        )


def record_refusal(
    db_path: Path,
    requester: str,
    status: str,
    reason: str,
    fields: Mapping[str, object] | None = None,
    *,
    request_id: str = "",
    purpose: str = "",
    legal_basis: str = "",
    event: str = "match.refused",
) -> None:
    """Audit a refused request (budget, version, malformed input) without its content.

    Takes the raw values as they arrived: a refused request may never have
    become a :class:`MatchCall`. ``reason`` names the error; ``fields`` are its
    structured fields the error catalogue declares fit for the audit trail (for
    a budget: period, limit, used, requested), never identifiers, keys or PSI bytes.
    """
    details: dict[str, object] = {**(fields or {}), "reason": reason}
    with store.opened(db_path, check_schema=False) as conn, store.transaction(conn):
        audit.append(
            conn,
            event,
            counterpart=requester,
            # Refused input is kept only in printable, bounded form.
            purpose=bounds.printable(purpose.strip(), _MAX_FIELD) or None,
            legal_basis=bounds.printable(legal_basis.strip(), _MAX_FIELD) or None,
            request_id=bounds.printable(request_id, bounds.MAX_IDENTIFIER) or None,
            status=status,
            details=details,
        )


def eligible_elements(
    pol: policy_lang.Policy,
    conn: Connection,
    ctx: policy_lang.RequestContext,
    scheme: int = KEY_SCHEME_VERSION,
) -> tuple[list[str], int]:
    """Keys in ``scheme`` of the records ``pol`` admits for this request, and how many records."""
    elements: set[str] = set()
    admitted = 0
    # Records with the same participation signature get the same decision for this
    # request: decide once per signature, not once per record.
    decided: dict[Hashable, bool] = {}
    sign = policy_lang.participation_signer(ctx.now.astimezone(UTC).date())
    for facts, stored in record_store.eligible_keys(conn):
        keys = keys_of_scheme(stored, scheme)
        signature = sign(facts)
        allowed = decided.get(signature)
        if allowed is None:
            decision = policy_lang.evaluate_participation(pol, ctx, facts)
            allowed = decided[signature] = decision.outcome is policy_lang.Outcome.RELEASE
        if allowed and keys:
            admitted += 1
            elements.update(keys)
    return sorted(elements), admitted


def key_types_of(values: Iterable[str]) -> list[str]:
    """The distinct key types of complete key strings (``v1|phone|...`` → ``phone``).

    Only well-formed key-type names count, and at most ``bounds.MAX_KEY_TYPES``
    of them, so a counterpart's keys cannot grow a log line or an audit entry.
    """
    names = {v.split("|", 2)[1] for v in values if v.count("|") >= 2}
    return sorted(n for n in names if _KEY_TYPE_RE.match(n))[: bounds.MAX_KEY_TYPES]
