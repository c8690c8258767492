"""What every console page needs: the node home, sessions, templates, and the guard checks."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from node import store
from node.app.config import NodeConfig
from node.app.home import NodeHome
from node.officers import credentials
from node.store import Connection
from node.web import i18n
from node.web.sessions import COOKIE, Session, SessionStore

HERE = Path(__file__).parent


# Answered with a redirect to the sign-in page, and 403 with nothing changed.
NotSignedIn = credentials.SignInRequired
CsrfRefused = credentials.FormTokenRefused


@dataclass
class Console:
    """The console's shared state for one node home."""

    home: NodeHome
    config: NodeConfig
    sessions: SessionStore
    secure_cookies: bool
    templates: Environment

    @property
    def policy_path(self) -> Path:
        return self.home.root / self.config.policy.path

    @contextmanager
    def db(self) -> Iterator[Connection]:
        # The console upgraded the home when it started (create_app).
        with store.opened(self.home.db_path, check_schema=False) as conn:
            yield conn


def make_templates() -> Environment:
    env = Environment(
        loader=FileSystemLoader(HERE / "templates"),
        autoescape=select_autoescape(["html", "svg"], default_for_string=True),
        extensions=["jinja2.ext.i18n"],
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.install_null_translations(newstyle=True)  # type: ignore[attr-defined]
    return env


def console_of(request: Request) -> Console:
    console: Console = request.app.state.console
    return console


def session_of(request: Request) -> Session | None:
    return console_of(request).sessions.get(request.cookies.get(COOKIE))


def officer_of(request: Request) -> tuple[Session, credentials.AuthenticatedOfficer]:
    """The signed-in officer, re-read from the roster (a deactivated officer is signed out)."""
    console = console_of(request)
    session = session_of(request)
    if session is None or session.officer_id is None:
        raise NotSignedIn
    with console.db() as conn:
        officer = credentials.resume(conn, session.officer_id)
    if officer is None:
        console.sessions.end(session.session_id)
        raise NotSignedIn
    return session, officer


async def form_of(request: Request, session: Session) -> dict[str, str]:
    """The submitted form, once its CSRF token matched the session's."""
    form = await request.form()
    token = form.get("csrf") or request.headers.get("x-csrf-token")
    if not session.csrf_ok(str(token) if token is not None else None):
        raise CsrfRefused
    return {k: str(v) for k, v in form.items() if isinstance(v, str)}


def set_session_cookie(console: Console, response: Response, session: Session) -> None:
    response.set_cookie(
        COOKIE,
        session.session_id,
        httponly=True,
        samesite="strict",
        secure=console.secure_cookies,
        path="/",
    )


def render(
    request: Request,
    template: str,
    *,
    session: Session | None = None,
    officer: credentials.AuthenticatedOfficer | None = None,
    status_code: int = 200,
    **values: Any,
) -> HTMLResponse:
    console = console_of(request)
    language = i18n.language_of(session, request.headers.get("accept-language"))
    translations = i18n.translations(language)
    page = console.templates.get_template(template)
    html = page.render(
        session=session,
        officer=officer,
        csrf=session.csrf_token if session else "",
        agency=console.config.agency_id,
        request=request,
        language=language,
        languages=i18n.LANGUAGES,
        gettext=translations.gettext,
        ngettext=lambda one, many, n, **kw: translations.ngettext(one, many, n) % {"num": n, **kw},
        _=translations.gettext,
        code=lambda kind, value: i18n.code_label(translations, kind, value),
        **values,
    )
    return HTMLResponse(html, status_code=status_code)


def to_login() -> RedirectResponse:
    return RedirectResponse("/login", status_code=303)
