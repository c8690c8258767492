"""How the CLI asks an officer for their password and TOTP code (never from argv).

Interactive: a hidden password prompt, then the six-digit code. For automation:
``SPOOR_OFFICER_PASSWORD`` and ``SPOOR_OFFICER_TOTP`` in the environment, or
``--credentials-stdin`` with the password on the first line of standard input
and the code on the second. Command-line arguments are visible to every user of
the machine (``ps``), so secrets are never accepted there.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from typing import Any, TypeVar

import click

from node.officers import credentials
from node.store import Connection

PASSWORD_ENV = "SPOOR_OFFICER_PASSWORD"  # noqa: S105 the variable name, not a secret
TOTP_ENV = "SPOOR_OFFICER_TOTP"

F = TypeVar("F", bound=Callable[..., Any])


def credentials_options(func: F) -> F:
    """``--officer NAME`` and ``--credentials-stdin`` for commands an officer decides."""
    func = click.option(
        "--credentials-stdin",
        is_flag=True,
        help="Read the password (line 1) and the TOTP code (line 2) from standard input.",
    )(func)
    func = click.option(
        "--officer",
        required=True,
        help="Your name on the roster; you sign in with your password and TOTP code.",
    )(func)
    return func


def read_secrets(from_stdin: bool) -> tuple[str, str]:
    """The password and code, from stdin, the environment, or prompts (in that order)."""
    if from_stdin:
        lines = sys.stdin.read().splitlines()
        if len(lines) < 2:
            raise click.UsageError(
                "--credentials-stdin expects the password on line 1 and the TOTP code on line 2"
            )
        return lines[0], lines[1].strip()
    password = os.environ.get(PASSWORD_ENV)
    if password is None:
        password = click.prompt("Password", hide_input=True, err=True)
    code = os.environ.get(TOTP_ENV)
    if code is None:
        code = click.prompt("TOTP code", err=True)
    return password, code.strip()


def sign_in(conn: Connection, name: str, from_stdin: bool) -> credentials.AuthenticatedOfficer:
    """Authenticate ``name`` or exit 1 with the reason (the attempt is audited either way)."""
    password, code = read_secrets(from_stdin)
    try:
        return credentials.authenticate(conn, name, password, code)
    except (credentials.AuthenticationFailed, credentials.AccountLocked) as exc:
        raise click.ClickException(str(exc)) from exc


def new_password(from_stdin: bool) -> str:
    """A new password for enrolment: stdin line 1, the environment, or a confirmed prompt."""
    if from_stdin:
        line = sys.stdin.readline().rstrip("\n")
        if not line:
            raise click.UsageError("--password-stdin expects the new password on line 1")
        return line
    env = os.environ.get(PASSWORD_ENV)
    if env is not None:
        return env
    value: str = click.prompt(
        "New password for the officer", hide_input=True, confirmation_prompt=True, err=True
    )
    return value
