"""Console sessions kept in the store: random tokens, expiry, a CSRF token each, rotation.

The browser holds only an opaque token (256 bits from :mod:`secrets`) in an
HttpOnly, SameSite=Strict cookie; the store keeps its SHA-256 with the
signed-in officer's id, the chosen language and the expiry
(:mod:`node.store.console_sessions`). A restart of the node therefore signs
nobody out, and several console replicas on one database share the sessions,
while a copy of the database opens no session. The CSRF token is an HMAC of
the session token, so it is never stored either. A sign-in always starts a
*new* session and discards the anonymous one, so a token planted in a browser
before sign-in (session fixation) is worth nothing after it.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from node import store
from node.store import console_sessions as repo
from node.store.timecodec import format_ts, parse_ts

COOKIE = "spoor_console"
_CSRF_LABEL = b"spoor console form token"


def token_hash(token: str) -> str:
    """What the store keeps of a session token."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def csrf_for(token: str) -> str:
    """The form token of a session: derived from its token, so never stored."""
    return hmac.new(token.encode("utf-8"), _CSRF_LABEL, hashlib.sha256).hexdigest()


@dataclass
class Session:
    """One browser's session; ``officer_id`` is set once the officer signed in."""

    session_id: str
    expires_at: datetime
    officer_id: str | None = None
    officer_name: str | None = None
    language: str | None = None  # chosen in the console; else the browser's preference
    created_at: datetime = field(default_factory=lambda: datetime.now(UTC))

    @property
    def csrf_token(self) -> str:
        return csrf_for(self.session_id)

    def csrf_ok(self, token: str | None) -> bool:
        return bool(token) and hmac.compare_digest(self.csrf_token, token or "")


class SessionStore:
    """Sessions in the node's store, with an idle timeout each request renews."""

    def __init__(
        self, db_path: Path, idle: timedelta, absolute: timedelta = timedelta(hours=12)
    ) -> None:
        self.db_path = db_path
        self.idle = idle
        self.absolute = absolute

    def _now(self) -> datetime:
        return datetime.now(UTC)

    def new(
        self,
        *,
        language: str | None = None,
        officer_id: str | None = None,
        officer_name: str | None = None,
    ) -> Session:
        now = self._now()
        session = Session(
            session_id=secrets.token_urlsafe(32),
            expires_at=now + self.idle,
            officer_id=officer_id,
            officer_name=officer_name,
            language=language,
            created_at=now,
        )
        with store.opened(self.db_path, check_schema=False) as conn, store.transaction(conn):
            repo.prune(conn, format_ts(now), format_ts(now - self.absolute))
            repo.create(
                conn,
                token_hash(session.session_id),
                officer_id=officer_id,
                officer_name=officer_name,
                language=language,
                created_at=format_ts(now),
                expires_at=format_ts(session.expires_at),
            )
        return session

    def get(self, session_id: str | None) -> Session | None:
        """The live session for ``session_id`` (its expiry renewed), or None."""
        if not session_id or len(session_id) > 200:
            return None
        now = self._now()
        key = token_hash(session_id)
        with store.opened(self.db_path, check_schema=False) as conn, store.transaction(conn):
            row = repo.get(conn, key)
            if row is None:
                return None
            created = parse_ts(row["created_at"])
            if parse_ts(row["expires_at"]) <= now or created + self.absolute <= now:
                repo.delete(conn, key)
                return None
            expires = now + self.idle
            repo.renew(conn, key, format_ts(expires))
        return Session(
            session_id=session_id,
            expires_at=expires,
            officer_id=row["officer_id"],
            officer_name=row["officer_name"],
            language=row["language"],
            created_at=created,
        )

    def sign_in(self, old: Session | None, officer_id: str, name: str) -> Session:
        """A fresh session for the officer; the pre-sign-in one is discarded."""
        language = old.language if old else None
        if old is not None:
            self.end(old.session_id)
        return self.new(language=language, officer_id=officer_id, officer_name=name)

    def set_language(self, session: Session, language: str) -> None:
        session.language = language
        with store.opened(self.db_path, check_schema=False) as conn, store.transaction(conn):
            repo.set_language(conn, token_hash(session.session_id), language)

    def end(self, session_id: str) -> None:
        with store.opened(self.db_path, check_schema=False) as conn, store.transaction(conn):
            repo.delete(conn, token_hash(session_id))

    def end_all_for(self, officer_id: str) -> int:
        """Sign the officer out everywhere (credentials reset, officer deactivated)."""
        with store.opened(self.db_path, check_schema=False) as conn, store.transaction(conn):
            return repo.delete_for_officer(conn, officer_id)
