"""Verifying the audit chain, its personal-content commitments and checkpoints.

The check walks every entry in sequence order and recomputes its hash, so a
modified, deleted, inserted or reordered entry shows up at the first entry
that no longer fits. A hash chain cannot show that its newest entries were cut
off; signed checkpoints can: each pins an entry count and the hash of the entry
at that count. Stored checkpoints are checked too, and one held outside the
node (``spoor audit verify --checkpoint FILE``) catches a truncation even when
the attacker also removed the stored ones.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field

from node.audit import keys
from node.audit.chain import GENESIS_HASH, chain_hash, commit_personal, row_body
from node.audit.checkpoint import Checkpoint, stored_checkpoints
from node.store import audit as repo
from node.store.backend import Connection, Row


@dataclass(frozen=True)
class Problem:
    """One thing wrong with the trail; ``seq`` is the first entry concerned (None: whole trail)."""

    seq: int | None
    kind: str
    message: str

    def __str__(self) -> str:
        where = f"entry {self.seq}" if self.seq is not None else "audit trail"
        return f"{where}: {self.kind}: {self.message}"


@dataclass
class VerifyReport:
    """What ``verify`` found: the chain's length and head, and every problem."""

    entry_count: int
    head_hash: str
    checkpoints_checked: int = 0
    witnessed_checked: int = 0
    personal_values_checked: int = 0
    external_checkpoint: Checkpoint | None = None
    problems: list[Problem] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def first_problem(self) -> Problem | None:
        if not self.problems:
            return None
        return min(self.problems, key=lambda p: (p.seq is None, p.seq or 0))

    def summary(self) -> str:
        if not self.ok:
            return (
                f"audit trail BROKEN: {len(self.problems)} problem(s); first: {self.first_problem}"
            )
        text = (
            f"audit trail OK: {self.entry_count} entries, head {self.head_hash[:16]}…, "
            f"{self.personal_values_checked} personal values and "
            f"{self.checkpoints_checked} stored checkpoints and "
            f"{self.witnessed_checked} witnessed heads verified"
        )
        if self.external_checkpoint is not None:
            cp = self.external_checkpoint
            text += f", consistent with checkpoint of {cp.created_at} ({cp.entry_count} entries)"
        return text


@dataclass
class _Walk:
    """What the walk over the chain collects for the later checks."""

    hashes: dict[int, str] = field(default_factory=dict)
    committed: dict[int, tuple[str, list[str]]] = field(default_factory=dict)
    purges: list[tuple[int, str, int]] = field(default_factory=list)


def _note(walk: _Walk, row: Row) -> None:
    try:
        names = sorted(json.loads(row["commitments"]))
    except (ValueError, TypeError):
        names = []
    if names:
        walk.committed[int(row["seq"])] = (str(row["ts"]), names)
    if row["event"] == "audit.purged":
        try:
            details = json.loads(row["details"])
            walk.purges.append(
                (int(row["seq"]), str(details["cutoff"]), int(details["retention_days"]))
            )
        except (ValueError, TypeError, KeyError):
            pass


def _walk_chain(
    conn: Connection, wanted: set[int], problems: list[Problem], warnings: list[str], walk: _Walk
) -> tuple[int, str, dict[int, str]]:
    """Check every entry; return (highest seq, head hash, hashes at the wanted seqs)."""
    expected, prev, last_hash = 1, GENESIS_HASH, GENESIS_HASH
    found: dict[int, str] = walk.hashes
    last_seq, last_ts = 0, ""
    for row in repo.entries(conn):
        seq = int(row["seq"])
        if seq != expected:
            missing = f"{expected}" if seq == expected + 1 else f"{expected} to {seq - 1}"
            problems.append(
                Problem(expected, "missing", f"entry {missing} is missing (deleted from the chain)")
            )
        if row["prev_hash"] != prev:
            problems.append(
                Problem(
                    seq,
                    "broken link",
                    "does not follow the previous entry's hash "
                    "(an entry before it was deleted, inserted or reordered)",
                )
            )
        try:
            body = row_body(row)
            recomputed = chain_hash(str(row["prev_hash"]), body)
        except (ValueError, TypeError) as exc:
            recomputed = f"unreadable ({exc})"
        if recomputed != row["entry_hash"]:
            problems.append(
                Problem(seq, "modified", "content does not match its hash (the entry was altered)")
            )
        if seq in wanted:
            found[seq] = str(row["entry_hash"])
        _note(walk, row)
        if str(row["ts"]) < last_ts:
            warnings.append(
                f"entry {seq} is dated {row['ts']}, before entry {last_seq} ({last_ts}): "
                "the node clock went back, or the entry deserves a closer look"
            )
        last_ts = str(row["ts"])
        prev = str(row["entry_hash"])
        last_hash = prev
        last_seq = seq
        expected = seq + 1
    return last_seq, last_hash, found


def _check_erasure(
    walk: _Walk,
    present: set[tuple[int, str]],
    problems: list[Problem],
    warnings: list[str],
    retention_days: int | None,
) -> None:
    """Committed personal content may be gone only when a later purge's cutoff covers it."""
    for seq, (ts, names) in walk.committed.items():
        gone = [name for name in names if (seq, name) not in present]
        if not gone:
            continue
        covered = any(p_seq > seq and ts < cutoff for p_seq, cutoff, _ in walk.purges)
        if not covered:
            problems.append(
                Problem(
                    seq,
                    "personal content erased",
                    f"the stored {', '.join(gone)} was deleted inside its retention period "
                    "(no purge covers this entry)",
                )
            )
    for p_seq, cutoff, days in walk.purges:
        if retention_days is not None and days < retention_days:
            warnings.append(
                f"entry {p_seq}: a purge used a retention of {days} days, shorter than the "
                f"configured {retention_days} (cutoff {cutoff}); check who ran it and why"
            )


def _check_personal(
    conn: Connection, problems: list[Problem], present: set[tuple[int, str]]
) -> int:
    checked = 0
    rows = repo.personal_with_commitments(conn)
    for seq, name, value, salt, commitments in rows:
        present.add((int(seq), str(name)))
        if commitments is None:
            problems.append(
                Problem(seq, "orphan content", f"{name} is stored for an entry that does not exist")
            )
            continue
        try:
            expected = json.loads(commitments).get(name)
            actual = commit_personal(str(name), str(value), str(salt))
        except (ValueError, TypeError, AttributeError):
            expected, actual = None, ""
        if expected != actual:
            problems.append(
                Problem(
                    seq,
                    "personal content altered",
                    f"the stored {name} does not match the value committed in the chain",
                )
            )
        checked += 1
    return checked


def _check_checkpoint(
    checkpoint: Checkpoint,
    label: str,
    count: int,
    hashes: dict[int, str],
    expected_key: str | None,
) -> list[Problem]:
    out: list[Problem] = []
    if not checkpoint.signature_valid():
        return [Problem(None, "bad checkpoint", f"{label}: signature is not valid")]
    if expected_key is not None and checkpoint.public_key != expected_key:
        out.append(
            Problem(
                None,
                "bad checkpoint",
                f"{label}: signed by a key other than the one in force for "
                f"{checkpoint.entry_count} entries",
            )
        )
    out.extend(_check_head(label, checkpoint.entry_count, checkpoint.head_hash, count, hashes))
    return out


def _check_head(
    label: str, n: int, head_hash: str, count: int, hashes: dict[int, str]
) -> list[Problem]:
    if n > count:
        return [
            Problem(
                count + 1,
                "truncated",
                f"{label} vouches for {n} entries but only {count} remain "
                f"(entries {count + 1} to {n} were removed)",
            )
        ]
    if (hashes.get(n, GENESIS_HASH if n == 0 else None)) != head_hash:
        return [
            Problem(
                n or None,
                "rewritten",
                f"{label}: entry {n} is not the one it vouches for (history was rewritten)",
            )
        ]
    return []


@dataclass(frozen=True)
class WitnessedHead:
    """A head a witness vouches for: from a stored countersignature or asked just now."""

    witness: str
    entry_count: int
    head_hash: str
    source: str  # "countersignature" or "asked"
    valid: bool = True


def _check_keys(conn: Connection, problems: list[Problem], warnings: list[str]) -> None:
    details = keys.key_details(conn)
    for seq, event, data in details:
        if event == "audit.key_rotated" and not keys.endorsement_valid(
            str(data.get("old_public_key", "")),
            str(data.get("public_key", "")),
            str(data.get("endorsement", "")),
        ):
            problems.append(
                Problem(seq, "bad key rotation", "the old key did not endorse the new one")
            )
        if event == "audit.key_lost":
            warnings.append(
                f"entry {seq}: the signing key was declared lost and replaced without "
                "endorsement; checkpoints before it are checked against the lost key's public key"
            )


def verify(
    conn: Connection,
    *,
    external: Checkpoint | None = None,
    node_public_key: str | None = None,
    witnessed: Sequence[WitnessedHead] = (),
    retention_days: int | None = None,
) -> VerifyReport:
    """Check the whole trail; ``external`` is a checkpoint held outside the node.

    ``node_public_key`` (hex) is the key the node holds now; each checkpoint
    must carry the key the chain says was in force at its size.
    ``witnessed`` are heads witnesses vouch for; ``retention_days`` the
    configured retention (a shorter purge is warned about).
    """
    problems: list[Problem] = []
    stored = stored_checkpoints(conn)
    wanted = {c.entry_count for c in stored} | {w.entry_count for w in witnessed}
    if external is not None:
        wanted.add(external.entry_count)
    warnings: list[str] = []
    walk = _Walk()
    count, head_hash, hashes = _walk_chain(conn, wanted, problems, warnings, walk)
    steps = keys.keys_in_force(conn, node_public_key)
    if stored and node_public_key is None:
        warnings.append(
            "the node's audit signing key is not readable here: stored checkpoints were "
            "checked against the keys the trail records only"
        )
    present: set[tuple[int, str]] = set()
    personal = _check_personal(conn, problems, present)
    _check_erasure(walk, present, problems, warnings, retention_days)
    _check_keys(conn, problems, warnings)
    for index, checkpoint in enumerate(stored, start=1):
        problems.extend(
            _check_checkpoint(
                checkpoint,
                f"stored checkpoint {index} of {checkpoint.created_at}",
                count,
                hashes,
                keys.key_for_count(steps, checkpoint.entry_count),
            )
        )
    if external is not None:
        problems.extend(
            _check_checkpoint(
                external,
                "the checkpoint file",
                count,
                hashes,
                keys.key_for_count(steps, external.entry_count),
            )
        )
    for w in witnessed:
        label = f"witness {w.witness} ({w.source}, {w.entry_count} entries)"
        if not w.valid:
            problems.append(Problem(None, "bad countersignature", f"{label}: signature invalid"))
            continue
        problems.extend(_check_head(label, w.entry_count, w.head_hash, count, hashes))
    return VerifyReport(
        entry_count=count,
        head_hash=head_hash,
        checkpoints_checked=len(stored),
        witnessed_checked=len(witnessed),
        warnings=warnings,
        personal_values_checked=personal,
        external_checkpoint=external,
        problems=problems,
    )
