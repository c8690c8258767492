"""Witnessed checkpoints: peers keep and countersign each other's heads (CT gossip, tlog witnesses).

A node sends its newest signed checkpoint (entry count N, head hash H) to each
peer. The peer — the *witness* — keeps one head per size per origin and
countersigns a checkpoint only when it is consistent with every head it saw
before. For a hash chain, "consistent" means: the new head is reached from the
largest head the witness holds by chaining the body digests of the entries in
between (chain version 2: ``entry_hash = SHA-256(prev || digest)``). The
witness sees 32-byte digests only, never an entry's content. The first head a
witness sees from an origin is trusted on first use.

A witness raises an alarm — stored, audited and logged as an error — when an
origin shows it

* ``split view``: a different head for a size it already holds;
* ``inconsistent``: a larger head that does not extend the one it holds
  (history before it was rewritten, even if re-signed with the origin's key);
* ``rolled back``: a smaller size than one it already countersigned (the
  origin's trail went back, e.g. restored from an old backup).

The origin stores each countersignature; ``verify`` checks local history
against every stored one and, when asked, against the heads the witnesses
report now (which no one with only the origin's files can alter).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Protocol

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from node.app.home import NodeHome
from node.app.logs import get_logger
from node.audit import keys
from node.audit.chain import (
    append_entry,
    body_digest,
    canonical_json,
    format_ts,
    link_hash,
    row_body,
)
from node.audit.checkpoint import Checkpoint
from node.audit.errors import AuditError
from node.store import audit as repo
from node.store.backend import Connection

log = get_logger("spoor.audit.witness")

COSIGNATURE_TYPE = "spoor-audit-cosignature"
#: Most body digests one witness request carries (32 bytes each).
MAX_DIGESTS = 10_000

ACCEPTED = "accepted"
NEED_PROOF = "need proof"
SPLIT_VIEW = "split view"
INCONSISTENT = "inconsistent"
ROLLED_BACK = "rolled back"
REFUSED = "refused"
UNKNOWN = "unknown"
ALARMS = (SPLIT_VIEW, INCONSISTENT, ROLLED_BACK)


@dataclass(frozen=True)
class Cosignature:
    """A witness's signed statement that it saw ``origin``'s head (count, hash)."""

    origin: str
    witness: str
    entry_count: int
    head_hash: str
    witnessed_at: str
    witness_key: str
    signature: str

    def payload(self) -> bytes:
        return canonical_json(
            {
                "type": COSIGNATURE_TYPE,
                "v": 1,
                "origin": self.origin,
                "witness": self.witness,
                "entry_count": self.entry_count,
                "head_hash": self.head_hash,
                "witnessed_at": self.witnessed_at,
            }
        )

    def valid(self) -> bool:
        try:
            key = Ed25519PublicKey.from_public_bytes(bytes.fromhex(self.witness_key))
            key.verify(bytes.fromhex(self.signature), self.payload())
        except (InvalidSignature, ValueError):
            return False
        return True


@dataclass(frozen=True)
class WitnessCall:
    """What an origin sends: its checkpoint and the digests from ``prior_count`` to its size."""

    checkpoint: Checkpoint
    prior_count: int
    digests: tuple[str, ...] = ()


@dataclass(frozen=True)
class WitnessAnswer:
    """The witness's verdict, the largest head it holds for the origin, and its countersignature."""

    status: str
    known_count: int = 0
    known_hash: str = ""
    cosignature: Cosignature | None = None
    message: str = ""


class WitnessChannel(Protocol):
    """A counterpart acting as a witness (gRPC in production, fakes in tests)."""

    peer_id: str

    def witness(self, call: WitnessCall) -> WitnessAnswer: ...

    def witnessed_head(self) -> WitnessAnswer: ...


def _cosign(
    conn: Connection, home: NodeHome, me: str, origin: str, count: int, head: str, now: str
) -> Cosignature:
    signer = keys.require_signer(conn, home)
    unsigned = Cosignature(origin, me, count, head, now, signer.public_key_hex(), "")
    return Cosignature(
        origin, me, count, head, now, unsigned.witness_key, signer.sign(unsigned.payload()).hex()
    )


def _alarm(
    conn: Connection, origin: str, kind: str, cp: Checkpoint, known: tuple[int, str], now: str
) -> WitnessAnswer:
    repo.add_alarm(conn, (origin, kind, cp.entry_count, cp.head_hash, known[0], known[1], now))
    append_entry(
        conn,
        "audit.witness_alarm",
        {
            "counterpart": origin,
            "status": kind,
            "details": {
                "entry_count": cp.entry_count,
                "head_hash": cp.head_hash,
                "known_count": known[0],
                "known_hash": known[1],
            },
        },
    )
    log.error(
        "audit witness alarm",
        origin=origin,
        kind=kind,
        entry_count=cp.entry_count,
        known_count=known[0],
    )
    return WitnessAnswer(
        kind,
        known[0],
        known[1],
        message=f"{origin} showed a head of {cp.entry_count} entries inconsistent with the head "
        f"of {known[0]} entries this witness holds ({kind})",
    )


def observe(  # noqa: PLR0911 - one return per verdict
    conn: Connection,
    home: NodeHome,
    me: str,
    origin: str,
    call: WitnessCall,
    *,
    now: datetime | None = None,
) -> WitnessAnswer:
    """Witness-side: check ``origin``'s checkpoint against what we saw; record, countersign.

    Runs in the caller's open transaction (the record, the audit entry and any
    alarm commit together).
    """
    cp = call.checkpoint
    moment = format_ts(now or datetime.now(UTC))
    if cp.agency_id != origin:
        return WitnessAnswer(
            REFUSED, message=f"the checkpoint names {cp.agency_id!r}, not {origin}"
        )
    if not cp.signature_valid():
        return WitnessAnswer(REFUSED, message="the checkpoint's signature is not valid")
    latest = repo.witnessed_latest(conn, origin)
    same = repo.witnessed_at(conn, origin, cp.entry_count)
    if same is not None:
        if same != cp.head_hash:
            return _alarm(conn, origin, SPLIT_VIEW, cp, (cp.entry_count, same), moment)
    elif latest is not None and cp.entry_count < latest[0]:
        return _alarm(conn, origin, ROLLED_BACK, cp, latest[:2], moment)
    elif latest is not None:
        if call.prior_count != latest[0] or len(call.digests) != cp.entry_count - latest[0]:
            return WitnessAnswer(NEED_PROOF, latest[0], latest[1])
        reached = latest[1]
        for digest in call.digests:
            reached = link_hash(reached, digest)
        if reached != cp.head_hash:
            return _alarm(conn, origin, INCONSISTENT, cp, latest[:2], moment)
    if same is None:
        repo.add_witnessed(
            conn,
            (
                origin,
                cp.entry_count,
                cp.head_hash,
                cp.public_key,
                cp.signature,
                cp.created_at,
                moment,
            ),
        )
        append_entry(
            conn,
            "audit.witnessed",
            {
                "counterpart": origin,
                "status": "first seen" if latest is None else "consistent",
                "details": {"entry_count": cp.entry_count, "head_hash": cp.head_hash},
            },
        )
    cosignature = _cosign(conn, home, me, origin, cp.entry_count, cp.head_hash, moment)
    return WitnessAnswer(ACCEPTED, cp.entry_count, cp.head_hash, cosignature)


def report_head(
    conn: Connection, home: NodeHome, me: str, origin: str, *, now: datetime | None = None
) -> WitnessAnswer:
    """Witness-side: the largest head we hold for ``origin``, freshly countersigned."""
    latest = repo.witnessed_latest(conn, origin)
    if latest is None:
        return WitnessAnswer(UNKNOWN, message=f"this node never witnessed a head of {origin}")
    moment = format_ts(now or datetime.now(UTC))
    cosignature = _cosign(conn, home, me, origin, latest[0], latest[1], moment)
    return WitnessAnswer(ACCEPTED, latest[0], latest[1], cosignature)


def digests_between(conn: Connection, after: int, upto: int) -> tuple[str, ...] | None:
    """Body digests of entries ``after+1 .. upto``; None if one predates chain version 2."""
    out: list[str] = []
    for row in repo.entries_between(conn, after, upto):
        if int(row["chain_version"]) < 2:
            return None
        out.append(body_digest(row_body(row)))
    return tuple(out) if len(out) == upto - after else None


@dataclass
class SubmitResult:
    """What happened when this node's checkpoint was shown to one witness."""

    witness: str
    status: str
    entry_count: int
    message: str = ""
    problems: list[str] = field(default_factory=list)


def _checkpoint_to_send(conn: Connection, after: int) -> Checkpoint | None:
    """The newest stored checkpoint within :data:`MAX_DIGESTS` entries of ``after``."""
    from node.audit.checkpoint import stored_checkpoints

    chosen: Checkpoint | None = None
    for cp in stored_checkpoints(conn):
        if cp.entry_count - after <= MAX_DIGESTS and (
            chosen is None or cp.entry_count >= chosen.entry_count
        ):
            chosen = cp
    return chosen


def submit(conn: Connection, channel: WitnessChannel) -> SubmitResult:  # noqa: PLR0911
    """Origin-side: show our newest checkpoint to one witness and keep its countersignature.

    Call it outside a transaction: the network call holds no lock, and the
    countersignature is stored in a short transaction of its own.
    """
    witness = channel.peer_id
    last = repo.latest_cosignature(conn, witness)
    prior = last[0] if last else 0
    cp = _checkpoint_to_send(conn, prior)
    if cp is None:
        return SubmitResult(witness, "nothing to send", 0)
    if last is not None and cp.entry_count == prior:
        return SubmitResult(witness, "up to date", prior)
    answer = channel.witness(_call(conn, cp, prior))
    if answer.status == NEED_PROOF:
        known = repo.entry_hash_at(conn, answer.known_count) if answer.known_count else None
        if answer.known_count and known != answer.known_hash:
            log.error("audit witness holds a head this trail no longer has", witness=witness)
            return SubmitResult(
                witness,
                INCONSISTENT,
                cp.entry_count,
                f"{witness} holds a head of {answer.known_count} entries that this trail does "
                "not contain: the local trail was rewritten or rolled back",
            )
        if answer.known_count > cp.entry_count:
            return SubmitResult(
                witness,
                ROLLED_BACK,
                cp.entry_count,
                f"{witness} holds {answer.known_count} entries, more than this trail's "
                "checkpoint: the trail was truncated or restored from an older copy",
            )
        cp = _checkpoint_to_send(conn, answer.known_count) or cp
        answer = channel.witness(_call(conn, cp, answer.known_count))
    if answer.status in ALARMS:
        log.error("audit witness refused our head", witness=witness, kind=answer.status)
        return SubmitResult(witness, answer.status, cp.entry_count, answer.message)
    if answer.status != ACCEPTED or answer.cosignature is None:
        return SubmitResult(witness, answer.status, cp.entry_count, answer.message)
    cosig = answer.cosignature
    if not (
        cosig.valid()
        and cosig.witness == witness
        and (cosig.entry_count, cosig.head_hash) == (cp.entry_count, cp.head_hash)
    ):
        return SubmitResult(witness, REFUSED, cp.entry_count, "the countersignature is not valid")
    from node import store

    with store.transaction(conn):
        store_cosignature(conn, cosig)
    return SubmitResult(witness, ACCEPTED, cp.entry_count)


def _call(conn: Connection, cp: Checkpoint, prior: int) -> WitnessCall:
    if prior == 0 or prior >= cp.entry_count:
        return WitnessCall(cp, prior)
    digests = digests_between(conn, prior, cp.entry_count)
    if digests is None:
        raise AuditError(
            f"entries {prior + 1} to {cp.entry_count} cannot be proven to a witness "
            "(written before chain version 2, or missing); run 'spoor audit verify'"
        )
    return WitnessCall(cp, prior, digests)


def store_cosignature(conn: Connection, cosig: Cosignature) -> None:
    repo.add_cosignature(
        conn,
        (
            cosig.witness,
            cosig.entry_count,
            cosig.head_hash,
            cosig.witness_key,
            cosig.signature,
            cosig.witnessed_at,
        ),
    )


def stored_cosignatures(conn: Connection, origin: str | None) -> list[Cosignature]:
    """Every countersignature of this node's checkpoints, oldest first."""
    return [
        Cosignature(
            str(origin or ""), str(r[0]), int(r[1]), str(r[2]), str(r[5]), str(r[3]), str(r[4])
        )
        for r in repo.cosignatures(conn)
    ]


def witnessed_heads(cosignatures: Sequence[Cosignature]) -> list[tuple[str, int, str]]:
    """(witness, entry count, head hash) for verify."""
    return [(c.witness, c.entry_count, c.head_hash) for c in cosignatures]


class WitnessService:
    """A node's witness role, as the RPC layer calls it (one store transaction per call)."""

    def __init__(self, home: NodeHome, agency_id: str) -> None:
        self.home = home
        self.agency_id = agency_id

    def witness(self, origin: str, call: WitnessCall) -> WitnessAnswer:
        if len(call.digests) > MAX_DIGESTS:
            return WitnessAnswer(REFUSED, message=f"more than {MAX_DIGESTS} digests in one call")
        from node import store

        with store.opened(self.home.db_path, check_schema=False) as conn, store.transaction(conn):
            return observe(conn, self.home, self.agency_id, origin, call)

    def head(self, origin: str) -> WitnessAnswer:
        from node import store

        with store.opened(self.home.db_path, check_schema=False) as conn, store.transaction(conn):
            return report_head(conn, self.home, self.agency_id, origin)
