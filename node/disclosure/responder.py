"""The responder's side of the governed follow-up, without any transport.

For each requested key the responder looks up the records holding it and
decides each one once with :func:`policy.evaluate_disclosure` (participation
for this request, then release): the decision stored, the explanation stored
with it and the answer sent all come from that one evaluation. A record the
participation stage refuses as ``NOT_RELEASABLE`` could not have been a hit, so
it is not shown on its own: a key leading to no other record gets the same
denial as a key the node does not hold (``NOT_RELEASABLE``), stored with the
refused record, its guards and explanation; a request learns nothing a match
would not have told it. Every refusal is audited with its guards and reason
code. Every key is charged to the
requester's element budget, exactly like a match element, so disclosure
requests cannot be used to test membership for free.

The request, the decisions, any tickets and the audit entries commit in one
transaction: either the counterpart's request is fully on record, or nothing is.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Mapping
from contextlib import AbstractContextManager
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import policy as policy_lang
from node import audit, bounds, store
from node.app.config import NodeConfig
from node.app.policy_holder import PolicyHolder
from node.disclosure.merge import merge_decisions
from node.disclosure.model import (
    DENY,
    MAX_KEYS_PER_REQUEST,
    NOT_RELEASABLE,
    PENDING_APPROVAL,
    RELEASE,
    DisclosureAnswer,
    DisclosureCall,
    ItemDecision,
    Obligations,
    OpenCall,
    Outcome,
    iso,
    now_utc,
    parse_iso,
    transcript_hash,
    validate_call,
    validate_open,
)
from node.disclosure.selection import SelectionSessions, pursued_count, resolve
from node.errors import DisclosureNotFound, InvalidRequest
from node.match import budget
from node.match.responder import eligible_elements, key_types_of
from node.psi.pool import PsiPool, default_pool
from node.records import facts as record_facts
from node.store import Connection
from node.store import records as record_store
from node.store import tickets as ticket_repo

#: The longest reference accepted in GetDisclosure (a UUID is 36 characters).
MAX_REFERENCE = 64


def key_digest(key: str) -> str:
    """What the responder keeps of a requested key: a digest, never the requester's text."""
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def _dumps(value: object) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


class DisclosureResponder:
    """Decides disclosure requests and reports their state to the requester."""

    def __init__(
        self,
        config: NodeConfig,
        db_path: Path,
        policies: PolicyHolder,
        pool: PsiPool | None = None,
    ) -> None:
        self.config = config
        self.db_path = db_path
        self.policies = policies
        self.pool = pool
        self.selections = SelectionSessions()

    def _opened(self) -> AbstractContextManager[Connection]:
        # The node upgraded its store at start-up; calls skip the schema check.
        return store.opened(Path(self.db_path), check_schema=False)

    # -- OpenDisclosure -------------------------------------------------------

    def open_selection(self, call: OpenCall) -> bytes:
        """Blind the keys this request may see; the PSI request the requester answers."""
        pol = self.policies.current()
        validate_open(call, pol)
        with self._opened() as conn:
            if ticket_repo.request_of(conn, call.requester, call.request_id) is not None:
                raise InvalidRequest("request_id", "was already used; use a new UUID")
            eligible, _admitted = eligible_elements(
                pol, conn, call.context, call.key_scheme_version
            )
        return self.selections.open(call, eligible)

    def _select_privately(
        self, conn: Connection, call: DisclosureCall, moment: datetime
    ) -> tuple[DisclosureCall, int]:
        """The pursued keys this node holds, with the budget charged for the whole setup."""
        assert call.selection is not None
        if ticket_repo.request_of(conn, call.requester, call.request_id) is not None:
            raise InvalidRequest("request_id", "was already used; use a new UUID")
        found = self.selections.take(
            call.requester, call.request_id, call.context.purpose, call.context.legal_basis
        )
        pursued = pursued_count(call.selection, MAX_KEYS_PER_REQUEST)
        charge = budget.charge(
            conn,
            call.requester,
            pursued,
            self.config.limits.max_elements_per_peer_per_day,
            moment,
        )
        pool = self.pool if self.pool is not None else default_pool()
        held = resolve(found, call.selection, pool)
        return replace(call, match_keys=tuple(held)), charge.charged

    # -- Disclose ---------------------------------------------------------------

    def disclose(self, call: DisclosureCall, now: datetime | None = None) -> DisclosureAnswer:
        """Decide every record the requested keys lead to; raise on bad input (nothing stored)."""
        moment = now or now_utc()
        pol = self.policies.current()
        validate_call(call, pol)
        with self._opened() as conn:
            if call.selection is not None:
                chosen, charged = self._select_privately(conn, call, moment)
                return self._decide_and_store(conn, pol, chosen, moment, charged)
            replay = self._replay(conn, call, moment)
            if replay is not None:
                return replay
            charge = budget.charge(
                conn,
                call.requester,
                len(call.match_keys),
                self.config.limits.max_elements_per_peer_per_day,
                moment,
            )
            return self._decide_and_store(conn, pol, call, moment, charge.charged)

    def _decide_records(
        self,
        conn: Connection,
        pol: policy_lang.Policy,
        ctx: policy_lang.RequestContext,
        key: str,
    ) -> list[tuple[str, policy_lang.Decision]]:
        """Every record holding ``key``, each with its one disclosure decision."""
        out: list[tuple[str, policy_lang.Decision]] = []
        for record_id in record_store.ids_with_key(conn, key):
            record = record_store.get(conn, str(record_id))
            if record is None:
                continue
            out.append(
                (str(record_id), policy_lang.evaluate_disclosure(pol, ctx, record_facts(record)))
            )
        return out

    def _decide_and_store(
        self,
        conn: Connection,
        pol: policy_lang.Policy,
        call: DisclosureCall,
        moment: datetime,
        charged: int,
    ) -> DisclosureAnswer:
        ctx = call.context
        disclosure_id = str(uuid.uuid4())
        decided_at = iso(moment)
        items: list[ItemDecision] = []
        rows: list[tuple[Any, ...]] = []
        tickets: list[tuple[Any, ...]] = []
        withheld: list[list[str]] = []
        ticket_of_record: dict[str, ItemDecision] = {}
        for key in call.match_keys:
            decided = self._decide_records(conn, pol, ctx, key)
            shown = [(r, d) for r, d in decided if not _kept_out(d)]
            kept_out = [(r, d) for r, d in decided if _kept_out(d)]
            if not shown:
                # Nothing this request may see holds the key: the same answer as for a key
                # the node does not hold, but the refusal is kept with its guards and reasons.
                item = ItemDecision(
                    str(uuid.uuid4()), DENY, NOT_RELEASABLE, key, decided_at=decided_at
                )
                items.append(item)
                rows.append(_kept_out_row(item, kept_out))
                continue
            withheld += [_withheld(r, d) for r, d in kept_out]
            # One item per key, however many records hold it (node.disclosure.merge).
            for record_id, decision in [merge_decisions(shown)]:
                item, ticket = self._item(decision, key, record_id, call.requester, moment)
                if ticket is not None and record_id in ticket_of_record:
                    # Another key of this request reached the same record: the officer
                    # decides once, and the decision answers every key.
                    shared = ticket_of_record[record_id]
                    item = replace(item, ticket_id=shared.ticket_id, deadline=shared.deadline)
                    ticket = None
                elif ticket is not None:
                    ticket_of_record[record_id] = item
                items.append(item)
                rows.append((item, record_id, list(decision.denied_by), decision.explanation.text))
                if ticket is not None:
                    tickets.append(ticket)
        # Pending items keep their decided fields at home until an officer approves.
        public = [i if i.outcome == RELEASE else _without_fields(i) for i in items]
        answer = DisclosureAnswer(disclosure_id, public, pol.digest, charged)
        with store.transaction(conn):
            self._insert(
                conn,
                call,
                disclosure_id=disclosure_id,
                digest=pol.digest,
                moment=moment,
                rows=rows,
                tickets=tickets,
            )
            self._audit_received(conn, call, answer, pol.digest, _refusals(rows), withheld)
        return answer

    def _item(
        self,
        decision: policy_lang.Decision,
        key: str,
        record_id: str,
        requester: str,
        moment: datetime,
    ) -> tuple[ItemDecision, tuple[Any, ...] | None]:
        item_id = str(uuid.uuid4())
        outcome = decision.outcome
        obligations = decision.obligations
        transforms = dict(getattr(decision.explanation, "transforms", {}) or {})
        if outcome == DENY:
            return ItemDecision(
                item_id, DENY, decision.reason_code, key, decided_at=iso(moment)
            ), None
        fields = dict(decision.fields)
        if outcome == RELEASE:
            item = ItemDecision(
                item_id,
                RELEASE,
                decision.reason_code,
                key,
                fields,
                transforms,
                obligations,
                decided_at=iso(moment),
            )
            return item, None
        approval = decision.approval
        hours = (approval.deadline_hours if approval else None) or (
            self.config.disclosure.ticket_deadline_hours
        )
        deadline = iso(moment + timedelta(hours=hours))
        ticket_id = "T-" + uuid.uuid4().hex[:12]
        item = ItemDecision(
            item_id,
            PENDING_APPROVAL,
            decision.reason_code,
            key,
            fields,
            transforms,
            obligations,
            ticket_id=ticket_id,
            deadline=deadline,
            decided_at=iso(moment),
        )
        ticket = (
            ticket_id,
            item_id,
            requester,
            record_id,
            iso(moment),
            deadline,
            _dumps(list(approval.roles) if approval else []),
            int(bool(approval and approval.two_person)),
        )
        return item, ticket

    def _insert(
        self,
        conn: Connection,
        call: DisclosureCall,
        *,
        disclosure_id: str,
        digest: str,
        moment: datetime,
        rows: list[tuple[Any, ...]],
        tickets: list[tuple[Any, ...]],
    ) -> None:
        ticket_repo.add_request(
            conn,
            {
                "disclosure_id": disclosure_id,
                "requester": call.requester,
                "request_id": call.request_id,
                "match_id": call.match_id or None,
                "received_at": iso(moment),
                "purpose": call.context.purpose,
                "legal_basis": call.context.legal_basis,
                "case_reference": call.context.case_reference,
                "officer": call.context.officer,
                "justification": call.context.justification or "",
                "potential_charges": _dumps(list(call.context.potential_charges)),
                "assurances": _dumps(list(call.context.assurances)),
                "requested_fields": _dumps(list(call.context.requested_fields)),
                "policy_digest": digest,
                "keys_count": len(call.match_keys),
            },
        )
        for position, (item, record_id, denied_by, explanation) in enumerate(rows):
            ticket_repo.add_decision(
                conn,
                {
                    "item_id": item.item_id,
                    "disclosure_id": disclosure_id,
                    "position": position,
                    "key_digest": key_digest(item.match_key),
                    "record_id": record_id,
                    "outcome": item.outcome,
                    "reason_code": item.reason_code,
                    "fields": _dumps(item.fields),
                    "transforms": _dumps(item.transforms),
                    "obligations": _dumps(item.obligations.as_dict())
                    if item.obligations is not None
                    else None,
                    "denied_by": _dumps(denied_by),
                    "explanation": explanation,
                    "decided_at": item.decided_at,
                    "ticket_id": item.ticket_id,
                },
            )
        for ticket in tickets:
            ticket_repo.add_ticket(
                conn,
                dict(
                    zip(
                        (
                            "ticket_id",
                            "item_id",
                            "counterpart",
                            "record_id",
                            "created_at",
                            "deadline",
                            "roles",
                            "two_person",
                        ),
                        ticket,
                        strict=True,
                    ),
                    disclosure_id=disclosure_id,
                ),
            )

    def _audit_received(
        self,
        conn: Connection,
        call: DisclosureCall,
        answer: DisclosureAnswer,
        digest: str,
        refusals: dict[str, int],
        withheld: list[list[str]],
    ) -> None:
        counts = answer.counts()
        common: dict[str, Any] = {
            "counterpart": call.requester,
            "request_id": call.request_id,
            "policy_digest": digest,
        }
        audit.append(
            conn,
            "disclosure.received",
            **common,
            purpose=call.context.purpose,
            legal_basis=call.context.legal_basis,
            case_reference=call.context.case_reference,
            officer=call.context.officer,
            justification=call.context.justification,
            key_types=key_types_of(call.match_keys),
            elements=len(call.match_keys),
            transcript_hash=transcript_hash(
                call.request_id, answer.disclosure_id, call.match_keys, answer.items
            ),
            status="OK",
            details={"disclosure_id": answer.disclosure_id, "match_id": call.match_id or None},
        )
        audit.append(
            conn,
            "disclosure.decided",
            **common,
            status="OK",
            details={
                "disclosure_id": answer.disclosure_id,
                "items": len(answer.items),
                **counts,
                # Refusals counted by the guard (or reason) behind them; each item's
                # guards, reason and explanation are stored with its decision. Records
                # kept out of a key's answer beside a record that is shown count apart.
                "refused_by": refusals,
                "withheld_by": _tally(withheld),
            },
        )
        if counts["released"]:
            audit.append(
                conn,
                "disclosure.fetched",
                **common,
                status="OK",
                details={"disclosure_id": answer.disclosure_id, "delivered": counts["released"]},
            )

    def _replay(
        self, conn: Connection, call: DisclosureCall, moment: datetime
    ) -> DisclosureAnswer | None:
        """The same request sent again (same request_id) gets the same disclosure, uncharged."""
        known = ticket_repo.request_of(conn, call.requester, call.request_id)
        if known is None:
            return None
        answer = self._current(conn, known, include_fields=True, moment=moment)
        by_digest = {key_digest(k): k for k in call.match_keys}
        stored = ticket_repo.key_digests(conn, answer.disclosure_id)
        if set(stored.values()) != set(by_digest):
            raise InvalidRequest(
                "request_id", "was already used for a different request; use a new UUID"
            )
        items = [_with_key(item, by_digest[stored[item.item_id]]) for item in answer.items]
        return DisclosureAnswer(answer.disclosure_id, items, answer.policy_digest, 0)

    # -- GetDisclosure ----------------------------------------------------------

    def get_disclosure(
        self,
        requester: str,
        disclosure_id: str,
        *,
        include_fields: bool,
        now: datetime | None = None,
    ) -> DisclosureAnswer:
        """The request's items as they stand now; NOT_FOUND alike for unknown and foreign ids."""
        moment = now or now_utc()
        reference = disclosure_id.strip()
        if not reference:
            raise InvalidRequest("disclosure_id", "is required")
        bounds.optional_text("disclosure_id", reference, MAX_REFERENCE)
        with self._opened() as conn:
            request_id = ticket_repo.request_id_for(conn, reference, requester)
            if request_id is None:
                raise DisclosureNotFound("disclosure request", reference)
            answer = self._current(conn, reference, include_fields=include_fields, moment=moment)
            delivered = sum(1 for i in answer.items if i.outcome == RELEASE and i.fields)
            if delivered:
                with store.transaction(conn):
                    audit.append(
                        conn,
                        "disclosure.fetched",
                        counterpart=requester,
                        request_id=request_id,
                        policy_digest=answer.policy_digest,
                        status="OK",
                        details={"disclosure_id": reference, "delivered": delivered},
                    )
            return answer

    def _current(
        self,
        conn: Connection,
        disclosure_id: str,
        *,
        include_fields: bool,
        moment: datetime,
    ) -> DisclosureAnswer:
        rows = ticket_repo.current_items(conn, disclosure_id)
        items = [_current_item(r, include_fields, moment) for r in rows]
        return DisclosureAnswer(disclosure_id, items, self.policies.current().digest)


def _kept_out(decision: policy_lang.Decision) -> bool:
    """Refused at participation as NOT_RELEASABLE: to the requester, as if not held."""
    return decision.refused_at == "participation" and decision.reason_code == NOT_RELEASABLE


def _kept_out_row(
    item: ItemDecision, kept_out: list[tuple[str, policy_lang.Decision]]
) -> tuple[Any, ...]:
    if not kept_out:
        return (item, None, [], "no record eligible for this request holds the key")
    guards: list[str] = []
    for _, decision in kept_out:
        guards += [g for g in decision.denied_by if g not in guards]
    text = "\n\n".join(d.explanation.text for _, d in kept_out)
    return (item, kept_out[0][0], guards, text)


def _withheld(record_id: str, decision: policy_lang.Decision) -> list[str]:
    return list(decision.denied_by) or [decision.reason_code]


def _refusals(rows: list[tuple[Any, ...]]) -> dict[str, int]:
    """How many items each guard (or, without one, each reason code) refused."""
    counts: dict[str, int] = {}
    for item, _record_id, denied_by, _text in rows:
        if item.outcome == DENY:
            for name in denied_by or [item.reason_code]:
                counts[name] = counts.get(name, 0) + 1
    return counts


def _tally(groups: list[list[str]]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for names in groups:
        for name in names:
            counts[name] = counts.get(name, 0) + 1
    return counts


def _without_fields(item: ItemDecision) -> ItemDecision:
    return ItemDecision(
        item.item_id,
        item.outcome,
        item.reason_code,
        item.match_key,
        {},
        {},
        item.obligations,
        item.ticket_id,
        item.deadline,
        item.overdue,
        item.decided_at,
    )


def _with_key(item: ItemDecision, key: str) -> ItemDecision:
    return ItemDecision(
        item.item_id,
        item.outcome,
        item.reason_code,
        key,
        item.fields,
        item.transforms,
        item.obligations,
        item.ticket_id,
        item.deadline,
        item.overdue,
        item.decided_at,
    )


def _current_item(row: Mapping[str, Any], include_fields: bool, moment: datetime) -> ItemDecision:
    obligations = Obligations(**json.loads(row["obligations"])) if row["obligations"] else None
    fields: dict[str, Any] = json.loads(row["fields"])
    transforms: dict[str, str] = json.loads(row["transforms"])
    outcome, reason = Outcome(str(row["outcome"])), str(row["reason_code"])
    ticket_id, decided_at = row["ticket_id"], str(row["decided_at"])
    deadline, overdue = None, False
    if ticket_id is not None:
        status, deadline = str(row["status"]), str(row["deadline"])
        if status == "approved":
            outcome, reason = RELEASE, "RELEASED"
            decided_at = str(row["ticket_decided"])
        elif status in ("denied", "expired"):
            # A human refusal is shown as the generic code: the officer's reason stays home.
            outcome, reason = DENY, NOT_RELEASABLE
            decided_at = str(row["ticket_decided"] or decided_at)
        else:
            outcome = PENDING_APPROVAL
            overdue = parse_iso(deadline) < moment
    if outcome != RELEASE:
        fields, transforms, obligations = {}, {}, (None if outcome == DENY else obligations)
    elif not include_fields:
        fields = {}
    return ItemDecision(
        str(row["item_id"]),
        outcome,
        reason,
        "",
        fields,
        transforms,
        obligations,
        ticket_id,
        deadline,
        overdue,
        decided_at,
    )
