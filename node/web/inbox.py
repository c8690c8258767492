"""The approvals inbox: tickets by deadline, one ticket's request and policy explanation, decide."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from node import officers
from node.disclosure import tickets
from node.errors import DisclosureNotFound, InvalidRequest, TicketStateConflict
from node.web.context import console_of, form_of, officer_of, render


async def list_page(request: Request) -> Response:
    session, officer = officer_of(request)
    show_all = request.query_params.get("all") == "1"
    with console_of(request).db() as conn:
        found = tickets.list_tickets(conn, include_decided=show_all)
    return render(
        request,
        "tickets.html",
        session=session,
        officer=officer,
        tickets=found,
        show_all=show_all,
        overdue=sum(1 for t in found if t.overdue),
    )


def _detail(request: Request, ticket_id: str) -> tickets.TicketDetail:
    with console_of(request).db() as conn:
        return tickets.ticket_detail(conn, ticket_id)


async def ticket_page(request: Request) -> Response:
    session, officer = officer_of(request)
    return _ticket_response(request, session, officer, str(request.path_params["ticket_id"]))


def _ticket_response(
    request: Request,
    session: Any,
    officer: Any,
    ticket_id: str,
    *,
    error: str | None = None,
    message: str | None = None,
    status_code: int = 200,
) -> Response:
    try:
        detail = _detail(request, ticket_id)
    except DisclosureNotFound:
        return render(
            request,
            "not_found.html",
            session=session,
            officer=officer,
            what=ticket_id,
            status_code=404,
        )
    return render(
        request,
        "ticket.html",
        session=session,
        officer=officer,
        detail=detail,
        t=detail.ticket,
        error=error,
        message=message,
        status_code=status_code,
    )


async def decide(request: Request) -> Response:
    session, officer = officer_of(request)
    form = await form_of(request, session)
    ticket_id = str(request.path_params["ticket_id"])
    action = str(request.path_params["action"])
    text = form.get("reason", "")
    try:
        with console_of(request).db() as conn:
            if action == "approve":
                ticket = tickets.approve(conn, ticket_id, officer, note=text or None)
            elif action == "refuse":
                ticket = tickets.deny(conn, ticket_id, officer, reason=text)
            else:
                return Response(status_code=404)
    except (
        DisclosureNotFound,
        InvalidRequest,
        TicketStateConflict,
        officers.OfficerNotAuthorized,
    ) as exc:
        return _ticket_response(
            request, session, officer, ticket_id, error=str(exc), status_code=409
        )
    if ticket.status == "approved":
        message = "approved"
    elif ticket.status == "denied":
        message = "refused"
    else:
        message = "recorded"
    return RedirectResponse(f"/tickets/{ticket.ticket_id}?done={message}", status_code=303)


def routes() -> list[Route]:
    return [
        Route("/tickets", list_page),
        Route("/tickets/{ticket_id}", ticket_page),
        Route("/tickets/{ticket_id}/{action}", decide, methods=["POST"]),
    ]
