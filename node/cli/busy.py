"""A busy database is its own outcome: a clear message and exit code 75 (try again later).

Another process holding the database's write lock past the wait (an import
on SQLite, a long write on PostgreSQL) is not a broken audit trail (exit 1)
nor a usage error (exit 2): nothing was changed, and the same command will
work once the other writer finishes.
"""

from __future__ import annotations

import sqlite3
from typing import Any

import click
import psycopg

from node.store import BUSY_TIMEOUT_MS, StoreUnavailable

#: sysexits' EX_TEMPFAIL: a temporary failure, retrying later may succeed.
EXIT_BUSY = 75


BUSY_MARK = "The node database is busy"


def database_busy() -> click.ClickException:
    """The database stayed locked by another writer longer than the store waits."""
    exc = click.ClickException(
        f"{BUSY_MARK}: another process kept it locked for more than "
        f"{BUSY_TIMEOUT_MS // 1000} s (a large import, or another command writing).\n"
        "  Nothing was changed by this command. Run it again when the other one has "
        "finished; 'spoor serve' keeps serving meanwhile."
    )
    exc.exit_code = EXIT_BUSY  # type: ignore[misc]  # click reads it per instance
    return exc


def is_busy(exc: BaseException | None) -> bool:
    """Whether ``exc``, or an exception it was raised from, is a lock wait that ran out."""
    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        if isinstance(exc, sqlite3.OperationalError) and (
            "locked" in str(exc) or "busy" in str(exc)
        ):
            return True
        if isinstance(exc, psycopg.errors.LockNotAvailable):
            return True
        exc = exc.__cause__ or exc.__context__
    return False


def unreachable(exc: BaseException | None) -> StoreUnavailable | None:
    """The :class:`StoreUnavailable` behind ``exc``, if the database could not be reached."""
    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        if isinstance(exc, StoreUnavailable):
            return exc
        exc = exc.__cause__ or exc.__context__
    return None


def database_unreachable(cause: StoreUnavailable) -> click.ClickException:
    """The database server was down or unreachable: also temporary, also exit 75."""
    exc = click.ClickException(str(cause))
    exc.exit_code = EXIT_BUSY  # type: ignore[misc]  # click reads it per instance
    return exc


class BusyAwareGroup(click.Group):
    """A command group turning a busy database, however wrapped, into :func:`database_busy`."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except click.ClickException as exc:
            if exc.exit_code != EXIT_BUSY and is_busy(exc):
                raise database_busy() from exc
            down = unreachable(exc)
            if exc.exit_code != EXIT_BUSY and down is not None:
                raise database_unreachable(down) from exc
            raise
        except Exception as exc:
            if is_busy(exc):
                raise database_busy() from exc
            down = unreachable(exc)
            if down is not None:
                raise database_unreachable(down) from exc
            raise
