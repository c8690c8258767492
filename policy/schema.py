"""Checking YAML nodes against the policy schema.

Small typed readers (text, flag, date, list from a vocabulary, mapping with a
closed set of keys) that record a located :class:`Problem` instead of raising,
so one run of ``spoor policy check`` reports every mistake in a file.
"""

from __future__ import annotations

import difflib
import re
import string
from collections.abc import Iterable
from datetime import date, datetime
from typing import Any

from policy.errors import Problem
from policy.model import Origin
from policy.source import Node

ID_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:+-]*$")

#: Placeholders an explanation template may use.
TEMPLATE_NAMES = (
    "requester",
    "requester_name",
    "requester_country",
    "purpose",
    "legal_basis",
    "legal_basis_title",
    "case_reference",
    "record_id",
    "kind",
    "subject_category",
    "agency",
    "detail",
)


def suggest(value: str, choices: Iterable[str]) -> str | None:
    """A 'did you mean' hint for a value close to one of ``choices``."""
    options = [str(c) for c in choices]
    close = difflib.get_close_matches(str(value), options, n=1, cutoff=0.6)
    if close:
        return f"did you mean '{close[0]}'?"
    if not options:
        return "nothing is declared yet; declare it under 'reference:' first"
    if len(options) <= 16:
        return "allowed: " + ", ".join(options)
    if all(len(o) == 2 and o.isupper() for o in options):
        return "use the ISO 3166 two-letter country code, for example KE, VN or MZ"
    return None


def origin(node: Node) -> Origin:
    """The position of a node as an :class:`Origin`."""
    return Origin(node.file, node.line, node.column)


class Reader:
    """Collects problems while reading nodes of one or more files."""

    def __init__(self) -> None:
        self.problems: list[Problem] = []

    def error(self, node: Node, message: str, hint: str | None = None) -> None:
        self.problems.append(node.problem(message, hint))

    def mapping(
        self,
        node: Node,
        what: str,
        required: Iterable[str] = (),
        optional: Iterable[str] = (),
    ) -> dict[str, Node] | None:
        """The entries of a mapping with a closed set of keys (``None`` if not a mapping)."""
        if node.kind != "map":
            self.error(node, f"{what} must be a mapping of 'key: value' lines")
            return None
        required = tuple(required)
        allowed = required + tuple(optional)
        out: dict[str, Node] = {}
        misspelt: set[str] = set()
        for key, (key_node, value) in node.entries.items():
            if key not in allowed:
                hint = suggest(key, allowed)
                self.error(key_node, f"unknown key '{key}' in {what}", hint)
                close = difflib.get_close_matches(key, allowed, n=1, cutoff=0.6)
                misspelt.update(close)
                continue
            out[key] = value
        for key in required:
            if key not in node.entries and key not in misspelt:
                self.error(node, f"{what} is missing the required key '{key}'")
        return out

    def unique(self, seen: dict[str, Node], key_node: Node, what: str) -> bool:
        """Record ``key_node`` in ``seen``; a problem (and False) if it was there already."""
        first = seen.get(key_node.raw)
        if first is key_node:  # registered in advance (the baseline's own ids)
            return True
        if first is not None and first.file.startswith("<baseline>"):
            self.error(
                key_node,
                f"{what} '{key_node.raw}' is part of the baseline; an agency policy cannot "
                "redefine, override or switch off the baseline",
                "use another id: a policy may add guards and reference data, never remove or "
                "weaken the baseline's",
            )
            return False
        if first is not None:
            self.error(
                key_node,
                f"{what} '{key_node.raw}' is declared twice (first at {first.file}:{first.line})",
                "keep one declaration",
            )
            return False
        seen[key_node.raw] = key_node
        return True

    def text(self, node: Node, what: str) -> str | None:
        if node.kind != "scalar" or node.value is None or node.raw == "":
            self.error(node, f"{what} must be text")
            return None
        if isinstance(node.value, bool) and not node.quoted:
            # yes/no/on/off are booleans in YAML; say so rather than guess.
            self.error(
                node,
                f"{what} must be text, got the yes/no value '{node.raw}'",
                f'write it in quotes: "{node.raw}"',
            )
            return None
        return node.raw

    def ident(self, node: Node, what: str) -> str | None:
        value = self.text(node, what)
        if value is not None and not ID_PATTERN.match(value):
            self.error(
                node,
                f"{what} '{value}' is not a valid identifier",
                "use letters, digits and . _ - : + without spaces",
            )
            return None
        return value

    def flag(self, node: Node, what: str) -> bool | None:
        if node.kind != "scalar" or not isinstance(node.value, bool):
            self.error(node, f"{what} must be true or false")
            return None
        return bool(node.value)

    def integer(self, node: Node, what: str, minimum: int = 0) -> int | None:
        value = node.value
        if node.kind != "scalar" or isinstance(value, bool) or not isinstance(value, int):
            self.error(node, f"{what} must be a whole number")
            return None
        if value < minimum:
            self.error(node, f"{what} must be at least {minimum}")
            return None
        return value

    def day(self, node: Node, what: str) -> date | None:
        value = node.value
        if isinstance(value, str):
            try:
                value = date.fromisoformat(value)
            except ValueError:
                value = None
        if isinstance(value, datetime) or not isinstance(value, date):
            if node.value is not None or node.kind != "scalar":
                self.error(
                    node, f"{what} must be a date written YYYY-MM-DD", "for example 2026-12-31"
                )
            return None
        return value

    def seq(self, node: Node, what: str) -> list[Node]:
        if node.kind == "seq":
            return node.items
        self.error(node, f"{what} must be a list, written [a, b] or one '- item' per line")
        return []

    def choices(
        self, node: Node, what: str, allowed: Iterable[str], *, empty_ok: bool = False
    ) -> tuple[str, ...] | None:
        """A list whose every item comes from ``allowed``; duplicates refused."""
        allowed = tuple(allowed)
        items = self.seq(node, what)
        if node.kind != "seq":
            return None
        if not items and not empty_ok:
            self.error(node, f"{what} must not be empty")
            return None
        out: list[str] = []
        ok = True
        for item in items:
            value = self.text(item, f"an entry of {what}")
            if value is None:
                ok = False
            elif value not in allowed:
                self.error(item, f"unknown value '{value}' in {what}", suggest(value, allowed))
                ok = False
            elif value in out:
                self.error(item, f"'{value}' is listed twice in {what}")
                ok = False
            else:
                out.append(value)
        return tuple(out) if ok else None

    def choice(self, node: Node, what: str, allowed: Iterable[str]) -> str | None:
        allowed = tuple(allowed)
        value = self.text(node, what)
        if value is not None and value not in allowed:
            self.error(node, f"unknown value '{value}' for {what}", suggest(value, allowed))
            return None
        return value

    def template(self, node: Node, what: str) -> str | None:
        """A plain-language template; only the documented ``{placeholders}`` are allowed."""
        value = self.text(node, what)
        if value is None:
            return None
        try:
            names = [name for _, name, _, _ in string.Formatter().parse(value) if name is not None]
        except ValueError as exc:
            self.error(
                node,
                f"{what} has a broken placeholder: {exc}",
                "placeholders are written {name}; write {{ and }} for literal braces",
            )
            return None
        for name in names:
            if name not in TEMPLATE_NAMES:
                self.error(
                    node,
                    f"unknown placeholder '{{{name}}}' in {what}",
                    suggest(name, TEMPLATE_NAMES) or "allowed: " + ", ".join(TEMPLATE_NAMES),
                )
                return None
        return value


def plain(node: Node) -> Any:
    """The plain Python value of a node."""
    return node.to_python()
