"""Adding, running and reporting standing watchlists.

A watchlist is checked like ``spoor match`` when it is added (rows, peers,
purpose, legal basis, case, officer) and stored with its validated rows. A run
matches the rows against each counterpart in turn through the same requester
flow as ``spoor match`` (so it is stored and audited as a match, with its
match id), but first checks the counterpart's budget: when the budget the
counterpart last reported for today cannot cover the run, the run is skipped,
recorded and audited with the reason, and nothing is sent. Only hits the
watchlist has not had before count as new.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from node import audit, store
from node.errors import InvalidRequest, VersionMismatch
from node.match.channel import ChannelFactory
from node.match.context import request_context
from node.match.requester import QueryFileInvalid, RowResult, match_peer, rows_of_records
from node.peers.channel import PeerCallFailed
from node.psi.errors import MalformedPsiMessage, PsiWorkerFailed
from node.records.io import Shape, read_records
from node.records.keys import SUPPORTED_SCHEMES, derive_keys
from node.records.model import Record
from node.records.schemes import keys_of_scheme
from node.store import Connection
from node.store import watchlists as watch_store
from node.store.watchlists import RunRow, WatchHit, Watchlist
from node.watch import webhook
from node.watch.schedule import next_run, parse_every

Notify = Callable[[str, Mapping[str, Any]], bool]
_REASON_MAX = 200


@dataclass
class WatchRequest:
    """Everything ``spoor watch add`` was given."""

    path: Path
    peers: Sequence[str]
    every: str
    purpose: str
    legal_bases: Mapping[str, str]
    case_reference: str
    officer: str
    webhook_url: str | None = None
    fmt: str | None = None
    mapping: Shape = None


def add_watchlist(
    conn: Connection,
    req: WatchRequest,
    *,
    requester: str,
    known_peers: Sequence[str],
    now: datetime | None = None,
) -> Watchlist:
    """Check the request like a match and store the watchlist; audited without contents."""
    moment = now or datetime.now(UTC)
    if not req.peers:
        raise InvalidRequest("peer", "name at least one counterpart")
    unknown = [p for p in req.peers if p not in known_peers]
    if unknown:
        raise InvalidRequest("peer", f"not a configured peer: {', '.join(unknown)}")
    every_s = parse_every(req.every)
    if req.webhook_url:
        webhook.check_url(req.webhook_url)
    for peer in req.peers:
        if peer not in req.legal_bases:
            raise InvalidRequest("legal_basis", f"no legal basis for {peer}")
        request_context(
            requester=requester,
            now=moment,
            purpose=req.purpose,
            legal_basis=req.legal_bases[peer],
            case_reference=req.case_reference,
            officer=req.officer,
        )
    result = read_records(req.path, req.fmt, req.mapping)
    if result.errors:
        raise QueryFileInvalid(req.path, [str(e) for e in result.errors])
    if not any(derive_keys(r).matchable() for r in result.records):  # in the newest scheme
        raise InvalidRequest("file", "no row has a matchable key (a bare name is never matched)")
    watch = Watchlist(
        watch_id=str(uuid.uuid4()),
        source=req.path.name,
        rows=[r.to_json() for r in result.records],
        peers=list(dict.fromkeys(req.peers)),
        every_s=every_s,
        purpose=req.purpose,
        legal_bases={p: req.legal_bases[p] for p in req.peers},
        case_reference=req.case_reference,
        officer=req.officer,
        webhook_url=req.webhook_url or None,
        created_at=watch_store.stamp(moment),
        last_run_at=None,
    )
    with store.transaction(conn):
        watch_store.add(conn, watch)
        audit.append(
            conn,
            "watch.added",
            purpose=req.purpose,
            case_reference=req.case_reference,
            officer=req.officer,
            elements=len(watch.rows),
            status="OK",
            details={"watch_id": watch.watch_id, "peers": watch.peers, "every_s": every_s},
        )
    return watch


def remove_watchlist(conn: Connection, watch_id: str, actor: str = "cli") -> bool:
    with store.transaction(conn):
        found = watch_store.remove(conn, watch_id)
        if found:
            audit.append(
                conn, "watch.removed", actor=actor, status="OK", details={"watch_id": watch_id}
            )
    return found


def rows_of(watch: Watchlist, default_region: str | None = None) -> list[RowResult]:
    """The watchlist's rows with their matchable keys (every scheme), numbered from 1."""
    records = [Record.from_json(data) for data in watch.rows]
    return rows_of_records(records, default_region=default_region)


def elements_of(rows: list[RowResult]) -> int:
    """The most elements one run sends a counterpart (whichever key scheme it shares)."""
    keys = {k for row in rows for k in row.keys}
    return max(len(keys_of_scheme(keys, scheme)) for scheme in SUPPORTED_SCHEMES)


def is_due(watch: Watchlist, now: datetime) -> bool:
    last = datetime.fromisoformat(watch.last_run_at) if watch.last_run_at else None
    return next_run(last, watch.every_s, now) <= now


@dataclass
class RunReport:
    """One run of one watchlist: a row per counterpart, the new hits, the webhook outcome."""

    watch: Watchlist
    runs: list[RunRow] = field(default_factory=list)
    new_hits: list[WatchHit] = field(default_factory=list)
    webhook_delivered: bool | None = None


def _period_start(now: datetime) -> str:
    # Budgets run per UTC day (node.match.budget.current_period).
    day = now.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    return watch_store.stamp(day)


def _skip(conn: Connection, watch: Watchlist, peer: str, at: str, reason: str) -> RunRow:
    run = RunRow(watch.watch_id, peer, at, "skipped", reason)
    with store.transaction(conn):
        watch_store.add_run(conn, run)
        audit.append(
            conn,
            "watch.skipped",
            counterpart=peer,
            purpose=watch.purpose,
            case_reference=watch.case_reference,
            officer=watch.officer,
            status="SKIPPED",
            details={"watch_id": watch.watch_id, "reason": reason},
        )
    return run


def run_watchlist(
    conn: Connection,
    watch: Watchlist,
    channels: ChannelFactory,
    *,
    requester: str,
    now: datetime | None = None,
    notify: Notify = webhook.post_json,
    default_region: str | None = None,
) -> RunReport:
    """Match the watchlist against each of its counterparts now; new hits are kept and sent."""
    moment = now or datetime.now(UTC)
    at = watch_store.stamp(moment)
    report = RunReport(watch)
    for peer in watch.peers:
        rows = rows_of(watch, default_region)
        elements = elements_of(rows)
        left = watch_store.known_budget(conn, peer, _period_start(moment))
        if left is not None and elements > left:
            reason = f"budget: {elements} elements needed, {peer} said {left} are left today"
            report.runs.append(_skip(conn, watch, peer, at, reason))
            continue
        context = request_context(
            requester=requester,
            now=moment,
            purpose=watch.purpose,
            legal_basis=watch.legal_bases[peer],
            case_reference=watch.case_reference,
            officer=watch.officer,
        )
        try:
            with channels(peer) as channel:
                outcome = match_peer(conn, channel, rows, context, reveal_intersection=True)
        except (
            PeerCallFailed,
            VersionMismatch,
            InvalidRequest,
            MalformedPsiMessage,
            PsiWorkerFailed,
        ) as exc:
            run = RunRow(watch.watch_id, peer, at, "failed", str(exc)[:_REASON_MAX])
            with store.transaction(conn):
                watch_store.add_run(conn, run)
            report.runs.append(run)
            continue
        match_id = outcome.match_id or ""
        new: list[WatchHit] = []
        with store.transaction(conn):
            for row in rows:
                for key_type in sorted(set(row.hits.get(peer, []))):
                    hit = WatchHit(watch.watch_id, peer, row.record_id, key_type, match_id, at)
                    if watch_store.record_hit(conn, hit):
                        new.append(hit)
            run = RunRow(
                watch.watch_id,
                peer,
                at,
                "done",
                "",
                match_id,
                outcome.elements,
                outcome.hits,
                len(new),
                outcome.budget_remaining,
            )
            watch_store.add_run(conn, run)
            audit.append(
                conn,
                "watch.ran",
                counterpart=peer,
                purpose=watch.purpose,
                case_reference=watch.case_reference,
                officer=watch.officer,
                elements=outcome.elements,
                hits=outcome.hits,
                status="OK",
                details={"watch_id": watch.watch_id, "match_id": match_id, "new_hits": len(new)},
            )
        report.runs.append(run)
        report.new_hits.extend(new)
    with store.transaction(conn):
        watch_store.set_last_run(conn, watch.watch_id, at)
    if watch.webhook_url:
        report.webhook_delivered = deliver(conn, watch, notify, moment)
    return report


def deliver(conn: Connection, watch: Watchlist, notify: Notify, now: datetime) -> bool:
    """Send the hits the webhook has not had yet (new ones and any an earlier run failed to)."""
    pending = watch_store.unreported_hits(conn, watch.watch_id, "webhook")
    if not pending or not watch.webhook_url:
        return True
    payload = {
        "event": "spoor.watch.new_hits",
        "watch_id": watch.watch_id,
        "case_reference": watch.case_reference,
        "hits": [h.as_dict() for h in pending],
    }
    delivered = notify(watch.webhook_url, payload)
    if delivered:
        with store.transaction(conn):
            watch_store.mark_reported(conn, pending, "webhook", watch_store.stamp(now))
    return delivered


def run_due(
    conn: Connection,
    channels: ChannelFactory,
    *,
    requester: str,
    now: datetime | None = None,
    notify: Notify = webhook.post_json,
    default_region: str | None = None,
) -> list[RunReport]:
    """Run every watchlist whose period has passed since its last run."""
    moment = now or datetime.now(UTC)
    return [
        run_watchlist(
            conn,
            w,
            channels,
            requester=requester,
            now=moment,
            notify=notify,
            default_region=default_region,
        )
        for w in watch_store.all_watchlists(conn)
        if is_due(w, moment)
    ]
