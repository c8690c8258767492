"""The officer's own account: who the console knows them as, and a new authenticator app.

Replacing the TOTP factor takes two steps. First the officer proves both
current factors again (password and a code, counted like a sign-in); the page
then shows a new secret as a QR code, with the otpauth URI and the secret as
text. The new secret travels back in the confirming form with an HMAC keyed by
the session's token and a ten-minute expiry, so nobody can substitute another
one, and it replaces the old secret only once the new app shows a valid code.
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import UTC, datetime, timedelta

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from node.officers import credentials
from node.officers.qr import qr_data_uri
from node.web.context import console_of, form_of, officer_of, render
from node.web.sessions import Session

PENDING_FOR = timedelta(minutes=10)


def _seal(session: Session, officer_id: str, secret: str, expires: str) -> str:
    message = f"spoor new totp|{officer_id}|{secret}|{expires}".encode()
    return hmac.new(session.session_id.encode(), message, hashlib.sha256).hexdigest()


async def account_page(request: Request) -> Response:
    session, officer = officer_of(request)
    return render(request, "account.html", session=session, officer=officer)


async def start_totp(request: Request) -> Response:
    """Both current factors again, then the new secret as a QR code to scan."""
    session, officer = officer_of(request)
    form = await form_of(request, session)
    with console_of(request).db() as conn:
        try:
            credentials.authenticate(
                conn, officer.name, form.get("password", ""), form.get("code", "")
            )
        except (credentials.AuthenticationFailed, credentials.AccountLocked) as exc:
            locked = isinstance(exc, credentials.AccountLocked)
            return render(
                request,
                "account.html",
                session=session,
                officer=officer,
                error="locked" if locked else "refused",
                status_code=403 if locked else 401,
            )
    secret = credentials.new_totp_secret()
    return _pending_page(request, session, officer, secret)


def _pending_page(
    request: Request,
    session: Session,
    officer: credentials.AuthenticatedOfficer,
    secret: str,
    *,
    error: str | None = None,
    status_code: int = 200,
) -> Response:
    expires = (datetime.now(UTC) + PENDING_FOR).isoformat(timespec="seconds")
    uri = credentials.provisioning_uri(officer.name, secret)
    return render(
        request,
        "account_totp.html",
        session=session,
        officer=officer,
        secret=secret,
        uri=uri,
        qr=qr_data_uri(uri),
        expires=expires,
        seal=_seal(session, officer.officer_id, secret, expires),
        error=error,
        status_code=status_code,
    )


async def confirm_totp(request: Request) -> Response:
    """A valid code from the new app switches the officer to the new secret."""
    session, officer = officer_of(request)
    form = await form_of(request, session)
    secret, expires = form.get("secret", ""), form.get("expires", "")
    sealed = hmac.compare_digest(
        _seal(session, officer.officer_id, secret, expires), form.get("seal", "")
    )
    try:
        fresh = sealed and datetime.fromisoformat(expires) > datetime.now(UTC)
    except ValueError:
        fresh = False
    if not fresh:
        return render(
            request, "account.html", session=session, officer=officer, error="expired",
            status_code=409,
        )  # fmt: skip
    with console_of(request).db() as conn:
        try:
            credentials.replace_totp(conn, officer, secret, form.get("new_code", ""))
        except credentials.CredentialError:
            return _pending_page(
                request, session, officer, secret, error="wrong-code", status_code=422
            )
    return render(request, "account.html", session=session, officer=officer, done=True)


def routes() -> list[Route]:
    return [
        Route("/account", account_page),
        Route("/account/totp", start_totp, methods=["POST"]),
        Route("/account/totp/confirm", confirm_totp, methods=["POST"]),
    ]
