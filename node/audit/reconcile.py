"""Reconciling two agencies' audit exports one to one.

Both nodes of a match record the same transcript hash, and both nodes of any
exchange the same request id, so an oversight body holding both agencies'
exports can pair every request with its answer: a ``match.requested`` on one
side with the ``match.served`` (or ``match.refused``) on the other, a
``disclosure.requested`` with its ``disclosure.received``. Entries are paired
by transcript hash where they carry one, else by request id. Anything left
unpaired, or paired but disagreeing (element counts, who the counterpart
was), is a finding. Fetches are not paired: a release may be fetched again.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from node.audit.export_verify import EXPORT_TYPE, verify_export
from node.audit.verify import Problem

# event on the asking side -> events that may answer it on the other side
COUNTERPARTS: dict[str, frozenset[str]] = {
    "match.requested": frozenset({"match.served", "match.refused"}),
    "match.served": frozenset({"match.requested"}),
    "match.refused": frozenset({"match.requested"}),
    "disclosure.requested": frozenset({"disclosure.received"}),
    "disclosure.received": frozenset({"disclosure.requested"}),
}


@dataclass(frozen=True)
class Side:
    """One entry that takes part in reconciliation."""

    seq: int
    event: str
    link: str  # "transcript:<hash>" or "request:<id>"
    counterpart: str | None
    elements: int | None


@dataclass
class ReconcileReport:
    """Pairs found, entries with no partner, and pairs that disagree."""

    ours: str | None
    theirs: str | None
    paired: list[tuple[Side, Side]] = field(default_factory=list)
    only_ours: list[Side] = field(default_factory=list)
    only_theirs: list[Side] = field(default_factory=list)
    disagreements: list[str] = field(default_factory=list)
    export_problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not (
            self.only_ours or self.only_theirs or self.disagreements or self.export_problems
        )


def _sides(items: Iterable[dict[str, Any]]) -> list[Side]:
    out: list[Side] = []
    for item in items:
        if item.get("type") != "entry":
            continue
        body = item["body"]
        fields = body.get("fields", {})
        digest, request_id = fields.get("transcript_hash"), fields.get("request_id")
        link = f"transcript:{digest}" if digest else f"request:{request_id}" if request_id else ""
        if body.get("event") in COUNTERPARTS and link:
            out.append(
                Side(
                    int(item["seq"]),
                    str(body["event"]),
                    link,
                    fields.get("counterpart"),
                    fields.get("elements"),
                )
            )
    return out


def _parse(lines: list[str], label: str, report: ReconcileReport) -> tuple[str | None, list[Side]]:
    problems: list[Problem] = verify_export(lines)
    report.export_problems.extend(f"{label}: {p}" for p in problems)
    try:
        items = [json.loads(line) for line in lines if line.strip()]
    except json.JSONDecodeError:
        return None, []
    if not items or items[0].get("type") != EXPORT_TYPE:
        return None, []
    return items[0].get("agency_id"), _sides(items)


def reconcile(our_lines: list[str], their_lines: list[str]) -> ReconcileReport:
    """Pair the entries of two exports (each verified first) by transcript hash or request id."""
    report = ReconcileReport(None, None)
    report.ours, ours = _parse(our_lines, "our export", report)
    report.theirs, theirs = _parse(their_lines, "their export", report)
    waiting: dict[str, list[Side]] = {}
    for side in theirs:
        waiting.setdefault(side.link, []).append(side)
    for mine in ours:
        candidates = waiting.get(mine.link, [])
        partner = next((c for c in candidates if c.event in COUNTERPARTS[mine.event]), None)
        if partner is None:
            report.only_ours.append(mine)
            continue
        candidates.remove(partner)
        report.paired.append((mine, partner))
        _compare(mine, partner, report)
    report.only_theirs = [s for group in waiting.values() for s in group]
    report.only_theirs.sort(key=lambda s: s.seq)
    return report


def _compare(mine: Side, partner: Side, report: ReconcileReport) -> None:
    where = f"our entry {mine.seq} ({mine.event}) / their entry {partner.seq} ({partner.event})"
    both_counted = mine.elements is not None and partner.elements is not None
    if both_counted and mine.elements != partner.elements:
        report.disagreements.append(
            f"{where}: {mine.elements} elements on our side, {partner.elements} on theirs"
        )
    if report.theirs and mine.counterpart and mine.counterpart != report.theirs:
        report.disagreements.append(
            f"{where}: our entry names {mine.counterpart!r}, their export is {report.theirs!r}"
        )
    if report.ours and partner.counterpart and partner.counterpart != report.ours:
        report.disagreements.append(
            f"{where}: their entry names {partner.counterpart!r}, our export is {report.ours!r}"
        )
