"""Oversight: the audit trail verified, cooperation figures and charts, a record's disclosures."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from node import audit
from node.audit.checkpoint import node_public_key
from node.disclosure.history import disclosures_of_record
from node.web import charts
from node.web.context import console_of, officer_of, render


async def overview(request: Request) -> Response:
    session, officer = officer_of(request)
    console = console_of(request)
    counterpart = request.query_params.get("counterpart") or None
    series = request.query_params.get("series", "requests_received")
    if series not in dict(charts.SERIES):
        series = "requests_received"
    with console.db() as conn:
        report = audit.verify(conn, node_public_key=node_public_key(console.home))
        stats = audit.compute_stats(conn, counterpart=counterpart)
        days = charts.buckets(conn, counterpart=counterpart)
    bars, top = charts.bars(days, series)
    return render(
        request,
        "oversight.html",
        session=session,
        officer=officer,
        report=report,
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
