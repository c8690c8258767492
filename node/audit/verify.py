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
from dataclasses import dataclass, field

from node.audit.chain import GENESIS_HASH, chain_hash, commit_personal, entry_body, row_fields
from node.audit.checkpoint import Checkpoint, stored_checkpoints
from node.store import audit as repo
from node.store.backend import Connection


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
            f"{self.checkpoints_checked} stored checkpoints verified"
        )
        if self.external_checkpoint is not None:
            cp = self.external_checkpoint
            text += f", consistent with checkpoint of {cp.created_at} ({cp.entry_count} entries)"
        return text


def _walk_chain(
    conn: Connection, wanted: set[int], problems: list[Problem], warnings: list[str]
) -> tuple[int, str, dict[int, str]]:
    """Check every entry; return (highest seq, head hash, hashes at the wanted seqs)."""
    expected, prev, last_hash = 1, GENESIS_HASH, GENESIS_HASH
    found: dict[int, str] = {}
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
            body = entry_body(
                seq=seq,
                entry_id=row["entry_id"],
                ts=row["ts"],
                event=row["event"],
                fields=row_fields(row),
                commitments=json.loads(row["commitments"]),
            )
            recomputed = chain_hash(str(row["prev_hash"]), body)
        except (ValueError, TypeError) as exc:
            recomputed = f"unreadable ({exc})"
        if recomputed != row["entry_hash"]:
            problems.append(
                Problem(seq, "modified", "content does not match its hash (the entry was altered)")
            )
        if seq in wanted:
            found[seq] = str(row["entry_hash"])
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


def _check_personal(conn: Connection, problems: list[Problem]) -> int:
    checked = 0
    rows = repo.personal_with_commitments(conn)
    for seq, name, value, salt, commitments in rows:
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
    node_key: str | None,
) -> list[Problem]:
    out: list[Problem] = []
    if not checkpoint.signature_valid():
        return [Problem(None, "bad checkpoint", f"{label}: signature is not valid")]
    if node_key is not None and checkpoint.public_key != node_key:
        out.append(
            Problem(None, "bad checkpoint", f"{label}: signed by a key other than this node's")
        )
    n = checkpoint.entry_count
    if n > count:
        out.append(
            Problem(
                count + 1,
                "truncated",
                f"{label} vouches for {n} entries but only {count} remain "
                f"(entries {count + 1} to {n} were removed)",
            )
        )
    elif (hashes.get(n, GENESIS_HASH if n == 0 else None)) != checkpoint.head_hash:
        out.append(
            Problem(
                n or None,
                "rewritten",
                f"{label}: entry {n} is not the one the checkpoint vouches for "
                "(history was rewritten)",
            )
        )
    return out


def verify(
    conn: Connection,
    *,
    external: Checkpoint | None = None,
    node_public_key: str | None = None,
) -> VerifyReport:
    """Check the whole trail; ``external`` is a checkpoint held outside the node.

    ``node_public_key`` (hex) makes checkpoints signed by any other key fail.
    """
    problems: list[Problem] = []
    stored = stored_checkpoints(conn)
    wanted = {c.entry_count for c in stored}
    if external is not None:
        wanted.add(external.entry_count)
    warnings: list[str] = []
    count, head_hash, hashes = _walk_chain(conn, wanted, problems, warnings)
    if stored and node_public_key is None:
        warnings.append(
            "the node's audit signing key is missing: stored checkpoints were checked against "
            "their own public keys only; restore keys/audit-signing.key from backup"
        )
    personal = _check_personal(conn, problems)
    for index, checkpoint in enumerate(stored, start=1):
        problems.extend(
            _check_checkpoint(
                checkpoint,
                f"stored checkpoint {index} of {checkpoint.created_at}",
                count,
                hashes,
                node_public_key,
            )
        )
    if external is not None:
        problems.extend(
            _check_checkpoint(external, "the checkpoint file", count, hashes, node_public_key)
        )
    return VerifyReport(
        entry_count=count,
        head_hash=head_hash,
        checkpoints_checked=len(stored),
        warnings=warnings,
        personal_values_checked=personal,
        external_checkpoint=external,
        problems=problems,
    )
