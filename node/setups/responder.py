"""The responder side of held setups on a real node: store, policy, budget, audit.

``HeldResponder`` wires the held-setup service to the node: views come from
the stored records under the policy in force (the same participation
decision a one-shot match makes, evaluated without a case reference), the
budget is the same per-peer element budget, and every served or refused
lookup is audited like a match. ``SetupRefresher`` is the background job that
keeps every known view's setups current.
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

import policy as policy_lang
from node import audit, peers, store
from node.app.config import NodeConfig
from node.app.logs import get_logger
from node.match import budget
from node.match.responder import MatchCall, Responder, validate_call
from node.psi.pool import PsiPool
from node.records.facts import facts
from node.records.keys import KEY_SCHEME_VERSION
from node.records.model import Record
from node.records.schemes import keys_of_scheme
from node.setups.book import SetupBook, ShardBuilder
from node.setups.epochs import EpochKeys
from node.setups.replicated import ReplicaRole, ReplicatedBook
from node.setups.service import HeldSetupService, KeyedAnswer
from node.setups.shards import ShardLayout
from node.setups.views import View, ViewCache, ViewKey, ViewStamp
from node.store import Connection
from node.store import records as record_rows

log = get_logger("spoor.setups")

STANDING_CASE = "(standing view: no case)"


@dataclass(frozen=True)
class HeldCall:
    """A held-setup lookup as the responder sees it, after transport decoding."""

    match: MatchCall
    epoch_id: str
    generation: int

    @property
    def view(self) -> ViewKey:
        """The (peer, context) the lookup is made in."""
        ctx = self.match.context
        return ViewKey(ctx.requester, ctx.purpose, ctx.legal_basis)


@dataclass(frozen=True)
class HeldReply:
    """The responder's answer to a held lookup."""

    answer: KeyedAnswer
    budget_remaining: int


def build_workers(config: NodeConfig) -> int:
    """How many build workers to run: the configured number, or one per core."""
    return config.setups.build_workers or max(1, os.cpu_count() or 1)


def epoch_budget(config: NodeConfig) -> int:
    """Membership tests a peer may make in one epoch: what setups are sized for."""
    days = max(1.0, config.setups.epoch_hours / 24.0)
    return max(1, int(config.limits.max_elements_per_peer_per_day * days))


class HeldResponder:
    """Serves manifests, shards and held lookups for one node."""

    def __init__(
        self,
        config: NodeConfig,
        db_path: Path,
        responder: Responder,
        *,
        serve_pool: PsiPool,
        build_pool: PsiPool,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.config = config
        self.db_path = db_path
        self.responder = responder
        keys = EpochKeys(epoch_seconds=config.setups.epoch_hours * 3600.0, clock=clock)
        builder = ShardBuilder(build_pool.run, parallelism=build_workers(config), timeout_s=None)
        layout = ShardLayout(config.setups.base_shards, config.setups.delta_shards)
        self.leadership = leadership = store.JobsLeadership.of_process(db_path)
        # Several replicas (PostgreSQL): the leader builds, every replica serves what it published.
        self.replicas: ReplicaRole | None = None
        if leadership.replicated:
            book = ReplicatedBook(
                keys, builder, num_client=epoch_budget(config), fpr=config.psi.fpr,
                db_path=db_path, layout=layout, clock=clock,
            )  # fmt: skip
            self.replicas = ReplicaRole(book, leadership.held, db_path)
            self.book: SetupBook = book
        else:
            self.book = SetupBook(
                keys, builder, num_client=epoch_budget(config), fpr=config.psi.fpr, layout=layout
            )
        self.views = ViewCache(self._compute, self._extend)
        self.service = HeldSetupService(
            self.book,
            self.views,
            stamp=self._stamp,
            run=serve_pool.run,
            parallelism=config.psi.workers,
        )
        if self.replicas is not None:
            self.service.remember = self.replicas.remember

    def _connect(self) -> AbstractContextManager[Connection]:
        # Per-call path: a pooled connection (node.store.pool says what its commits keep).
        return store.pooled(self.db_path)

    @staticmethod
    def _standing_context(key: ViewKey) -> policy_lang.RequestContext:
        # A placeholder case reference that no assurance names, so a case-scoped
        # assurance never widens a standing view (see node.setups.views).
        return policy_lang.RequestContext(
            requester=key.peer,
            purpose=key.purpose,
            legal_basis=key.legal_basis,
            case_reference=STANDING_CASE,
            officer=STANDING_CASE,
            now=datetime.now(UTC),
        )

    def _extend(self, old: View, stamp: ViewStamp) -> tuple[frozenset[str], int] | None:
        """Decide only the records appended since ``old``, when nothing else changed."""
        if old.stamp.policy_digest != stamp.policy_digest or old.stamp.day != stamp.day:
            return None
        with self._connect() as conn:
            if not record_rows.only_appended(conn, old.stamp.records):
                return None
            ctx = self._standing_context(old.key)
            pol = self.responder.policies.current()
            today = ctx.now.astimezone(UTC).date()
            added: set[str] = set()
            admitted = old.admitted_records
            decided: dict[object, bool] = {}
            for content, stored in record_rows.contents_after(conn, int(str(old.stamp.records[1]))):
                # Stored keys hold every scheme; views are built in the current one.
                keys = keys_of_scheme(stored, KEY_SCHEME_VERSION)
                record_facts = facts(Record.from_json(json.loads(content)))
                signature = policy_lang.participation_signature(record_facts, today)
                allowed = decided.get(signature)
                if allowed is None:
                    decision = policy_lang.evaluate_participation(pol, ctx, record_facts)
                    allowed = decided[signature] = decision.outcome == "RELEASE"
                if allowed and keys:
                    admitted += 1
                    added.update(keys)
        return old.elements | added, admitted

    def _compute(self, key: ViewKey, day: date) -> tuple[frozenset[str], int]:
        ctx = self._standing_context(key)
        with self._connect() as conn:
            elements, admitted = self.responder.eligible_elements(conn, ctx, KEY_SCHEME_VERSION)
        return frozenset(elements), admitted

    def _stamp(self) -> tuple[tuple[object, ...], str]:
        with self._connect() as conn:
            fingerprint = record_rows.fingerprint(conn)
        return fingerprint, self.responder.policies.current().digest

    def configured_peers(self) -> set[str]:
        """Agency ids of the counterparts configured now."""
        with self._connect() as conn:
            return {p.agency_id for p in peers.list_peers(conn)}

    def refresh(self) -> None:
        """Drop removed counterparts, then rebuild whatever changed for the rest."""
        if self.replicas is not None:
            if not self.replicas.tick():
                return  # a follower: the leading replica builds
            for key in self.replicas.views():
                self.service.register(key)
        configured = self.configured_peers()
        for peer in {k.peer for k in self.service.known()} - configured:
            self.service.forget_peer(peer)
            log.info("held setups dropped", peer_agency=peer, reason="peer removed")
        self.service.refresh()

    def serve(self, call: HeldCall, *, time_left_s: float | None = None) -> HeldReply:
        """Answer one held lookup: validate, charge, re-blind, audit."""
        # The transport authenticated the caller as a configured peer; a removed
        # peer is refused there and its keys are dropped at the next refresh.
        validate_call(call.match)
        limit = self.config.limits.max_elements_per_request
        with self._connect() as conn:

            def charge(peer: str, n: int) -> int:
                return budget.charge(
                    conn, peer, n, self.config.limits.max_elements_per_peer_per_day
                ).remaining

            answer, remaining = self.service.answer(
                call.view,
                call.epoch_id,
                call.generation,
                call.match.psi_request,
                charge=charge,
                max_elements=limit,
                timeout_s=time_left_s,
            )
            with store.transaction(conn):
                audit.append(
                    conn,
                    "match.served",
                    counterpart=call.match.requester,
                    purpose=call.view.purpose,
                    legal_basis=call.view.legal_basis,
                    case_reference=call.match.context.case_reference,
                    officer=call.match.context.officer,
                    request_id=call.match.request_id,
                    policy_digest=answer.policy_digest,
                    key_types=list(call.match.key_types),
                    elements=answer.elements,
                    status="OK",
                    details={"reveal": "intersection", "held_setups": True,
                             "generation": call.generation},
                )  # fmt: skip
        return HeldReply(answer=answer, budget_remaining=remaining)


class SetupRefresher:
    """The background job that keeps held setups current (one thread, stoppable)."""

    def __init__(self, held: HeldResponder, interval_s: float) -> None:
        self.held = held
        self.interval_s = interval_s
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="spoor-setups", daemon=True)
        self.runs = 0
        held.service.on_new_view = self.kick

    def start(self) -> None:
        """Start refreshing in the background."""
        self._thread.start()

    def kick(self) -> None:
        """Refresh now instead of at the next interval (a new view was asked for)."""
        self._wake.set()

    def _loop(self) -> None:
        while not self._stop.is_set():
            self._wake.wait(self.interval_s)
            self._wake.clear()
            if self._stop.is_set():
                return
            try:
                self.held.refresh()
                self.runs += 1
            except Exception:
                log.exception("held-setup refresh failed; the previous setups stay published")

    def signal_stop(self) -> None:
        """Ask the loop to end without waiting for it."""
        self._stop.set()
        self._wake.set()

    def stop(self) -> None:
        """Stop after the current refresh."""
        self._stop.set()
        self._wake.set()
        if self._thread.is_alive():
            self._thread.join(timeout=30)
