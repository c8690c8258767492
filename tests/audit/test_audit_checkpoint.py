"""Checkpoints: the signing key, signatures, storage and the periodic schedule."""

from __future__ import annotations

import json
import sqlite3
import stat
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

import node.store
from node import audit
from node.app.home import NodeHome
from tests.audit.helpers import record, rows

T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


class TestSigningKey:
    def test_key_created_once_with_mode_0600(
        self, conn: sqlite3.Connection, home: NodeHome
    ) -> None:
        """The audit key is created once, outside the home, private to its owner, then reused."""
        with node.store.transaction(conn):
            first = audit.create_first_key(conn, home)
        path = Path(audit.key_location(home))
        assert not path.is_relative_to(home.root)
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
        again = audit.ensure_signing_key(home)
        assert audit.node_public_key(home) is not None
        assert first.sign(b"x") == again.sign(b"x")  # Ed25519 is deterministic per key

    def test_unreadable_key_is_a_clear_error(self, home: NodeHome) -> None:
        """A corrupt key file is reported, not silently replaced."""
        home.audit_key_path.parent.mkdir(parents=True)
        home.audit_key_path.write_bytes(b"not a key")
        with pytest.raises(audit.CheckpointError, match="audit signing key"):
            audit.ensure_signing_key(home)
        assert home.audit_key_path.read_bytes() == b"not a key"


class TestWriteCheckpoint:
    def test_checkpoint_pins_count_and_head_and_is_stored(
        self, conn: sqlite3.Connection, home: NodeHome
    ) -> None:
        """A checkpoint states the entry count and head hash, is signed, and is stored."""
        entries = [record(conn, "peer.added", counterpart="vn-ems") for _ in range(3)]
        checkpoint = audit.write_checkpoint(conn, home)
        assert checkpoint.entry_count == 3
        assert checkpoint.head_hash == entries[-1].entry_hash
        assert checkpoint.signature_valid()
        assert checkpoint.public_key == audit.node_public_key(home)
        stored = rows(conn, "audit_checkpoints")
        assert len(stored) == 1
        assert stored[0]["signature"] == checkpoint.signature

    def test_any_change_breaks_the_signature(
        self, conn: sqlite3.Connection, home: NodeHome
    ) -> None:
        """Editing the count, head or time of a checkpoint invalidates it."""
        record(conn, "peer.added", counterpart="vn-ems")
        checkpoint = audit.write_checkpoint(conn, home)
        assert not replace(checkpoint, entry_count=0).signature_valid()
        assert not replace(checkpoint, head_hash="00" * 32).signature_valid()
        assert not replace(checkpoint, created_at="2020-01-01T00:00:00.000000Z").signature_valid()

    def test_json_round_trip(
        self, conn: sqlite3.Connection, home: NodeHome, tmp_path: Path
    ) -> None:
        """The printed JSON reads back into an identical, valid checkpoint."""
        record(conn, "peer.added", counterpart="vn-ems")
        checkpoint = audit.write_checkpoint(conn, home)
        path = tmp_path / "cp.json"
        path.write_text(checkpoint.to_json())
        assert json.loads(path.read_text())["algorithm"] == "Ed25519"
        loaded = audit.load_checkpoint_file(path)
        assert loaded == checkpoint
        assert loaded.signature_valid()


class TestMaybeCheckpoint:
    def test_schedule_by_entries_and_time(self, conn: sqlite3.Connection, home: NodeHome) -> None:
        """A checkpoint is written after enough new entries or enough time with new entries."""
        assert audit.maybe_checkpoint(conn, home, now=T0) is None  # nothing to pin yet
        record(conn, "peer.added", counterpart="vn-ems", at=T0)
        assert audit.maybe_checkpoint(conn, home, now=T0) is not None
        record(conn, "peer.added", counterpart="th-dnp", at=T0)
        assert audit.maybe_checkpoint(conn, home, every_entries=5, now=T0) is None
        later = T0 + timedelta(hours=2)
        made = audit.maybe_checkpoint(conn, home, every_entries=5, every_seconds=3600, now=later)
        assert made is not None
        assert made.entry_count == 2
        for _ in range(5):
            record(conn, "peer.added", counterpart="th-dnp", at=later)
        made = audit.maybe_checkpoint(conn, home, every_entries=5, now=later)
        assert made is not None
        assert made.entry_count == 7
        assert audit.maybe_checkpoint(conn, home, now=later + timedelta(days=1)) is None
        assert len(rows(conn, "audit_checkpoints")) == 3
