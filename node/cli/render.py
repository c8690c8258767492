"""Showing stored or counterpart-supplied text in the terminal as data, never as markup.

Rich parses ``[...]`` in plain strings as markup: an unbalanced tag in a
counterpart's reason or a requester's justification crashed ``spoor match``,
``spoor disclose`` and ``spoor approvals show``, and a balanced ``[conceal]``
hid part of a justification from the officer approving it. Everything the
CLI displays that it did not write itself goes through :func:`safe_text`
(a :class:`rich.text.Text`, which rich never parses as markup) or, inside a
markup string, :func:`safe_markup` (``rich.markup.escape``). Both escape
control characters (a terminal escape sequence could rewrite the screen) and
cut the value to a length that keeps a table readable.
"""

from __future__ import annotations

from rich.markup import escape
from rich.text import Text

from node import bounds

#: Characters of one value in a table cell or a one-line field.
MAX_CELL = 200
#: Characters of prose shown whole (a justification is at most 4,000).
MAX_PROSE = bounds.MAX_JUSTIFICATION


def _clean(value: object, limit: int, multiline: bool) -> str:
    text = "" if value is None else str(value)
    return bounds.printable(text, limit, multiline=multiline)


def safe_text(
    value: object, limit: int = MAX_CELL, *, style: str = "", multiline: bool = False
) -> Text:
    """``value`` as rich Text: shown literally, control characters escaped, at most ``limit``."""
    return Text(_clean(value, limit, multiline), style=style)


def safe_markup(value: object, limit: int = MAX_CELL, *, multiline: bool = False) -> str:
    """``value`` escaped for use inside a rich markup string."""
    return escape(_clean(value, limit, multiline))


def cells(*values: object, limit: int = MAX_CELL) -> list[Text]:
    """Table cells for ``values``, each through :func:`safe_text`."""
    return [safe_text(v, limit) for v in values]
