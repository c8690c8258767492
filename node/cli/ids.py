"""Ids as people type them: a full id, or a prefix that names exactly one.

Tables show ids in full with ``--wide`` (and ``--json``), but people copy the
first few characters. A prefix that fits one id is that id; one that fits none
or several is an error that says which ids it could mean, never an empty
answer that looks like "nothing there".
"""

from __future__ import annotations

import click
from rich.console import Console

from node.store import Connection
from node.store import ids as store_ids

#: How to list each kind of id, for the error message.
LISTINGS: dict[str, str] = {
    "record": "spoor records list --wide",
    "match": "spoor disclose hits --wide",
    "disclosure": "spoor disclose status --wide",
    "ticket": "spoor approvals list --all --wide",
    "watchlist": "spoor watch list --wide",
}
_CALLED = {"disclosure": "disclosure request"}
_SHOWN = 10


def resolve_id(conn: Connection, kind: str, given: str) -> str:
    """The one stored id of ``kind`` that is ``given`` or starts with it.

    Otherwise a :class:`click.ClickException` (exit code 1) saying which ids it could mean.
    """
    what = _CALLED.get(kind, kind)
    text = given.strip()
    found = store_ids.exact_or_prefixed(conn, kind, text, _SHOWN + 1)
    if len(found) == 1:
        return found[0]
    if not found:
        raise click.ClickException(
            f"no {what} {given!r} on this node (not an id, nor the start of one); "
            f"see '{LISTINGS[kind]}'. Nothing was changed."
        )
    more = " …" if len(found) > _SHOWN else ""
    raise click.ClickException(
        f"{given!r} is the start of several {what} ids: {', '.join(found[:_SHOWN])}{more}; "
        "give more of the id. Nothing was changed."
    )


def table_console(wide: bool, width: int | None = None) -> Console:
    """A console for a table: ``wide`` never cuts a cell, whatever the terminal's width."""
    if wide:
        return Console(width=100_000, soft_wrap=True)
    return Console(width=width) if width else Console()


wide_option = click.option(
    "--wide", is_flag=True, help="Never cut or wrap cells: full ids, however wide the table."
)
