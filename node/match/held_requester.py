"""The requester's side of held-setup lookups, without any transport.

``HeldChannel`` is what a counterpart's node offers for held setups (the gRPC
client implements it in ``node.rpc.held_client``). ``HeldRequester`` keeps
each counterpart's shards current (``sync``: fetch the manifest, fetch only
changed shards, validate, swap) and answers lookups from them, syncing first
when nothing is held and once more when the counterpart says the holding is
stale. Each lookup is audited on this side like a match.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from node import audit, store
from node.app.logs import get_logger
from node.match.held import (
    MAX_HELD_BYTES_PER_VIEW,
    HeldLookup,
    HeldSetups,
    HeldStore,
    Manifest,
)
from node.match.responder import key_types_of
from node.psi.errors import MalformedPsiMessage
from node.psi.held import SpareClients
from node.setups.errors import SetupsStale
from node.setups.views import ViewKey

Run = Callable[..., object]
log = get_logger("spoor.match")


@dataclass(frozen=True)
class Context:
    """Why a lookup is made: the view it needs and what both audit trails record."""

    purpose: str
    legal_basis: str
    case_reference: str
    officer: str


@dataclass(frozen=True)
class HeldMatch:
    """What a held lookup sends besides the PSI request."""

    context: Context
    epoch_id: str
    generation: int
    psi_request: bytes
    key_types: tuple[str, ...]
    request_id: str


@dataclass(frozen=True)
class HeldAnswer:
    """What the counterpart answered to a held lookup."""

    psi_response: bytes
    epoch_id: str
    policy_digest: str
    elements_charged: int
    budget_remaining: int


class HeldChannel(Protocol):
    """A counterpart's held-setup service, as the requester uses it."""

    def manifest(self, purpose: str, legal_basis: str) -> Manifest:
        """The counterpart's current manifest for the context."""
        ...

    def fetch(
        self, purpose: str, legal_basis: str, epoch_id: str, shard_ids: list[int]
    ) -> Iterator[tuple[int, str, bytes]]:
        """The requested shards as (shard id, digest, setup bytes)."""
        ...

    def match_held(self, call: HeldMatch) -> HeldAnswer:
        """One lookup; raises ``SetupsStale`` when the holding no longer answers."""
        ...


@dataclass(frozen=True)
class SyncResult:
    """What one sync did."""

    epoch_id: str
    generation: int
    shards_fetched: int
    bytes_fetched: int


@dataclass(frozen=True)
class LookupResult:
    """The hits of one lookup against one counterpart."""

    peer: str
    hits: frozenset[str]
    elements_charged: int
    budget_remaining: int
    request_id: str
    policy_digest: str = ""


class HeldRequester:
    """Held setups of every counterpart, and lookups against them."""

    def __init__(
        self, held: HeldStore, run: Run, *, db_path: object | None = None, parallelism: int = 1
    ) -> None:
        self.held = held
        self._run = run
        self.run = run
        self._db_path = db_path
        self.parallelism = parallelism
        # Client keys for lookups made ahead of time: enough for one fan-out to every peer.
        self._clients = SpareClients(keep=8)
        self._contexts: dict[tuple[str, str, str], Context] = {}
        self._contexts_lock = threading.Lock()
        # One sync at a time per (counterpart, view): a lookup and the background
        # round never fetch the same shards twice.
        self._sync_locks: dict[tuple[str, str], threading.Lock] = {}

    def contexts(self) -> list[tuple[str, Context]]:
        """Every (counterpart, context) looked up so far: what background syncs refresh."""
        with self._contexts_lock:
            return [(slot[0], c) for slot, c in sorted(self._contexts.items())]

    def remember(self, peer: str, context: Context) -> None:
        """Note (peer, context) for the background syncs to keep fresh."""
        with self._contexts_lock:
            self._contexts.setdefault((peer, context.purpose, context.legal_basis), context)

    def held_for(self, peer: str, context: Context) -> HeldSetups | None:
        """The setups held for ``peer`` under ``context``'s view, if any."""
        return self.held.get(peer, ViewKey(peer, context.purpose, context.legal_basis).name)

    def sync_all(self, channel_for: Callable[[str], HeldChannel]) -> list[SyncResult]:
        """Sync every held (counterpart, context); one failing counterpart stops nothing."""
        out = []
        for peer, context in self.contexts():
            try:
                out.append(self.sync(peer, channel_for(peer), context))
            except Exception as exc:
                # The next lookup or the next round retries; say why, never what was held.
                log.warning("held-setup sync failed", peer_agency=peer, error=type(exc).__name__)
        return out

    def sync(self, peer: str, channel: HeldChannel, context: Context) -> SyncResult:
        """Fetch what changed for (peer, context) and publish it whole."""
        name = ViewKey(peer, context.purpose, context.legal_basis).name
        with self._contexts_lock:
            lock = self._sync_locks.setdefault((peer, name), threading.Lock())
        with lock:
            return self._sync(peer, channel, context)

    def _sync(self, peer: str, channel: HeldChannel, context: Context) -> SyncResult:
        manifest = channel.manifest(context.purpose, context.legal_basis)
        key = ViewKey(peer, context.purpose, context.legal_basis)
        if manifest.peer != peer or manifest.view != key.name:
            raise MalformedPsiMessage("manifest", "names another counterpart or context")
        wanted = self.held.wanted(manifest)
        fetched: dict[int, bytes] = {}
        received = 0
        if wanted:
            allowed = set(wanted)
            for shard_id, digest, data in channel.fetch(
                context.purpose, context.legal_basis, manifest.epoch_id, wanted
            ):
                if shard_id not in allowed or shard_id in fetched:
                    raise MalformedPsiMessage("sync", "sent a shard that was not asked for")
                if digest != manifest.digests.get(shard_id):
                    raise MalformedPsiMessage("sync", "sent a shard under another digest")
                if len(data) > self.held.limits.max_setup_bytes:
                    raise MalformedPsiMessage("shard.setup", "is above the setup size limit")
                received += len(data)
                if received > MAX_HELD_BYTES_PER_VIEW:
                    # Stop reading at once: a counterpart cannot make this node buffer more.
                    raise MalformedPsiMessage(
                        "sync", f"sent more than {MAX_HELD_BYTES_PER_VIEW} bytes for one view"
                    )
                fetched[shard_id] = data
        self.held.apply(manifest, fetched, self._run)
        if fetched:
            log.info(
                "held setups synced",
                peer_agency=peer,
                generation=manifest.generation,
                shards_fetched=len(fetched),
                bytes_fetched=sum(len(b) for b in fetched.values()),
            )
        return SyncResult(
            epoch_id=manifest.epoch_id,
            generation=manifest.generation,
            shards_fetched=len(fetched),
            bytes_fetched=sum(len(b) for b in fetched.values()),
        )

    def lookup(
        self, peer: str, channel: HeldChannel, context: Context, keys: Iterable[str]
    ) -> LookupResult:
        """Hits among ``keys`` at ``peer``; syncs first if needed, and once more if stale."""
        wanted = sorted(set(keys))
        name = ViewKey(peer, context.purpose, context.legal_basis).name
        self.remember(peer, context)
        if self.held.get(peer, name) is None:
            self.sync(peer, channel, context)
        try:
            return self._lookup_once(peer, channel, context, wanted, name)
        except SetupsStale:
            self.held.forget(peer, name)
            self.sync(peer, channel, context)
            return self._lookup_once(peer, channel, context, wanted, name)

    def _lookup_once(
        self, peer: str, channel: HeldChannel, context: Context, keys: list[str], name: str
    ) -> LookupResult:
        held = self.held.get(peer, name)
        if held is None:
            raise SetupsStale("nothing is held for this counterpart")
        lookup = HeldLookup(keys, self._run, parallelism=self.parallelism, clients=self._clients)
        request_id = str(uuid.uuid4())
        answer = channel.match_held(
            HeldMatch(
                context=context,
                epoch_id=held.manifest.epoch_id,
                generation=held.manifest.generation,
                psi_request=lookup.request_bytes,
                key_types=tuple(key_types_of(keys)),
                request_id=request_id,
            )
        )
        log.info(
            "held lookup",
            peer_agency=peer,
            elements=len(keys),
            request_bytes=len(lookup.request_bytes),
            response_bytes=len(answer.psi_response),
        )
        if answer.epoch_id != held.manifest.epoch_id:
            raise MalformedPsiMessage("response", "was computed under another epoch")
        hits = frozenset(lookup.finish(held, answer.psi_response))
        result = LookupResult(
            peer=peer,
            hits=hits,
            elements_charged=answer.elements_charged,
            budget_remaining=answer.budget_remaining,
            request_id=request_id,
            policy_digest=answer.policy_digest,
        )
        self.audit(result, context, keys, answer.policy_digest)
        return result

    def audit(self, result: LookupResult, context: Context, keys: list[str], digest: str) -> None:
        """Record one answered lookup in this node's audit trail."""
        self.audit_all(context, [(result, keys, digest)])

    def audit_all(
        self, context: Context, answered: Sequence[tuple[LookupResult, list[str], str]]
    ) -> None:
        """Record answered lookups (result, keys, policy digest) in one transaction.

        Either every entry is written or none is (the caller then returns no hits).
        """
        if self._db_path is None or not answered:
            return
        path = Path(str(self._db_path))
        with store.pooled(path) as conn, store.transaction(conn):
            for result, keys, digest in answered:
                audit.append(
                    conn,
                    "match.requested",
                    counterpart=result.peer,
                    purpose=context.purpose,
                    legal_basis=context.legal_basis,
                    case_reference=context.case_reference,
                    officer=context.officer,
                    request_id=result.request_id,
                    policy_digest=digest,
                    key_types=key_types_of(keys),
                    elements=len(keys),
                    hits=len(result.hits),
                    status="OK",
                    details={"reveal": "intersection", "held_setups": True},
                )

    def forget_peer(self, peer: str) -> None:
        """Drop what is held for a removed counterpart."""
        self.held.forget_peer(peer)
        with self._contexts_lock:
            for slot in [s for s in self._contexts if s[0] == peer]:
                del self._contexts[slot]
