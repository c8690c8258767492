"""The console application: security headers, sign-in and sign-out, and the page routes."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.base import BaseHTTPMiddleware, RequestResponseEndpoint
from starlette.requests import Request
from starlette.responses import PlainTextResponse, RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from node import audit, store
from node.app.config import NodeConfig
from node.app.home import NodeHome
from node.officers import credentials
from node.web import account, i18n, inbox, oversight, policy_pages, watch_pages
from node.web.context import (
    HERE,
    Console,
    CsrfRefused,
    NotSignedIn,
    console_of,
    form_of,
    make_templates,
    officer_of,
    render,
    session_of,
    set_session_cookie,
    to_login,
)
from node.web.i18n import N_
from node.web.sessions import Session

# No inline script or style anywhere, no framing, forms post only here.
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)


class SecurityHeaders(BaseHTTPMiddleware):
    """Strict CSP and friends on every answer; pages are never cached."""

    async def dispatch(self, request: Request, call_next: RequestResponseEndpoint) -> Response:
        response = await call_next(request)
        response.headers["Content-Security-Policy"] = CSP
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["X-Frame-Options"] = "DENY"
        response.headers["Referrer-Policy"] = "no-referrer"
        if not request.url.path.startswith("/static/"):
            response.headers["Cache-Control"] = "no-store"
        return response


def _anonymous(request: Request) -> Session:
    session = session_of(request)
    return session if session is not None else console_of(request).sessions.new()


async def login_page(request: Request) -> Response:
    session = _anonymous(request)
    if session.officer_id is not None:
        return RedirectResponse("/", status_code=303)
    response = render(request, "login.html", session=session)
    set_session_cookie(console_of(request), response, session)
    return response


async def login_submit(request: Request) -> Response:
    console = console_of(request)
    session = session_of(request)
    if session is None:  # no session cookie: the form did not come from this console
        return to_login()
    form = await form_of(request, session)
    name = form.get("name", "").strip()
    with console.db() as conn:
        try:
            officer = credentials.authenticate(
                conn, name, form.get("password", ""), form.get("code", "")
            )
        except (credentials.AuthenticationFailed, credentials.AccountLocked) as exc:
            locked = isinstance(exc, credentials.AccountLocked)
            return render(
                request,
                "login.html",
                session=session,
                error="locked" if locked else "refused",
                until=getattr(exc, "until", ""),
                name=name,
                status_code=403 if locked else 401,
            )
        with store.transaction(conn):
            audit.append(
                conn,
                "officer.signed_in",
                officer=officer.name,
                status="OK",
                details={"officer_id": officer.officer_id, "factors": ["password", "totp"]},
            )
    fresh = console.sessions.sign_in(session, officer.officer_id, officer.name)
    response = RedirectResponse("/", status_code=303)
    set_session_cookie(console, response, fresh)
    return response


async def logout(request: Request) -> Response:
    session = session_of(request)
    if session is not None:
        await form_of(request, session)
        console_of(request).sessions.end(session.session_id)
    response = to_login()
    response.delete_cookie("spoor_console", path="/")
    return response


async def set_language(request: Request) -> Response:
    session = _anonymous(request)
    form = await form_of(request, session)
    if form.get("language") in i18n.LANGUAGES:
        console_of(request).sessions.set_language(session, form["language"])
    target = form.get("next", "/")
    response = RedirectResponse(target if target.startswith("/") else "/", status_code=303)
    set_session_cookie(console_of(request), response, session)
    return response


async def home_page(request: Request) -> Response:
    officer_of(request)
    return RedirectResponse("/tickets", status_code=303)


async def _not_signed_in(request: Request, exc: Exception) -> Response:
    if request.headers.get("hx-request"):
        return Response(status_code=401, headers={"HX-Redirect": "/login"})
    return to_login()


CSRF_REFUSED = N_(
    "This form was refused: it did not carry this session's security token. Nothing was "
    "changed. Reload the page and try again."
)


async def _csrf_refused(request: Request, exc: Exception) -> Response:
    language = i18n.language_of(session_of(request), request.headers.get("accept-language"))
    return PlainTextResponse(i18n.translations(language).gettext(CSRF_REFUSED), status_code=403)


def create_app(
    home: NodeHome,
    config: NodeConfig,
    *,
    secure_cookies: bool = False,
    session_minutes: int | None = None,
) -> Starlette:
    """The console for ``home`` (sessions in its store, one store connection per request)."""
    from node.web.sessions import SessionStore

    store.ensure_current(home.db_path)
    minutes = session_minutes or config.console.session_minutes
    console = Console(
        home=home,
        config=config,
        sessions=SessionStore(home.db_path, timedelta(minutes=minutes)),
        secure_cookies=secure_cookies,
        templates=make_templates(),
    )
    routes: list[Any] = [
        Route("/", home_page),
        Route("/login", login_page, methods=["GET"]),
        Route("/login", login_submit, methods=["POST"]),
        Route("/logout", logout, methods=["POST"]),
        Route("/language", set_language, methods=["POST"]),
        *inbox.routes(),
        *policy_pages.routes(),
        *oversight.routes(),
        *watch_pages.routes(),
        *account.routes(),
        Mount("/static", app=StaticFiles(directory=HERE / "static"), name="static"),
    ]
    app = Starlette(
        routes=routes,
        middleware=[Middleware(SecurityHeaders)],
        exception_handlers={NotSignedIn: _not_signed_in, CsrfRefused: _csrf_refused},
    )
    app.state.console = console
    return app
