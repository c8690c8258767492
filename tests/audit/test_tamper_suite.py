"""The tamper suite: every way an insider may alter the trail, and who catches it.

Each variant tampers with an origin node whose trail has 14 entries: a
checkpoint of entry 10 stored and countersigned by a witness, then four
entries nobody has vouched for yet. "alone" is what ``spoor audit verify``
finds with the node's own database (its stored checkpoints and the witnesses'
stored countersignatures) and key; "witnessed" adds the head the witness
reports now (``--ask-witnesses``) and any alarm the witness raises when shown
a head. The table in docs/audit.md is this list.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

import node.store
from node.audit.chain import GENESIS_HASH
from node.audit.checkpoint import Checkpoint, sign_checkpoint, stored_checkpoints
from node.audit.keys import Signer
from node.audit.witness import WitnessCall
from node.store import audit as repo
from tests.audit.helpers import forge_entry, record, reseal
from tests.audit.witnessing import Federation, build_federation, restore_backup

Tamper = Callable[[Federation], None]


def _sql(*statements: str) -> Tamper:
    def run(fed: Federation) -> None:
        for statement in statements:
            fed.conn.execute(statement)

    return run


def _drop_checkpoints(fed: Federation) -> None:
    fed.conn.execute("DELETE FROM audit_checkpoints")


def _drop_cosignatures(fed: Federation) -> None:
    fed.conn.execute("DELETE FROM audit_cosignatures")


def _rewrite_from_4(fed: Federation) -> None:
    fed.conn.execute("UPDATE audit_entries SET counterpart = 'th-dnp' WHERE seq = 4")
    reseal(fed.conn, 4)


def _resign_checkpoints(fed: Federation, key: Ed25519PrivateKey | None = None) -> None:
    """Re-sign every stored checkpoint over the rewritten chain (with the stolen key by default)."""
    signer: Ed25519PrivateKey | Signer = key or fed.signer()
    for cp in stored_checkpoints(fed.conn):
        head = repo.entry_hash_at(fed.conn, cp.entry_count) or GENESIS_HASH
        fresh = sign_checkpoint(signer, cp.entry_count, head, cp.created_at, cp.agency_id)
        fed.conn.execute(
            "UPDATE audit_checkpoints SET head_hash = ?, signature = ?, public_key = ?"
            " WHERE entry_count = ?",
            (fresh.head_hash, fresh.signature, fresh.public_key, cp.entry_count),
        )


def _chain(*steps: Tamper) -> Tamper:
    def run(fed: Federation) -> None:
        for step in steps:
            step(fed)

    return run


def _insert_middle(fed: Federation) -> None:
    fed.conn.execute("UPDATE audit_entries SET seq = seq + 100 WHERE seq > 5")
    fed.conn.execute("UPDATE audit_personal SET seq = seq + 100 WHERE seq > 5")
    fed.conn.execute("UPDATE audit_entries SET seq = seq - 99 WHERE seq > 100")
    fed.conn.execute("UPDATE audit_personal SET seq = seq - 99 WHERE seq > 100")
    prev = repo.entry_hash_at(fed.conn, 5)
    assert prev is not None
    forge_entry(fed.conn, 6, prev, "records.deleted")


def _reorder(fed: Federation) -> None:
    fed.conn.execute("UPDATE audit_entries SET seq = -1 WHERE seq = 3")
    fed.conn.execute("UPDATE audit_entries SET seq = 3 WHERE seq = 4")
    fed.conn.execute("UPDATE audit_entries SET seq = 4 WHERE seq = -1")


def _duplicate(fed: Federation) -> None:
    row = dict(fed.conn.execute("SELECT * FROM audit_entries WHERE seq = 3").fetchone())
    row.update(seq=15, entry_id="copy-of-3")
    columns = ", ".join(row)
    marks = ", ".join("?" for _ in row)
    fed.conn.execute(f"INSERT INTO audit_entries ({columns}) VALUES ({marks})", tuple(row.values()))


def _cut(keep: int) -> Tamper:
    return _sql(
        f"DELETE FROM audit_entries WHERE seq > {keep}",
        f"DELETE FROM audit_personal WHERE seq > {keep}",
    )


def _restore_backup(fed: Federation) -> None:
    restore_backup(fed)


def _forge_head(fed: Federation) -> None:
    fed.conn.execute("UPDATE audit_entries SET elements = 999 WHERE seq = 14")
    reseal(fed.conn, 14)


def _append_forged(fed: Federation) -> None:
    head = repo.entry_hash_at(fed.conn, 14)
    assert head is not None
    forge_entry(fed.conn, 15, head, "records.imported")


def _swap_personal(fed: Federation) -> None:
    fed.conn.execute("UPDATE audit_personal SET seq = -1 WHERE seq = 3 AND field = 'officer'")
    fed.conn.execute("UPDATE audit_personal SET seq = 3 WHERE seq = 4 AND field = 'officer'")
    fed.conn.execute("UPDATE audit_personal SET seq = 4 WHERE seq = -1 AND field = 'officer'")


def _other_key_checkpoint(fed: Federation) -> None:
    _rewrite_from_4(fed)
    _resign_checkpoints(fed, Ed25519PrivateKey.generate())


def _split_view(fed: Federation) -> None:
    """Rewrite and re-sign with the stolen key, then show the witness the same size again."""
    _rewrite_from_4(fed)
    _drop_checkpoints(fed)
    _drop_cosignatures(fed)
    fed.conn.execute("DELETE FROM audit_entries WHERE seq > 10")
    cp = sign_checkpoint(
        fed.signer(),
        10,
        repo.entry_hash_at(fed.conn, 10) or "",
        "2026-12-01T00:00:00.000000+00:00",
        "ke-kws",
    )
    fed.alarms_raised.append(fed.witness.witness(_call(cp)).status)


def _call(cp: Checkpoint) -> WitnessCall:
    return WitnessCall(cp, 0)


def _inconsistent(fed: Federation) -> None:
    """Rewrite and re-sign, extend it, and show the witness the longer forged head."""
    _rewrite_from_4(fed)
    _resign_checkpoints(fed)
    record(fed.conn, "peer.added", counterpart="th-dnp")
    fed.checkpoint()
    fed.submit()


def _unrecorded_purge(fed: Federation) -> None:
    """Erase an officer name, then append a forged purge entry whose cutoff covers it."""
    fed.conn.execute("DELETE FROM audit_personal WHERE seq = 5")
    with node.store.transaction(fed.conn):
        from node.audit.chain import append_entry

        append_entry(
            fed.conn,
            "audit.purged",
            {"details": {"cutoff": "2999-01-01T00:00:00.000000+00:00", "retention_days": 1}},
        )


def _stored_checkpoint_edit(column: str, value: str) -> Tamper:
    return _sql(f"UPDATE audit_checkpoints SET {column} = '{value}'")


#: variant -> (tamper, detected by the node alone, detected with a witness)
VARIANTS: dict[str, tuple[Tamper, bool, bool]] = {
    "modify an entry's event": (
        _sql("UPDATE audit_entries SET event = 'peer.added' WHERE seq = 3"),
        True,
        True,
    ),
    "modify an entry's counts": (
        _sql("UPDATE audit_entries SET elements = 1 WHERE seq = 12"),
        True,
        True,
    ),
    "modify an entry's details": (
        _sql("""UPDATE audit_entries SET details = '{"ticket_id":"t-x"}' WHERE seq = 5"""),
        True,
        True,
    ),
    "modify an entry's time": (
        _sql("UPDATE audit_entries SET ts = '2020-01-01T00:00:00.000000+00:00' WHERE seq = 6"),
        True,
        True,
    ),
    "modify an entry's counterpart": (
        _sql("UPDATE audit_entries SET counterpart = 'th-dnp' WHERE seq = 7"),
        True,
        True,
    ),
    "overwrite an entry hash": (
        _sql("UPDATE audit_entries SET entry_hash = prev_hash WHERE seq = 8"),
        True,
        True,
    ),
    "overwrite a link": (
        _sql(f"UPDATE audit_entries SET prev_hash = '{'1' * 64}' WHERE seq = 9"),
        True,
        True,
    ),
    "delete a middle entry": (_sql("DELETE FROM audit_entries WHERE seq = 6"), True, True),
    "delete the first entry": (_sql("DELETE FROM audit_entries WHERE seq = 1"), True, True),
    "insert an entry": (_insert_middle, True, True),
    "reorder two entries": (_reorder, True, True),
    "duplicate an entry at the head": (_duplicate, True, True),
    "truncate the unwitnessed tail (after the last checkpoint)": (_cut(10), False, False),
    "truncate into the checkpointed part": (_cut(7), True, True),
    "truncate and delete checkpoints and countersignatures": (
        _chain(_cut(7), _drop_checkpoints, _drop_cosignatures),
        False,
        True,
    ),
    "roll back to an older backup": (_restore_backup, False, True),
    "forge with a recomputed chain": (_rewrite_from_4, True, True),
    "recomputed chain, stored checkpoints deleted": (
        _chain(_rewrite_from_4, _drop_checkpoints, _drop_cosignatures),
        False,
        True,
    ),
    "recomputed chain re-signed with the stolen key": (
        _chain(_rewrite_from_4, _resign_checkpoints),
        True,
        True,
    ),
    "re-signed with the stolen key, countersignatures deleted": (
        _chain(_rewrite_from_4, _resign_checkpoints, _drop_cosignatures),
        False,
        True,
    ),
    "recomputed chain signed with another key": (_other_key_checkpoint, True, True),
    "forge the head entry (unwitnessed)": (_forge_head, False, False),
    "append a forged entry at the head": (_append_forged, False, False),
    "split view: another head for a witnessed size": (_split_view, False, True),
    "inconsistent head shown to the witness": (_inconsistent, True, True),
    "alter an officer name": (
        _sql(
            "UPDATE audit_personal SET value = 'someone else' WHERE seq = 4 AND field = 'officer'"
        ),
        True,
        True,
    ),
    "erase an officer name inside retention": (
        _sql("DELETE FROM audit_personal WHERE seq = 4 AND field = 'officer'"),
        True,
        True,
    ),
    "erase a justification inside retention": (
        _sql("DELETE FROM audit_personal WHERE seq = 9 AND field = 'justification'"),
        True,
        True,
    ),
    "erase all personal content": (_sql("DELETE FROM audit_personal"), True, True),
    "change a salt": (
        _sql(f"UPDATE audit_personal SET salt = '{'ab' * 16}' WHERE seq = 3 AND field = 'officer'"),
        True,
        True,
    ),
    "swap personal values between entries": (_swap_personal, True, True),
    "add personal content to a missing entry": (
        _sql("INSERT INTO audit_personal VALUES (99, 'officer', 'x', '00')"),
        True,
        True,
    ),
    "alter a checkpoint signature": (_stored_checkpoint_edit("signature", "00" * 64), True, True),
    "alter a checkpoint head": (_stored_checkpoint_edit("head_hash", "11" * 32), True, True),
    "alter a countersignature": (
        _sql("UPDATE audit_cosignatures SET head_hash = '" + "22" * 32 + "'"),
        True,
        True,
    ),
    "erasure covered by a forged purge entry": (_unrecorded_purge, False, False),
}


def _mark(caught: bool) -> str:
    return "yes" if caught else "no"


@pytest.fixture
def fed(tmp_path: Path) -> Federation:
    federation = build_federation(tmp_path)
    assert federation.verify_alone().ok
    assert federation.verify_witnessed().ok
    return federation


class TestTamperSuite:
    @pytest.mark.parametrize("variant", list(VARIANTS))
    def test_variant_is_caught_as_documented(self, fed: Federation, variant: str) -> None:
        """Each variant is caught by the node alone or with a witness exactly as documented."""
        tamper, alone, witnessed = VARIANTS[variant]
        tamper(fed)
        caught_alone = not fed.verify_alone().ok
        caught_witnessed = caught_alone or not fed.verify_witnessed().ok or bool(fed.alarms_raised)
        assert (caught_alone, caught_witnessed) == (alone, witnessed)

    def test_at_least_thirty_variants(self) -> None:
        """The suite covers at least 30 variants; the documented table lists each one."""
        assert len(VARIANTS) >= 30
        doc = (Path(__file__).parents[2] / "docs" / "audit.md").read_text(encoding="utf-8")
        for variant, (_tamper, alone, witnessed) in VARIANTS.items():
            row = f"| {variant} | {_mark(alone)} | {_mark(witnessed)} |"
            assert row in doc, variant

    def test_split_view_is_an_alarm_at_the_witness(self, fed: Federation) -> None:
        """A witness shown two heads for one size stores, audits and reports the alarm."""
        _split_view(fed)
        alarms = fed.witness.alarms()
        assert [a[1] for a in alarms] == ["split view"]
        events = [r[0] for r in fed.witness.conn.execute("SELECT event FROM audit_entries")]
        assert "audit.witness_alarm" in events

    def test_forged_purge_leaves_a_warning(self, fed: Federation) -> None:
        """A purge entry with a retention shorter than configured is flagged for a human."""
        _unrecorded_purge(fed)
        from node import audit

        report = audit.verify(fed.conn, retention_days=1095)
        assert any("shorter than the configured 1095" in w for w in report.warnings)

    def test_checkpoint_json_keeps_shape(self, fed: Federation) -> None:
        """Changing a checkpoint's count keeps it readable but invalid."""
        cp = stored_checkpoints(fed.conn)[0]
        assert not replace(cp, entry_count=3).signature_valid()
        assert json.loads(cp.to_json())["entry_count"] == 10
