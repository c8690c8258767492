"""Held setups end to end without a network: builds, syncs, lookups, invalidation."""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from typing import Any

import pytest

from node.match.held import HeldStore, Manifest
from node.match.held_requester import Context, HeldAnswer, HeldMatch, HeldRequester
from node.psi import start
from node.psi.errors import MalformedPsiMessage
from node.psi.held import held_intersection
from node.setups.errors import SetupsNotReady, SetupsStale
from node.setups.views import ViewKey
from tests.lookup.conftest import Pair

KE = ViewKey("vn-customs", "criminal_investigation", "CITES-Art-VIII")
OTHER_PURPOSE = ViewKey("vn-customs", "intelligence", "CITES-Art-VIII")
OTHER_PEER = ViewKey("ug-uwa", "criminal_investigation", "CITES-Art-VIII")


def phone(i: int) -> str:
    return f"v1|phone|+2547000{i:05d}"


class TestLookupResults:
    def test_lookup_finds_exactly_the_held_keys(self, pair: Pair) -> None:
        """A lookup against held setups reports the keys the responder holds and no others."""
        pair.service.refresh([KE])
        pair.sync(KE)
        asked = [phone(3), phone(299), "v1|phone|+254799999999", phone(150)]
        assert pair.lookup(KE, asked) == {phone(3), phone(299), phone(150)}

    def test_results_equal_a_fresh_setup_match(self, pair: Pair) -> None:
        """Held-setup hits equal those of a one-shot fresh-setup match on the same sets."""
        pair.service.refresh([KE])
        pair.sync(KE)
        asked = [phone(i) for i in range(280, 330)]
        session = start(asked, reveal=True)
        fresh = pair.pool.serve(sorted(pair.records.keys), session.request_bytes, reveal=True)
        result = pair.pool.finish(session, fresh.setup_bytes, fresh.response_bytes)
        expected = {asked[i] for i in result.indices or []}
        assert pair.lookup(KE, asked) == expected

    def test_large_lookup_split_over_workers_gives_the_same_hits(self, pair: Pair) -> None:
        """A bulk lookup blinded, re-blinded and decoded in slices on two workers loses nothing."""
        pair.service.refresh([KE])
        pair.sync(KE)
        pair.service.parallelism = 2
        asked = [phone(i) for i in range(2500)]
        assert pair.lookup(KE, asked, parallelism=2) == {phone(i) for i in range(300)}

    def test_budget_charged_per_element_before_curve_work(self, pair: Pair) -> None:
        """Each distinct requested element is charged; a lookup the epoch cannot answer is not."""
        pair.service.refresh([KE])
        pair.sync(KE)
        pair.lookup(KE, [phone(1), phone(1), phone(2)])
        assert pair.charged == [("vn-customs", 2)]
        pair.book.forget_peer("vn-customs")
        with pytest.raises(SetupsStale):
            pair.lookup(KE, [phone(1)])
        # Refused before any curve work: the retry after a sync pays once, not twice.
        assert pair.charged == [("vn-customs", 2)]

    def test_manifest_before_first_build_says_not_ready(self, pair: Pair) -> None:
        """Asking for setups before any build answers 'not ready' instead of waiting."""
        with pytest.raises(SetupsNotReady):
            pair.service.manifest(KE)


class TestInvalidation:
    def test_record_added_is_found_after_sync_and_rebuilds_one_delta_shard(
        self, pair: Pair
    ) -> None:
        """A new record rebuilds only its delta shard, and a lookup sees it after the sync."""
        pair.service.refresh([KE])
        first = pair.sync(KE)
        built = pair.book.shards_built
        pair.records.add("v1|phone|+254711111111")
        pair.service.refresh([KE])
        assert pair.book.shards_built == built + 1
        resent = pair.sync(KE)
        assert 0 < resent < first
        assert pair.lookup(KE, ["v1|phone|+254711111111"]) == {"v1|phone|+254711111111"}

    def test_records_in_delta_shards_are_found_by_a_split_lookup(
        self, pair: Pair, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """A bulk lookup tests delta shards only for keys its base shards did not hold."""
        pair.service.refresh([KE])
        pair.sync(KE)
        added = [f"v1|phone|+2547111{i:05d}" for i in range(40)]
        pair.records.add(*added)
        pair.service.refresh([KE])
        pair.sync(KE)
        asked = [phone(i) for i in range(0, 1200, 2)] + added + ["v1|phone|+254799999999"]
        expected = {phone(i) for i in range(0, 300, 2)} | set(added)
        tested: list[int] = []
        run = pair.pool.run

        def counting(fn: Any, *args: Any, **kwargs: Any) -> Any:
            if fn is held_intersection:
                tested.append(sum(len(positions) for _, positions in args[2]))
            return run(fn, *args, **kwargs)

        monkeypatch.setattr(pair.pool, "run", counting)
        assert pair.lookup(KE, asked, parallelism=2) == expected
        # Each key once in its base shard, and only the base shards' misses again in a
        # delta shard (the 40 added keys are held in delta shards only).
        in_base = len(expected) - len(added)
        assert sum(tested) == len(asked) + (len(asked) - in_base)
        tested.clear()
        assert pair.lookup(KE, asked) == expected
        assert sum(tested) == 2 * len(asked)  # one worker call: every key's two shards

    def test_unchanged_records_do_not_recompute_the_view(self, pair: Pair) -> None:
        """Refreshing with nothing changed neither recomputes the view nor rebuilds a shard."""
        pair.service.refresh([KE])
        computed, built = pair.views.computations, pair.book.shards_built
        pair.service.refresh([KE])
        assert (pair.views.computations, pair.book.shards_built) == (computed, built)

    def test_record_removed_stops_answering_until_sync(self, pair: Pair) -> None:
        """After a removal, setups held from before are refused; after a sync the key misses."""
        pair.service.refresh([KE])
        pair.sync(KE)
        pair.records.remove(phone(7))
        pair.service.refresh([KE])
        with pytest.raises(SetupsStale):
            pair.lookup(KE, [phone(7)])
        pair.sync(KE)
        assert pair.lookup(KE, [phone(7), phone(8)]) == {phone(8)}

    def test_policy_change_starts_a_new_epoch_and_retires_the_old(self, pair: Pair) -> None:
        """A new policy digest rebuilds under a new key; the old epoch stops answering at once."""
        pair.service.refresh([KE])
        pair.sync(KE)
        old_epoch = pair.service.manifest(KE).epoch.epoch_id
        pair.records.policy_digest = "p2"
        pair.records.excluded["criminal_investigation"] = {phone(5)}
        pair.service.refresh([KE])
        assert pair.service.manifest(KE).epoch.epoch_id != old_epoch
        with pytest.raises(SetupsStale):
            pair.lookup(KE, [phone(5)])
        pair.sync(KE)
        assert pair.lookup(KE, [phone(5), phone(6)]) == {phone(6)}

    def test_epoch_rotation_rebuilds_under_a_new_key(self, pair: Pair) -> None:
        """When the epoch expires the next refresh builds a new epoch; old holdings go stale."""
        pair.service.refresh([KE])
        pair.sync(KE)
        old = pair.service.manifest(KE)
        pair.clock.advance(3600 + 61)
        pair.service.refresh([KE])
        new = pair.service.manifest(KE)
        assert new.epoch.epoch_id != old.epoch.epoch_id
        assert new.epoch.key != old.epoch.key
        with pytest.raises(SetupsStale):
            pair.lookup(KE, [phone(1)])
        pair.sync(KE)
        assert pair.lookup(KE, [phone(1)]) == {phone(1)}

    def test_peer_removal_drops_views_setups_and_keys(self, pair: Pair) -> None:
        """Removing a counterpart drops its view, generation and epoch keys at once."""
        pair.service.refresh([KE])
        pair.sync(KE)
        pair.service.forget_peer("vn-customs")
        assert pair.views.cached(KE) is None
        assert pair.book.published(KE.peer, KE.name) is None
        assert pair.keys.peek(KE.peer, KE.name) is None
        with pytest.raises(SetupsStale):
            pair.lookup(KE, [phone(1)])


class TestIsolation:
    def test_setups_of_another_view_are_refused(self, pair: Pair) -> None:
        """Setups built for one purpose cannot answer a lookup made under another."""
        pair.service.refresh([KE, OTHER_PURPOSE])
        pair.sync(KE)
        held = pair.held.get(KE.peer, KE.name)
        assert held is not None
        request = start([phone(1)], reveal=True).request_bytes
        with pytest.raises(SetupsStale):
            pair.service.answer(
                OTHER_PURPOSE,
                held.manifest.epoch_id,
                held.manifest.generation,
                request,
                charge=pair.charge,
                max_elements=100,
            )

    def test_setups_of_another_peer_are_refused(self, pair: Pair) -> None:
        """An epoch id of one counterpart is unknown when another counterpart presents it."""
        pair.service.refresh([KE, OTHER_PEER])
        pair.sync(KE)
        held = pair.held.get(KE.peer, KE.name)
        assert held is not None
        request = start([phone(1)], reveal=True).request_bytes
        with pytest.raises(SetupsStale):
            pair.service.answer(
                OTHER_PEER, held.manifest.epoch_id, 1, request, charge=pair.charge,
                max_elements=100,
            )  # fmt: skip

    def test_each_peer_and_view_gets_its_own_key(self, pair: Pair) -> None:
        """Epoch keys differ between views and between counterparts."""
        pair.service.refresh([KE, OTHER_PURPOSE, OTHER_PEER])
        keys = {pair.service.manifest(k).epoch.key for k in (KE, OTHER_PURPOSE, OTHER_PEER)}
        assert len(keys) == 3

    def test_lookup_during_rebuild_gets_the_previous_generation(self, pair: Pair) -> None:
        """While a rebuild runs, manifests and lookups see the previous generation whole."""
        pair.service.refresh([KE])
        pair.sync(KE)
        before = pair.service.manifest(KE)
        gate, entered = threading.Event(), threading.Event()
        real_build = pair.book.builder.build

        def slow_build(
            key: bytes, shards: Sequence[Sequence[str]], num_client: int, fpr: float
        ) -> list[bytes]:
            entered.set()
            gate.wait(30)
            return real_build(key, shards, num_client, fpr)

        pair.book.builder.build = slow_build  # type: ignore[method-assign]
        pair.records.add("v1|phone|+254722222222")
        worker = threading.Thread(target=pair.service.refresh, args=([KE],))
        worker.start()
        try:
            assert entered.wait(30)
            assert pair.service.manifest(KE) is before
            assert pair.lookup(KE, ["v1|phone|+254722222222", phone(2)]) == {phone(2)}
        finally:
            gate.set()
            worker.join(60)
        assert pair.service.manifest(KE).number == before.number + 1
        pair.sync(KE)
        assert pair.lookup(KE, ["v1|phone|+254722222222"]) == {"v1|phone|+254722222222"}

    def test_lookup_during_epoch_rotation_gets_the_previous_epoch_whole(self, pair: Pair) -> None:
        """While a new epoch builds, holdings of the old epoch still answer, from the old epoch."""
        pair.service.refresh([KE])
        pair.sync(KE)
        before = pair.service.manifest(KE)
        gate, entered = threading.Event(), threading.Event()
        real_build = pair.book.builder.build

        def slow_build(
            key: bytes, shards: Sequence[Sequence[str]], num_client: int, fpr: float
        ) -> list[bytes]:
            entered.set()
            gate.wait(30)
            return real_build(key, shards, num_client, fpr)

        pair.book.builder.build = slow_build  # type: ignore[method-assign]
        pair.clock.advance(3601)
        pair.records.add("v1|phone|+254744444444")
        worker = threading.Thread(target=pair.service.refresh, args=([KE],))
        worker.start()
        try:
            assert entered.wait(30)
            assert pair.service.manifest(KE) is before
            assert pair.lookup(KE, ["v1|phone|+254744444444", phone(4)]) == {phone(4)}
        finally:
            gate.set()
            worker.join(60)
        after = pair.service.manifest(KE)
        assert after.epoch.epoch_id != before.epoch.epoch_id
        pair.sync(KE)
        assert pair.lookup(KE, ["v1|phone|+254744444444"]) == {"v1|phone|+254744444444"}


class TestSyncValidation:
    def test_tampered_shard_is_refused_and_nothing_replaced(self, pair: Pair) -> None:
        """A shard whose bytes differ from the manifest is refused; the old holding stays."""
        pair.service.refresh([KE])
        pair.sync(KE)
        held = pair.held.get(KE.peer, KE.name)
        pair.records.add("v1|phone|+254733333333")
        pair.service.refresh([KE])
        manifest = pair.manifest(KE)
        wanted = pair.held.wanted(manifest)
        fetched = dict.fromkeys(wanted, b"\x00" + b"junk")
        with pytest.raises(MalformedPsiMessage):
            pair.held.apply(manifest, fetched, pair.pool.run)
        assert pair.held.get(KE.peer, KE.name) is held

    def test_malformed_shard_with_matching_digest_is_refused_in_the_worker(
        self, pair: Pair
    ) -> None:
        """A hostile shard announced under its own digest still fails the setup checks."""
        import hashlib
        from dataclasses import replace

        pair.service.refresh([KE])
        manifest = pair.manifest(KE)
        hostile = b"\x12\x04\x08\x00\x10\x00"  # a GCS with hash_range 0 and no bits
        digests = dict(manifest.digests)
        digests[0] = hashlib.sha256(hostile).hexdigest()
        forged = replace(manifest, digests=digests)
        fetched = {s.shard_id: s.setup for s in pair.service.shards(KE, forged.epoch_id, range(10))}
        fetched[0] = hostile
        with pytest.raises(MalformedPsiMessage):
            pair.held.apply(forged, fetched, pair.pool.run)
        assert pair.held.get(KE.peer, KE.name) is None

    def test_manifest_with_missing_shards_is_refused(self, pair: Pair) -> None:
        """A manifest that does not list every shard of its layout is refused."""
        from dataclasses import replace

        pair.service.refresh([KE])
        manifest = pair.manifest(KE)
        partial = replace(manifest, digests={0: "0" * 64})
        with pytest.raises(MalformedPsiMessage):
            pair.held.wanted(partial)

    @pytest.mark.parametrize(
        "digest", ["A" * 64, "0" * 63, "0" * 65, "g" * 64, "0" * 63 + "\n", "0" * 63 + "é"]
    )
    def test_manifest_with_a_digest_that_is_not_sha256_hex_is_refused(
        self, pair: Pair, digest: str
    ) -> None:
        """Every shard digest must be 64 lower-case hex characters, or nothing is fetched."""
        from dataclasses import replace

        pair.service.refresh([KE])
        manifest = pair.manifest(KE)
        forged = replace(manifest, digests={**manifest.digests, 0: digest})
        with pytest.raises(MalformedPsiMessage, match="SHA-256"):
            pair.held.wanted(forged)


class FakeChannel:
    """A counterpart's held-setup service in process, optionally hostile."""

    def __init__(self, pair: Pair, *, extra: bytes | None = None) -> None:
        self.pair = pair
        self.extra = extra
        self.matches = 0

    def manifest(self, purpose: str, legal_basis: str) -> Manifest:
        return self.pair.manifest(ViewKey("vn-customs", purpose, legal_basis))

    def fetch(
        self, purpose: str, legal_basis: str, epoch_id: str, shard_ids: list[int]
    ) -> Iterator[tuple[int, str, bytes]]:
        key = ViewKey("vn-customs", purpose, legal_basis)
        for shard in self.pair.service.shards(key, epoch_id, shard_ids):
            yield shard.shard_id, shard.digest, shard.setup
        if self.extra is not None:
            yield shard_ids[0], "0" * 64, self.extra

    def match_held(self, call: HeldMatch) -> HeldAnswer:
        self.matches += 1
        key = ViewKey("vn-customs", call.context.purpose, call.context.legal_basis)
        answer, remaining = self.pair.service.answer(
            key, call.epoch_id, call.generation, call.psi_request,
            charge=self.pair.charge, max_elements=20_000,
        )  # fmt: skip
        return HeldAnswer(answer.psi_response, answer.epoch_id, "", answer.elements, remaining)


CONTEXT = Context("criminal_investigation", "CITES-Art-VIII", "CASE/1", "Officer A")


class TestRequesterSync:
    def test_requester_syncs_on_first_lookup_and_finds_hits(self, pair: Pair) -> None:
        """The first lookup syncs the counterpart's shards, then answers from them."""
        pair.service.refresh([KE])
        requester = HeldRequester(HeldStore(), pair.pool.run)
        channel = FakeChannel(pair)
        # The counterpart is named vn-customs in this pair (it is the view's peer).
        result = requester.lookup("vn-customs", channel, CONTEXT, [phone(1), "v1|phone|+1"])
        assert result.hits == {phone(1)}
        assert channel.matches == 1

    def test_a_stream_with_unasked_shards_is_refused_and_nothing_held(self, pair: Pair) -> None:
        """Shards the requester did not ask for, or under another digest, are refused."""
        pair.service.refresh([KE])
        store = HeldStore()
        requester = HeldRequester(store, pair.pool.run)
        with pytest.raises(MalformedPsiMessage):
            requester.sync("vn-customs", FakeChannel(pair, extra=b"\x00" * 10), CONTEXT)
        assert store.get(KE.peer, KE.name) is None
