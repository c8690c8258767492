"""Shard placement, padding and epoch keys: pure functions, no PSI work."""

from __future__ import annotations

import pytest

from node.psi.held import valid_key
from node.setups import shards as sh
from node.setups.epochs import EpochKeys
from tests.lookup.helpers import Clock


class TestShards:
    def test_every_key_lands_in_one_base_and_one_delta_shard(self) -> None:
        """Placement is deterministic under a salt and stays inside each layer's id range."""
        layout = sh.ShardLayout(base=8, delta=2)
        keys = [f"v1|phone|+2547{i:08d}" for i in range(500)]
        for key in keys:
            base, delta = sh.shards_of(b"salt-one-0123456", key, layout)
            assert 0 <= base < 8
            assert 8 <= delta < 10
            assert (base, delta) == sh.shards_of(b"salt-one-0123456", key, layout)
        parts = sh.partition(b"salt-one-0123456", keys, layout)
        assert sorted(k for ks in parts.values() for k in ks) == sorted(keys)

    def test_another_salt_places_keys_differently(self) -> None:
        """A new epoch's salt reshuffles which keys share a shard."""
        layout = sh.ShardLayout(base=64, delta=4)
        keys = [f"v1|phone|+2547{i:08d}" for i in range(200)]
        first = [sh.shards_of(b"salt-one-0123456", k, layout)[0] for k in keys]
        second = [sh.shards_of(b"salt-two-0123456", k, layout)[0] for k in keys]
        assert first != second

    def test_capacity_pads_by_at_most_a_sixteenth(self) -> None:
        """Capacities are at least 64 and never more than ~6 % above the shard's size."""
        assert sh.capacity(0) == sh.capacity(64) == 64
        for n in (65, 1000, 13_337, 999_999):
            assert n <= sh.capacity(n) <= n * 1.0625 + 1

    def test_padding_is_stable_and_replaces_the_last_dummy(self) -> None:
        """One more key in a shard displaces exactly one dummy; every other value stays."""
        before = sh.padded(b"secret", 3, ["v1|a|1"], 64)
        after = sh.padded(b"secret", 3, ["v1|a|1", "v1|a|2"], 64)
        assert len(before) == len(after) == 64
        assert set(before) - set(after) == {before[1]}
        assert set(after) - set(before) == {"v1|a|2"}
        assert all(d.startswith("\x00") for d in before[1:])

    def test_too_many_keys_for_a_capacity_is_refused(self) -> None:
        """Padding never silently drops a real key."""
        with pytest.raises(ValueError, match="capacity"):
            sh.padded(b"secret", 0, ["v1|a|1", "v1|a|2"], 1)


class TestEpochKeys:
    def test_keys_are_valid_scalars_and_hidden_from_repr(self) -> None:
        """An epoch key is a usable P-256 scalar and never shows in a repr or a log line."""
        keys = EpochKeys(clock=Clock(0.0))
        epoch = keys.current("vn-customs", "view")
        assert valid_key(epoch.key)
        assert epoch.key.hex() not in repr(epoch)
        assert epoch.padding_secret.hex() not in repr(epoch)

    def test_rotation_keeps_the_previous_epoch_for_its_grace_only(self) -> None:
        """After expiry a new epoch starts; the old one answers for the grace period, then not."""
        clock = Clock(0.0)
        keys = EpochKeys(epoch_seconds=100, grace_seconds=10, clock=clock)
        old = keys.current("vn-customs", "view")
        clock.advance(101)
        new = keys.current("vn-customs", "view")
        assert new.epoch_id != old.epoch_id
        assert keys.find("vn-customs", old.epoch_id) is old
        clock.advance(10)
        assert keys.find("vn-customs", old.epoch_id) is None
        assert keys.find("ug-uwa", new.epoch_id) is None
