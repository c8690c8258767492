"""Per-peer element budgets.

PSI does not stop enumeration; budgets do. One submitted element is one
membership test, so the responder counts elements, charges them before any
curve work, and refuses a request that would exceed the peer's allowance for
the period. Usage is stored in the node database so it survives restarts.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from node import store
from node.errors import SpoorError
from node.store import budgets as repo
from node.store.backend import Connection
from node.store.timecodec import day_of


class BudgetExceeded(SpoorError):
    """A peer asked for more elements than its budget allows."""

    FIELDS = ("agency_id", "period", "limit", "used", "requested")

    def __init__(self, agency_id: str, period: str, limit: int, used: int, requested: int) -> None:
        self.agency_id = agency_id
        self.period = period
        self.limit = limit
        self.used = used
        self.requested = requested
        super().__init__(
            f"element budget for {agency_id} in {period} exhausted: "
            f"{used} used + {requested} requested > {limit}"
        )


@dataclass(frozen=True)
class Charge:
    """The result of a successful charge."""

    period: str
    charged: int
    remaining: int


def current_period(now: datetime | None = None) -> str:
    """Budgets run per UTC day."""
    return day_of(now or datetime.now(UTC))


def used(conn: Connection, agency_id: str, period: str) -> int:
    return repo.used(conn, agency_id, period)


def charge(
    conn: Connection,
    agency_id: str,
    elements: int,
    limit: int,
    now: datetime | None = None,
) -> Charge:
    """Charge ``elements`` to the peer's budget in its own committed transaction.

    The charge is committed before any PSI work starts, so a call that fails
    or is cancelled later still counts: a requester cannot probe for free.
    """
    period = current_period(now)
    with store.transaction(conn):
        already = used(conn, agency_id, period)
        if already + elements > limit:
            raise BudgetExceeded(agency_id, period, limit, already, elements)
        repo.add_usage(conn, agency_id, period, elements)
    return Charge(period=period, charged=elements, remaining=limit - already - elements)
