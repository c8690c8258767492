"""One held lookup against several counterparts for about the requester cost of one.

``lookup_many`` asks every counterpart at once and spends two PSI worker calls
on the requester however many counterparts there are: one that blinds every
counterpart's request (each under its own fresh client key, so nothing links
the lookup across counterparts), and one that validates and intersects every
response that came in against the shards held for its counterpart. Each
counterpart still charges its own budget and the lookup is audited per
counterpart as a single lookup is.

Answers that arrive by the lookup's deadline are intersected; a counterpart
that has not answered by then is reported as timed out and does not hold back
the others. A counterpart that fails, or whose response is malformed, loses
only its own answer (when a whole worker call is lost, the responses are
intersected again one counterpart per call, so only the culprit fails).
"""

from __future__ import annotations

import secrets
import time
import uuid
from collections.abc import Sequence
from concurrent.futures import Executor, Future, wait
from dataclasses import dataclass
from typing import Any

from node.app.logs import get_logger
from node.errors import ServiceUnavailable
from node.match.held import HeldSetups
from node.match.held_requester import (
    Context,
    HeldAnswer,
    HeldChannel,
    HeldMatch,
    HeldRequester,
    LookupResult,
)
from node.match.responder import key_types_of
from node.psi.errors import MalformedPsiMessage, PsiError, PsiWorkerFailed
from node.psi.held_batch import create_requests, intersect_many
from node.setups.errors import SetupsStale
from node.setups.shards import shards_of

Outcome = LookupResult | Exception
log = get_logger("spoor.match")


@dataclass
class _Asked:
    """One counterpart's part of the lookup."""

    peer: str
    channel: HeldChannel
    held: HeldSetups
    distinct: list[str]
    client_key: bytes = b""
    request_id: str = ""
    request_bytes: int = 0


def timed_out(deadline_s: float) -> ServiceUnavailable:
    """The error a counterpart gets when it has not answered by the deadline."""
    return ServiceUnavailable(
        f"the counterpart did not answer within the lookup's deadline of {deadline_s:g} s"
    )


def lookup_many(
    requester: HeldRequester,
    targets: Sequence[tuple[str, HeldChannel]],
    context: Context,
    keys: Sequence[str],
    *,
    threads: Executor,
    deadline_s: float,
) -> dict[str, Outcome]:
    """Per counterpart: the hits among ``keys``, or why there are none."""
    return _FanOut(requester, context, sorted(set(keys)), threads, deadline_s).run(targets)


class _FanOut:
    """The state of one batched lookup."""

    def __init__(
        self,
        requester: HeldRequester,
        context: Context,
        wanted: list[str],
        threads: Executor,
        deadline_s: float,
    ) -> None:
        self.requester = requester
        self.context = context
        self.wanted = wanted
        self.threads = threads
        self.deadline_s = deadline_s
        self.end = time.monotonic() + deadline_s
        self.out: dict[str, Outcome] = {}

    def left(self) -> float:
        """Seconds left before the lookup's deadline."""
        return max(0.0, self.end - time.monotonic())

    def collect(self, futures: dict[Future[Any], str]) -> dict[str, Any]:
        """Results by counterpart of the futures done by the deadline; failures go to ``out``."""
        if not futures:
            return {}
        done, _ = wait(futures, timeout=self.left())
        results: dict[str, Any] = {}
        for future, peer in futures.items():
            if future not in done:
                self.out[peer] = timed_out(self.deadline_s)
            elif (exc := future.exception()) is not None:
                self.out[peer] = exc if isinstance(exc, Exception) else RuntimeError(repr(exc))
            else:
                results[peer] = future.result()
        return results

    def run(self, targets: Sequence[tuple[str, HeldChannel]]) -> dict[str, Outcome]:
        asked = self.ready(targets)
        if not asked:
            return self.out
        try:
            reply = self.requester.run(
                create_requests, [a.distinct for a in asked], timeout_s=max(self.left(), 0.001)
            )
            worker, made = _requests_made(reply, len(asked))
        except PsiError as exc:
            for a in asked:
                self.out[a.peer] = exc
            return self.out
        answers = self.send(asked, made)
        self.retry_stale({a.peer: a for a in asked})
        self.finish(asked, answers, worker)
        return self.out

    def ready(self, targets: Sequence[tuple[str, HeldChannel]]) -> list[_Asked]:
        """The counterparts with setups held; those with none sync first, all at once."""
        held: dict[str, HeldSetups] = {}
        syncing: dict[Future[Any], str] = {}
        for peer, channel in targets:
            self.requester.remember(peer, self.context)
            setups = self.requester.held_for(peer, self.context)
            if setups is None:
                job = self.threads.submit(self.requester.sync, peer, channel, self.context)
                syncing[job] = peer
            else:
                held[peer] = setups
        for peer in self.collect(syncing):
            setups = self.requester.held_for(peer, self.context)
            if setups is None:
                self.out[peer] = SetupsStale("nothing is held for this counterpart")
            else:
                held[peer] = setups
        return [
            _Asked(peer, channel, held[peer], _shuffled(self.wanted))
            for peer, channel in targets
            if peer in held
        ]

    def send(self, asked: list[_Asked], made: list[tuple[bytes, bytes]]) -> dict[str, Any]:
        """Send every request at once; the answers that came in by the deadline."""
        sending: dict[Future[Any], str] = {}
        for a, (client_key, request) in zip(asked, made, strict=True):
            a.client_key, a.request_id = bytes(client_key), str(uuid.uuid4())
            a.request_bytes = len(request)
            call = HeldMatch(
                context=self.context,
                epoch_id=a.held.manifest.epoch_id,
                generation=a.held.manifest.generation,
                psi_request=bytes(request),
                key_types=tuple(key_types_of(a.distinct)),
                request_id=a.request_id,
            )
            sending[self.threads.submit(a.channel.match_held, call)] = a.peer
        return self.collect(sending)

    def retry_stale(self, by_peer: dict[str, _Asked]) -> None:
        """A counterpart that moved on is synced once more and asked again on its own."""
        stale = [p for p, o in self.out.items() if p in by_peer and isinstance(o, SetupsStale)]
        if not stale:
            return
        retry = {
            self.threads.submit(
                self.requester.lookup, p, by_peer[p].channel, self.context, self.wanted
            ): p
            for p in stale
        }
        for p in stale:
            del self.out[p]
        self.out.update(self.collect(retry))

    def finish(self, asked: list[_Asked], answers: dict[str, Any], worker: int) -> None:
        """Intersect every answer in one worker call and audit each counterpart's result."""
        finishing = []
        for a in asked:
            if a.peer not in answers:
                continue
            answer = answers[a.peer]
            if not isinstance(answer, HeldAnswer):
                self.out[a.peer] = TypeError("the counterpart's channel returned no answer")
            elif answer.epoch_id != a.held.manifest.epoch_id:
                self.out[a.peer] = MalformedPsiMessage(
                    "response", "was computed under another epoch"
                )
            else:
                finishing.append((a, answer))
        found_all = _intersect(self.requester, finishing, worker)
        log.info(
            "held fan-out lookup",
            peers=len(asked),
            answered=len(finishing),
            elements=len(self.wanted),
            # PSI bytes on the wire, over the counterparts that answered.
            request_bytes=sum(a.request_bytes for a, _ in finishing),
            response_bytes=sum(len(answer.psi_response) for _, answer in finishing),
        )
        answered: list[tuple[LookupResult, list[str], str]] = []
        for (a, answer), found in zip(finishing, found_all, strict=True):
            if isinstance(found, Exception):
                self.out[a.peer] = found
                continue
            n = len(a.distinct)
            result = LookupResult(
                peer=a.peer,
                hits=frozenset(a.distinct[i] for i in found if isinstance(i, int) and 0 <= i < n),
                elements_charged=answer.elements_charged,
                budget_remaining=answer.budget_remaining,
                request_id=a.request_id,
                policy_digest=answer.policy_digest,
            )
            answered.append((result, a.distinct, answer.policy_digest))
        # Every counterpart's entry in one transaction, before any hit is handed out.
        self.requester.audit_all(self.context, answered)
        for result, _, _ in answered:
            self.out[result.peer] = result


def _shuffled(keys: Sequence[str]) -> list[str]:
    distinct = list(keys)
    secrets.SystemRandom().shuffle(distinct)
    return distinct


def _groups(a: _Asked) -> list[tuple[bytes, list[int]]]:
    manifest = a.held.manifest
    groups: dict[int, list[int]] = {}
    for position, key in enumerate(a.distinct):
        for shard_id in shards_of(manifest.shard_salt, key, manifest.layout):
            groups.setdefault(shard_id, []).append(position)
    return [(a.held.shards[s], positions) for s, positions in sorted(groups.items())]


def _intersect(
    requester: HeldRequester, finishing: list[tuple[_Asked, HeldAnswer]], worker: int
) -> list[list[int] | Exception]:
    """Every response intersected in one worker call (one per response if that call is lost)."""
    if not finishing:
        return []
    items = [
        (a.client_key, answer.psi_response, len(a.distinct), _groups(a)) for a, answer in finishing
    ]
    try:
        return _replies(requester.run(intersect_many, items, prefer_worker=worker), len(items))
    except PsiWorkerFailed as exc:
        if len(items) == 1:
            return [exc]
    out: list[list[int] | Exception] = []
    for item in items:
        try:
            out.extend(_replies(requester.run(intersect_many, [item]), 1))
        except PsiError as exc:
            out.append(exc)
    return out


def _requests_made(reply: object, count: int) -> tuple[int, list[tuple[bytes, bytes]]]:
    """Check the shape of ``create_requests``' reply (the parent trusts no more)."""
    if isinstance(reply, tuple) and len(reply) == 2:
        worker, made = reply
        if (
            isinstance(worker, int)
            and isinstance(made, list)
            and len(made) == count
            and all(
                isinstance(m, tuple) and len(m) == 2 and all(isinstance(b, bytes) for b in m)
                for m in made
            )
        ):
            return worker, made
    raise PsiWorkerFailed(reason="the worker returned an unexpected result")


def _replies(replies: object, count: int) -> list[list[int] | Exception]:
    """Per item: the indices found, or the error of that item alone."""
    if not isinstance(replies, list) or len(replies) != count:
        raise PsiWorkerFailed(reason="the worker returned an unexpected result")
    out: list[list[int] | Exception] = []
    for reply in replies:
        status, value = reply if isinstance(reply, tuple) and len(reply) == 2 else ("", None)
        if status == "ok" and isinstance(value, list):
            out.append([i for i in value if isinstance(i, int)])
        elif status == "psi_error" and isinstance(value, tuple):
            out.append(PsiError.from_payload(value))
        else:
            out.append(PsiWorkerFailed(reason="the worker returned an unexpected result"))
    return out
