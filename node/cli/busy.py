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

from node.store import BUSY_TIMEOUT_MS

#: sysexits' EX_TEMPFAIL: a temporary failure, retrying later may succeed.
EXIT_BUSY = 75


class DatabaseBusy(click.ClickException):
    """The database stayed locked by another writer longer than the store waits."""

    exit_code = EXIT_BUSY

    def __init__(self) -> None:
        super().__init__(
            f"The node database is busy: another process kept it locked for more than "
            f"{BUSY_TIMEOUT_MS // 1000} s (a large import, or another command writing).\n"
            "  Nothing was changed by this command. Run it again when the other one has "
            "finished; 'spoor serve' keeps serving meanwhile."
        )


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


class BusyAwareGroup(click.Group):
    """A command group turning a busy database, however wrapped, into :class:`DatabaseBusy`."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except DatabaseBusy:
            raise
        except Exception as exc:
            if is_busy(exc):
                raise DatabaseBusy from exc
            raise
