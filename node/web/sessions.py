"""Server-side console sessions: random ids, expiry, a CSRF token each, rotation on sign-in.

The browser holds only an opaque id (256 bits from :mod:`secrets`) in an
HttpOnly, SameSite=Strict cookie. Everything else stays here, in memory: a
restart signs everyone out, which is the safe failure. A sign-in always starts
a *new* session and discards the anonymous one, so an id planted in a browser
before sign-in (session fixation) is worth nothing after it.
"""

from __future__ import annotations

import hmac
import secrets
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

COOKIE = "spoor_console"


@dataclass
class Session:
    """One browser's session; ``officer_id`` is set once the officer signed in."""

    session_id: str
    csrf_token: str
    expires_at: datetime
    officer_id: str | None = None
    officer_name: str | None = None
    language: str | None = None  # chosen in the console; else the browser's preference
    created_at: datetime = field(default_factory=lambda: datetime.now(UTC))

    def csrf_ok(self, token: str | None) -> bool:
        return bool(token) and hmac.compare_digest(self.csrf_token, token or "")


class SessionStore:
    """Sessions by id, with an idle timeout that each request renews."""

    def __init__(self, idle: timedelta, absolute: timedelta = timedelta(hours=12)) -> None:
        self.idle = idle
        self.absolute = absolute
        self._sessions: dict[str, Session] = {}
        self._lock = threading.Lock()

    def _now(self) -> datetime:
        return datetime.now(UTC)

    def new(self, *, language: str | None = None) -> Session:
        session = Session(
            session_id=secrets.token_urlsafe(32),
            csrf_token=secrets.token_urlsafe(32),
            expires_at=self._now() + self.idle,
            language=language,
        )
        with self._lock:
            self._sessions[session.session_id] = session
        return session

    def get(self, session_id: str | None) -> Session | None:
        """The live session for ``session_id`` (its expiry renewed), or None."""
        if not session_id:
            return None
        now = self._now()
        with self._lock:
            session = self._sessions.get(session_id)
            if session is None:
                return None
            if session.expires_at <= now or session.created_at + self.absolute <= now:
                del self._sessions[session_id]
                return None
            session.expires_at = now + self.idle
            return session

    def sign_in(self, old: Session | None, officer_id: str, name: str) -> Session:
        """A fresh session for the officer; the pre-sign-in one is discarded."""
        language = old.language if old else None
        if old is not None:
            self.end(old.session_id)
        session = self.new(language=language)
        session.officer_id = officer_id
        session.officer_name = name
        return session

    def end(self, session_id: str) -> None:
        with self._lock:
            self._sessions.pop(session_id, None)

    def end_all_for(self, officer_id: str) -> None:
        with self._lock:
            for sid in [s for s, v in self._sessions.items() if v.officer_id == officer_id]:
                del self._sessions[sid]
