"""Oversight: the trail verified with its witnesses, cooperation charts, a record's disclosures."""

from __future__ import annotations

from dataclasses import dataclass

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from node import audit
from node.audit import witness
from node.audit.checkpoint import node_public_key
from node.audit.verify import WitnessedHead
from node.disclosure.history import disclosures_of_record
from node.store import Connection
from node.store import audit as audit_store
from node.web import charts
from node.web.context import console_of, officer_of, render


@dataclass(frozen=True)
class WitnessState:
    """Who vouches for our trail (newest countersignature each), whom we vouch for, alarms."""

    ours: list[witness.Cosignature]
    theirs: list[tuple[str, int, int, str, str]]
    alarms: list[tuple[object, ...]]
    heads: list[WitnessedHead]


def witness_state(conn: Connection, agency_id: str) -> WitnessState:
    stored = witness.stored_cosignatures(conn, agency_id)
    newest: dict[str, witness.Cosignature] = {}
    for cosig in stored:
        if cosig.witness not in newest or cosig.entry_count >= newest[cosig.witness].entry_count:
            newest[cosig.witness] = cosig
    heads = [
        WitnessedHead(c.witness, c.entry_count, c.head_hash, "countersignature", c.valid())
        for c in stored
    ]
    return WitnessState(
        ours=[newest[w] for w in sorted(newest)],
        theirs=audit_store.witnessed_summary(conn),
        alarms=audit_store.alarms(conn),
        heads=heads,
    )


async def overview(request: Request) -> Response:
    session, officer = officer_of(request)
    console = console_of(request)
    counterpart = request.query_params.get("counterpart") or None
    series = request.query_params.get("series", "requests_received")
    if series not in dict(charts.SERIES):
        series = "requests_received"
    with console.db() as conn:
        witnesses = witness_state(conn, console.config.agency_id)
        report = audit.verify(
            conn, node_public_key=node_public_key(console.home), witnessed=witnesses.heads
        )
        stats = audit.compute_stats(conn, counterpart=counterpart)
        days = charts.buckets(conn, counterpart=counterpart)
    bars, top = charts.bars(days, series)
    return render(
        request,
        "oversight.html",
        session=session,
        officer=officer,
        report=report,
        witnesses=witnesses,
        stats=stats,
        bars=bars,
        top=top,
        series=series,
        series_names=charts.SERIES,
        counterpart=counterpart or "",
        width=charts.WIDTH,
        height=charts.HEIGHT,
        pad=charts.PAD,
    )


async def record_page(request: Request) -> Response:
    session, officer = officer_of(request)
    record_id = str(request.path_params["record_id"])
    with console_of(request).db() as conn:
        found = disclosures_of_record(conn, record_id)
    return render(
        request,
        "record_disclosures.html",
        session=session,
        officer=officer,
        record_id=record_id,
        disclosures=found,
    )


async def record_lookup(request: Request) -> Response:
    officer_of(request)
    record_id = request.query_params.get("record_id", "").strip()
    from urllib.parse import quote

    return RedirectResponse(f"/oversight/records/{quote(record_id, safe='')}", status_code=303)


def routes() -> list[Route]:
    return [
        Route("/oversight", overview),
        Route("/oversight/records", record_lookup),
        Route("/oversight/records/{record_id}", record_page),
    ]
