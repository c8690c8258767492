"""A lookup against several counterparts: two worker calls, each counterpart on its own."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from node import audit, store
from node.errors import ServiceUnavailable
from node.lookup.fanout import LocalLookup
from node.match.held import HeldStore, Manifest
from node.match.held_fanout import Outcome, _Asked, _groups, lookup_many
from node.match.held_requester import Context, HeldAnswer, HeldMatch, HeldRequester, LookupResult
from node.psi import PsiPool
from node.psi.errors import MalformedPsiMessage
from node.psi.held_batch import create_requests, intersect_many
from node.setups.views import ViewKey
from tests.lookup.conftest import Pair
from tests.lookup.helpers import Clock, FakeRecords

CONTEXT = Context("criminal_investigation", "CITES-Art-VIII", "CASE/1", "Officer A")
PEERS = [f"peer-{i}" for i in range(5)]


def phone(i: int) -> str:
    return f"v2|phone|+2547000{i:05d}"


class PeerChannel:
    """One counterpart's held-setup service in process, with ways to misbehave."""

    def __init__(self, pair: Pair, peer: str) -> None:
        self.pair = pair
        self.peer = peer
        self.requests: list[bytes] = []
        self.corrupt: bytes | None = None
        self.hang: threading.Event | None = None
        self.barrier: threading.Barrier | None = None
        self.threads: set[threading.Thread] = set()

    def key(self, purpose: str, legal_basis: str) -> ViewKey:
        return ViewKey(self.peer, purpose, legal_basis)

    def manifest(self, purpose: str, legal_basis: str) -> Manifest:
        return self.pair.manifest(self.key(purpose, legal_basis))

    def fetch(
        self, purpose: str, legal_basis: str, epoch_id: str, shard_ids: list[int]
    ) -> Iterator[tuple[int, str, bytes]]:
        for shard in self.pair.service.shards(self.key(purpose, legal_basis), epoch_id, shard_ids):
            yield shard.shard_id, shard.digest, shard.setup

    def match_held(self, call: HeldMatch) -> HeldAnswer:
        self.threads.add(threading.current_thread())
        self.requests.append(call.psi_request)
        if self.barrier is not None:
            self.barrier.wait()  # breaks unless every counterpart is asked at once
        if self.hang is not None:
            self.hang.wait(30)
        answer, remaining = self.pair.service.answer(
            self.key(call.context.purpose, call.context.legal_basis),
            call.epoch_id, call.generation, call.psi_request,
            charge=self.pair.charge, max_elements=20_000,
        )  # fmt: skip
        response = answer.psi_response if self.corrupt is None else self.corrupt
        return HeldAnswer(response, answer.epoch_id, "", answer.elements, remaining)


class CountingRun:
    """``pool.run`` that counts the worker calls made through it."""

    def __init__(self, pool: PsiPool) -> None:
        self.pool = pool
        self.calls: list[str] = []

    def __call__(self, fn: Any, *args: Any, **kwargs: Any) -> Any:
        self.calls.append(fn.__name__)
        return self.pool.run(fn, *args, **kwargs)


def holders(pool: PsiPool, n: int) -> list[PeerChannel]:
    """``n`` counterparts, each holding a different slice of 40 phone keys."""
    channels = []
    for i in range(n):
        records = FakeRecords({phone(j) for j in range(i * 10, i * 10 + 40)})
        pair = Pair(pool, records, Clock(1_000_000.0))
        channel = PeerChannel(pair, PEERS[i])
        pair.service.refresh([channel.key(CONTEXT.purpose, CONTEXT.legal_basis)])
        channels.append(channel)
    return channels


def synced(pool: PsiPool, channels: list[PeerChannel]) -> tuple[HeldRequester, CountingRun]:
    run = CountingRun(pool)
    requester = HeldRequester(HeldStore(), run)
    for c in channels:
        requester.sync(c.peer, c, CONTEXT)
    run.calls.clear()
    return requester, run


def ask(
    requester: HeldRequester, channels: list[PeerChannel], keys: list[str], deadline_s: float = 30
) -> dict[str, Outcome]:
    with ThreadPoolExecutor(max_workers=8) as threads:
        return lookup_many(
            requester,
            [(c.peer, c) for c in channels],
            CONTEXT,
            keys,
            threads=threads,
            deadline_s=deadline_s,
        )


KEYS = [phone(3), phone(15), phone(38), phone(47), phone(77), "v2|phone|+1"]


class TestBatchedResults:
    def test_each_counterpart_gets_the_same_hits_as_its_own_lookup(
        self, lookup_pool: PsiPool
    ) -> None:
        """Per counterpart, the batch finds exactly what a lookup of it alone finds."""
        channels = holders(lookup_pool, 3)
        requester, _ = synced(lookup_pool, channels)
        batched = ask(requester, channels, KEYS)
        for c in channels:
            alone = requester.lookup(c.peer, c, CONTEXT, KEYS)
            got = batched[c.peer]
            assert isinstance(got, LookupResult)
            assert got.hits == alone.hits
            assert got.elements_charged == len(KEYS)
        assert {p: r.hits for p, r in batched.items() if isinstance(r, LookupResult)} == {
            "peer-0": {phone(3), phone(15), phone(38)},
            "peer-1": {phone(15), phone(38), phone(47)},
            "peer-2": {phone(38), phone(47)},
        }

    def test_each_counterpart_sees_its_own_client_key(self, lookup_pool: PsiPool) -> None:
        """The same keys reach each counterpart blinded differently, so nothing links them."""
        channels = holders(lookup_pool, 3)
        requester, _ = synced(lookup_pool, channels)
        ask(requester, channels, [phone(3)])
        sent = [c.requests[0] for c in channels]
        assert len(set(sent)) == len(sent)

    def test_counterparts_with_nothing_held_are_synced_first(self, lookup_pool: PsiPool) -> None:
        """A first lookup syncs every counterpart, then answers from the synced shards."""
        channels = holders(lookup_pool, 2)
        requester = HeldRequester(HeldStore(), lookup_pool.run)
        out = ask(requester, channels, [phone(3), phone(45)])
        assert [out[c.peer].hits for c in channels] == [{phone(3)}, {phone(45)}]  # type: ignore[union-attr]


class TestWorkerCalls:
    @pytest.mark.parametrize("n", [2, 5])
    def test_a_lookup_costs_two_worker_calls_whatever_the_number_of_counterparts(
        self, lookup_pool: PsiPool, n: int
    ) -> None:
        """Blinding for every counterpart is one worker call, intersecting all answers one more."""
        channels = holders(lookup_pool, n)
        requester, run = synced(lookup_pool, channels)
        out = ask(requester, channels, KEYS)
        assert all(isinstance(o, LookupResult) for o in out.values())
        assert run.calls == ["create_requests", "intersect_many"]


class TestFailures:
    def test_a_malformed_response_fails_only_its_counterpart(self, lookup_pool: PsiPool) -> None:
        """Garbage from one counterpart is refused in the worker; the others still answer."""
        channels = holders(lookup_pool, 3)
        requester, _ = synced(lookup_pool, channels)
        channels[1].corrupt = b"\x0a\x05junk!" * 3
        out = ask(requester, channels, KEYS)
        assert isinstance(out["peer-1"], MalformedPsiMessage)
        assert out["peer-0"].hits == {phone(3), phone(15), phone(38)}  # type: ignore[union-attr]
        assert out["peer-2"].hits == {phone(38), phone(47)}  # type: ignore[union-attr]

    def test_a_response_of_another_lookup_fails_only_its_counterpart(
        self, lookup_pool: PsiPool
    ) -> None:
        """A well-formed response with the wrong number of points is refused for that one."""
        channels = holders(lookup_pool, 2)
        requester, _ = synced(lookup_pool, channels)
        ask(requester, channels, [phone(3)])
        held = requester.held_for("peer-0", CONTEXT)
        assert held is not None
        answer, _ = channels[0].pair.service.answer(
            channels[0].key(CONTEXT.purpose, CONTEXT.legal_basis),
            held.manifest.epoch_id, held.manifest.generation, channels[0].requests[0],
            charge=channels[0].pair.charge, max_elements=20_000,
        )  # fmt: skip
        channels[0].corrupt = answer.psi_response  # one point, where six are expected
        out = ask(requester, channels, KEYS)
        assert isinstance(out["peer-0"], MalformedPsiMessage)
        assert out["peer-1"].hits == {phone(15), phone(38), phone(47)}  # type: ignore[union-attr]

    def test_a_hung_counterpart_does_not_hold_back_the_others(self, lookup_pool: PsiPool) -> None:
        """At the deadline the answers in are intersected and the hung one is reported late."""
        channels = holders(lookup_pool, 3)
        requester, _ = synced(lookup_pool, channels)
        release = threading.Event()
        channels[2].hang = release
        try:
            with ThreadPoolExecutor(max_workers=8) as threads:
                out = lookup_many(
                    requester,
                    [(c.peer, c) for c in channels],
                    CONTEXT,
                    KEYS,
                    threads=threads,
                    deadline_s=1.0,
                )
                still_hung = not release.is_set()
                release.set()
        finally:
            release.set()
        assert still_hung
        assert isinstance(out["peer-2"], ServiceUnavailable)
        assert "deadline" in str(out["peer-2"])
        assert out["peer-0"].hits == {phone(3), phone(15), phone(38)}  # type: ignore[union-attr]
        assert out["peer-1"].hits == {phone(15), phone(38), phone(47)}  # type: ignore[union-attr]

    def test_a_counterpart_in_another_epoch_fails_only_itself(self, lookup_pool: PsiPool) -> None:
        """An answer computed under another epoch than the held one is refused for that one."""
        channels = holders(lookup_pool, 2)
        requester, _ = synced(lookup_pool, channels)
        original = channels[0].match_held

        def other_epoch(call: HeldMatch) -> HeldAnswer:
            return replace(original(call), epoch_id="another-epoch")

        channels[0].match_held = other_epoch  # type: ignore[method-assign]
        out = ask(requester, channels, KEYS)
        assert isinstance(out["peer-0"], MalformedPsiMessage)
        assert isinstance(out["peer-1"], LookupResult)


class TestLocalLookupBatch:
    def test_every_counterpart_is_asked_at_once_and_answers(self, lookup_pool: PsiPool) -> None:
        """Five counterparts are all in flight together (a barrier), each with its own hits."""
        channels = holders(lookup_pool, 5)
        requester, _ = synced(lookup_pool, channels)
        barrier = threading.Barrier(5, timeout=20)
        for c in channels:
            c.barrier = barrier
        by_peer = {c.peer: c for c in channels}
        local = LocalLookup(requester, by_peer.__getitem__, lambda: list(PEERS))
        try:
            answers = local.lookup([phone(38), phone(47)], CONTEXT)
            first = {t for c in channels for t in c.threads}
            for c in channels:
                c.threads.clear()
            local.lookup([phone(38)], CONTEXT)
            second = {t for c in channels for t in c.threads}
        finally:
            local.close()
        assert [a.agency_id for a in answers] == PEERS
        assert [a.hits for a in answers] == [(0,), (0, 1), (0, 1), (0, 1), (1,)]
        assert all(not a.error for a in answers)
        assert second <= first  # the fan-out threads are kept between lookups

    def test_a_late_counterpart_is_reported_timed_out(self, lookup_pool: PsiPool) -> None:
        """Through the local lookup, a hung counterpart's answer says it timed out."""
        channels = holders(lookup_pool, 2)
        requester, _ = synced(lookup_pool, channels)
        release = threading.Event()
        channels[0].hang = release
        by_peer = {c.peer: c for c in channels}
        local = LocalLookup(requester, by_peer.__getitem__, lambda: PEERS[:2], deadline_s=1.0)
        try:
            answers = local.lookup([phone(15)], CONTEXT)
        finally:
            release.set()
            local.close()
        assert answers[0].held is False
        assert "did not answer within" in answers[0].error
        assert answers[1].hits == (0,)


class TestClientKeysInWorkers:
    def test_intersection_elsewhere_than_the_blinding_worker_gives_the_same_hits(
        self, lookup_pool: PsiPool
    ) -> None:
        """A worker without the kept client object makes it from the key and finds the same."""
        channels = holders(lookup_pool, 1)
        requester, _ = synced(lookup_pool, channels)
        held = requester.held_for("peer-0", CONTEXT)
        assert held is not None
        keys = sorted(KEYS)
        worker, made = lookup_pool.run(create_requests, [keys])
        (client_key, request) = made[0]
        answer, _ = channels[0].pair.service.answer(
            channels[0].key(CONTEXT.purpose, CONTEXT.legal_basis),
            held.manifest.epoch_id, held.manifest.generation, request,
            charge=channels[0].pair.charge, max_elements=20_000,
        )  # fmt: skip
        a = _Asked("peer-0", channels[0], held, keys, client_key)
        item = (client_key, answer.psi_response, len(keys), _groups(a))
        elsewhere = intersect_many([item])  # this process: nothing kept here
        there = lookup_pool.run(intersect_many, [item], prefer_worker=worker)
        assert elsewhere == there
        assert elsewhere[0][0] == "ok"
        assert {keys[i] for i in elsewhere[0][1]} == {phone(3), phone(15), phone(38)}


def audited(db: Path) -> list[tuple[str, str, int]]:
    conn = store.connect(db)
    try:
        rows = conn.execute(
            "SELECT event, counterpart, hits FROM audit_entries ORDER BY seq"
        ).fetchall()
    finally:
        conn.close()
    return [(str(r[0]), str(r[1]), int(r[2])) for r in rows]


class TestRequesterAudit:
    def test_every_answered_counterpart_is_audited_with_its_hits(
        self, lookup_pool: PsiPool, tmp_path: Path
    ) -> None:
        """Each counterpart that answered gets its own match.requested entry with its hit count."""
        db = tmp_path / "node.db"
        store.open_store(db).close()
        channels = holders(lookup_pool, 3)
        requester = HeldRequester(HeldStore(), lookup_pool.run, db_path=db)
        out = ask(requester, channels, KEYS)
        entries = [e for e in audited(db) if e[0] == "match.requested"]
        assert sorted(entries) == sorted(
            ("match.requested", peer, len(r.hits))
            for peer, r in out.items()
            if isinstance(r, LookupResult)
        )
        assert len(entries) == 3

    def test_a_failed_audit_hands_out_no_hits(
        self, lookup_pool: PsiPool, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """When the audit entries cannot be written, the lookup fails and none is written."""
        db = tmp_path / "node.db"
        store.open_store(db).close()
        channels = holders(lookup_pool, 3)
        requester = HeldRequester(HeldStore(), lookup_pool.run, db_path=db)
        ask(requester, channels, [phone(3)])  # sync everything first
        before = audited(db)
        calls = []
        real = audit.append

        def failing_third(conn: Any, event: str, **fields: Any) -> Any:
            calls.append(event)
            if len(calls) == 3:
                raise RuntimeError("disk full")
            return real(conn, event, **fields)

        monkeypatch.setattr(audit, "append", failing_third)
        with pytest.raises(RuntimeError, match="disk full"):
            ask(requester, channels, KEYS)
        assert audited(db) == before
