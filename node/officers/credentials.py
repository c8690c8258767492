"""Officers who are who they say: a password (argon2id) and a TOTP second factor.

An officer on the roster enrols once (``spoor officers add``): a password
hashed with argon2id and a TOTP secret shown to them once as a provisioning
URI. Every decision (approve, refuse, reopen, activate a policy) starts from an
:class:`AuthenticatedOfficer`, which only :func:`authenticate` (password and a
fresh code) or :func:`resume` (a console session opened by it) hand out. A
code is accepted once; five failures in a row lock the account for fifteen
minutes; every refusal and every enrolment is in the audit trail, naming the
officer's id.
"""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pyotp
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from node import audit, store
from node.errors import SpoorError
from node.store import console_sessions
from node.store import officer_credentials as repo
from node.store.backend import Connection

MIN_PASSWORD = 12
MAX_PASSWORD = 1024
MAX_FAILURES = 5
LOCKOUT = timedelta(minutes=15)
TOTP_PERIOD = 30
ISSUER = "Spoor"

_HASHER = PasswordHasher()


class AuthenticationFailed(SpoorError):
    """The name, password or code was not accepted (deliberately not saying which)."""

    FIELDS = ("name", "hint")

    def __init__(self, name: str, hint: str) -> None:
        self.name = name
        self.hint = hint
        super().__init__(
            f"{name!r} could not be signed in: the name, password or code was not accepted; "
            f"nothing was changed. {hint}"
        )


class AccountLocked(SpoorError):
    """Too many failed attempts: the officer may not sign in until the lock expires."""

    FIELDS = ("name", "until")

    def __init__(self, name: str, until: str) -> None:
        self.name = name
        self.until = until
        super().__init__(
            f"{name!r} is locked after {MAX_FAILURES} failed sign-ins until {until}; nothing was "
            "changed. Wait, or ask an administrator to reset the credentials "
            "('spoor officers reset NAME')."
        )


class CredentialError(SpoorError):
    """An enrolment or reset was refused (weak password, officer not on the roster)."""

    FIELDS = ("reason",)

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(f"{reason}; nothing was changed")


class SignInRequired(SpoorError):
    """The action needs a signed-in officer, and there is none (or the session ended)."""


class FormTokenRefused(SpoorError):
    """A console form arrived without its session's anti-forgery token; nothing was changed."""


@dataclass(frozen=True)
class AuthenticatedOfficer:
    """An officer proven by password and TOTP (or by a session that was)."""

    name: str
    officer_id: str
    roles: tuple[str, ...]


@dataclass(frozen=True)
class Enrolment:
    """What an officer is shown once at enrolment: their id and TOTP secret."""

    name: str
    officer_id: str
    totp_secret: str

    @property
    def provisioning_uri(self) -> str:
        return pyotp.TOTP(self.totp_secret).provisioning_uri(name=self.name, issuer_name=ISSUER)


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="seconds")


def _check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise CredentialError(f"a password needs at least {MIN_PASSWORD} characters")
    if len(password) > MAX_PASSWORD:
        raise CredentialError(f"a password is at most {MAX_PASSWORD} characters")


def _roster_roles(conn: Connection, name: str) -> tuple[str, ...] | None:
    from node import officers

    try:
        officer = officers.get(conn, name)
    except officers.RosterError:
        return None
    return officer.roles if officer.active else None


def enrol(
    conn: Connection, name: str, password: str, actor: str, *, now: datetime | None = None
) -> Enrolment:
    """Give a roster officer a password and a new TOTP secret (caller holds the transaction).

    Re-enrolling (a reset) keeps the officer's id, replaces both factors and
    clears any lockout, and ends the officer's console sessions.
    """
    moment = now or datetime.now(UTC)
    _check_password(password)
    if _roster_roles(conn, name) is None:
        raise CredentialError(f"{name!r} is not an active officer on this node's roster")
    existing = repo.get(conn, name)
    officer_id = existing["officer_id"] if existing else f"off-{secrets.token_hex(6)}"
    secret = pyotp.random_base32()
    repo.put(conn, name, officer_id, _HASHER.hash(password), secret, _iso(moment))
    # A reset signs the officer out of every console session opened with the old factors.
    ended = console_sessions.delete_for_officer(conn, officer_id) if existing else 0
    audit.append(
        conn,
        "officer.enrolled",
        actor=actor,
        officer=name,
        status="RESET" if existing else "ENROLLED",
        details={
            "officer_id": officer_id,
            "factors": ["password", "totp"],
            "sessions_ended": ended,
        },
    )
    return Enrolment(name, str(officer_id), secret)


def _code_step(secret: str, code: str, moment: datetime, last_step: int) -> int | None:
    """The time step ``code`` belongs to (one step of clock drift either way), if unused."""
    code = code.strip().replace(" ", "")
    if not (code.isdigit() and len(code) == 6):
        return None
    totp = pyotp.TOTP(secret)
    now_step = int(moment.timestamp()) // TOTP_PERIOD
    for step in (now_step - 1, now_step, now_step + 1):
        if step > last_step and hmac.compare_digest(totp.at(step * TOTP_PERIOD), code):
            return step
    return None


def _refuse(conn: Connection, name: str, why: str, details: dict[str, object]) -> None:
    audit.append(
        conn,
        "officer.signin_refused",
        officer=name,
        status="REFUSED",
        details={"reason_code": why, **details},
    )


def authenticate(
    conn: Connection,
    name: str,
    password: str,
    code: str,
    *,
    now: datetime | None = None,
) -> AuthenticatedOfficer:
    """Check both factors; on failure count it, maybe lock, audit, and raise.

    Opens its own transaction: a failed attempt is recorded even though the
    caller's action is refused.
    """
    moment = now or datetime.now(UTC)
    name = name.strip()
    refusal: SpoorError | None = None
    result: AuthenticatedOfficer | None = None
    with store.transaction(conn):
        cred = repo.get(conn, name)
        roles = _roster_roles(conn, name)
        if cred is None or roles is None:
            _refuse(conn, name, "UNKNOWN_OR_INACTIVE", {})
            refusal = AuthenticationFailed(name, "Check the name on 'spoor officers list'.")
        elif cred["locked_until"] and cred["locked_until"] > _iso(moment):
            _refuse(conn, name, "LOCKED", {"officer_id": cred["officer_id"]})
            refusal = AccountLocked(name, str(cred["locked_until"]))
        else:
            step = _code_step(cred["totp_secret"], code, moment, int(cred["last_totp_step"]))
            password_ok = _verify(cred["password_hash"], password)
            if step is None or not password_ok:
                attempts = int(cred["failed_attempts"]) + 1
                locked = _iso(moment + LOCKOUT) if attempts >= MAX_FAILURES else None
                repo.record_failure(conn, name, 0 if locked else attempts, locked)
                _refuse(
                    conn,
                    name,
                    "LOCKED_OUT" if locked else "BAD_CREDENTIALS",
                    {"officer_id": cred["officer_id"], "attempts": attempts},
                )
                refusal = (
                    AccountLocked(name, locked)
                    if locked
                    else AuthenticationFailed(
                        name, f"After {MAX_FAILURES} failures in a row the account is locked."
                    )
                )
            else:
                rehash = (
                    _HASHER.hash(password)
                    if _HASHER.check_needs_rehash(cred["password_hash"])
                    else None
                )
                repo.record_success(conn, name, step, rehash)
                result = AuthenticatedOfficer(name, str(cred["officer_id"]), roles)
    if refusal is not None:
        raise refusal
    assert result is not None
    return result


def _verify(password_hash: str, password: str) -> bool:
    try:
        return _HASHER.verify(password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def resume(conn: Connection, officer_id: str) -> AuthenticatedOfficer | None:
    """The officer a console session was opened for, if still enrolled and active."""
    cred = repo.by_officer_id(conn, officer_id)
    if cred is None:
        return None
    roles = _roster_roles(conn, str(cred["name"]))
    if roles is None:
        return None
    return AuthenticatedOfficer(str(cred["name"]), officer_id, roles)


def new_totp_secret() -> str:
    """A fresh TOTP secret (160 bits, base32), not yet stored."""
    return pyotp.random_base32()


def provisioning_uri(name: str, secret: str) -> str:
    return pyotp.TOTP(secret).provisioning_uri(name=name, issuer_name=ISSUER)


def replace_totp(
    conn: Connection,
    officer: AuthenticatedOfficer,
    secret: str,
    code: str,
    *,
    now: datetime | None = None,
) -> None:
    """Switch a signed-in officer to a new authenticator once it showed a valid code.

    The caller has just re-checked the officer's password and current code
    (:func:`authenticate`). A wrong code raises :class:`CredentialError`,
    audited, and the old secret stays. Opens its own transaction.
    """
    moment = now or datetime.now(UTC)
    step = _code_step(secret, code, moment, 0)
    with store.transaction(conn):
        if step is None:
            _refuse(conn, officer.name, "NEW_TOTP_CODE_WRONG", {"officer_id": officer.officer_id})
        else:
            repo.set_totp(conn, officer.name, secret, step, _iso(moment))
            audit.append(
                conn,
                "officer.enrolled",
                actor=officer.officer_id,
                officer=officer.name,
                status="TOTP_REPLACED",
                details={"officer_id": officer.officer_id, "factors": ["totp"]},
            )
    if step is None:
        raise CredentialError(
            "the code does not belong to the new authenticator; the old one stays in use"
        )


def is_enrolled(conn: Connection, name: str) -> bool:
    return repo.get(conn, name) is not None


def officer_id_of(conn: Connection, name: str) -> str | None:
    cred = repo.get(conn, name)
    return str(cred["officer_id"]) if cred else None
