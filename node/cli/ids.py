"""Ids as people type them: a full id, or a prefix that names exactly one.

Tables show ids in full with ``--wide`` (and ``--json``), but people copy the
first few characters. A prefix that fits one id is that id; one that fits none
or several is an error that says which ids it could mean, never an empty
answer that looks like "nothing there".
"""

from __future__ import annotations

import sqlite3

import click
from rich.console import Console

#: What each kind of id is called and where it lives: (table, column, how to list them).
ID_KINDS: dict[str, tuple[str, str, str]] = {
    "record": ("records", "record_id", "spoor records list --wide"),
    "match": ("matches", "match_id", "spoor disclose hits --wide"),
    "disclosure": ("disclosures_sent", "disclosure_id", "spoor disclose status --wide"),
    "ticket": ("tickets", "ticket_id", "spoor approvals list --all --wide"),
    "watchlist": ("watchlists", "watch_id", "spoor watch list --wide"),
}
_CALLED = {"disclosure": "disclosure request"}
_SHOWN = 10


def _like(prefix: str) -> str:
    return prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def resolve_id(conn: sqlite3.Connection, kind: str, given: str) -> str:
    """The one stored id of ``kind`` that is ``given`` or starts with it.

    Otherwise a :class:`click.ClickException` (exit code 1) saying which ids it could mean.
    """
    table, column, listing = ID_KINDS[kind]
    what = _CALLED.get(kind, kind)
    text = given.strip()
    exact = conn.execute(
        f"SELECT {column} FROM {table} WHERE {column} = ?",  # noqa: S608 (fixed names)
        (text,),
    ).fetchone()
    if exact is not None:
        return str(exact[0])
    found = [
        str(r[0])
        for r in conn.execute(
            f"SELECT DISTINCT {column} FROM {table} WHERE {column} LIKE ? ESCAPE '\\' "  # noqa: S608
            f"ORDER BY {column} LIMIT ?",
            (_like(text), _SHOWN + 1),
        )
    ]
    if len(found) == 1 and text:
        return found[0]
    if not found or not text:
        raise click.ClickException(
            f"no {what} {given!r} on this node (not an id, nor the start of one); "
            f"see '{listing}'. Nothing was changed."
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
