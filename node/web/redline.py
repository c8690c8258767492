"""A lawyer's redline between two policy versions: each changed value, old → new.

Compares the policies' meaning (:meth:`policy.Policy.canonical`), not their
YAML text, so reformatting shows nothing and an instrument's expiry cut from
2030-04-30 to 2026-12-20 shows as exactly that, under the instrument's name.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import policy as policy_lang

_MISSING = object()


@dataclass(frozen=True)
class Change:
    """One difference: where (``section / item / key``), what it was, what it becomes."""

    where: tuple[str, ...]
    old: str | None
    new: str | None

    @property
    def kind(self) -> str:
        if self.old is None:
            return "added"
        if self.new is None:
            return "removed"
        return "changed"

    @property
    def label(self) -> str:
        return " / ".join(self.where)


def _text(value: Any) -> str:
    if isinstance(value, list | tuple):
        return ", ".join(_text(v) for v in value) if value else "(none)"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if value is None:
        return "(not set)"
    return str(value)


def _keyed(items: list[Any]) -> dict[str, Any] | None:
    """Lists of rules (conditions) are compared by id (name): reordering is not a change."""
    for key in ("id", "name"):
        if items and all(isinstance(i, dict) and key in i for i in items):
            return {str(i[key]): i for i in items}
    return None


def _walk(where: tuple[str, ...], old: Any, new: Any, out: list[Change]) -> None:
    if isinstance(old, list) and isinstance(new, list):
        a, b = _keyed(old), _keyed(new)
        if a is not None and b is not None:
            old, new = a, b
    if isinstance(old, dict) and isinstance(new, dict):
        for key in sorted(set(old) | set(new), key=str):
            _walk((*where, str(key)), old.get(key, _MISSING), new.get(key, _MISSING), out)
        return
    if old == new:
        return
    out.append(
        Change(
            where,
            None if old is _MISSING else _text(old),
            None if new is _MISSING else _text(new),
        )
    )


def redline(old: policy_lang.Policy, new: policy_lang.Policy) -> list[Change]:
    """Every difference in meaning between two policies, in document order."""
    out: list[Change] = []
    _walk((), old.canonical(), new.canonical(), out)
    return out


def redline_paths(old: Path, new: Path) -> list[Change]:
    """The redline between the policies kept at two paths (raises ``PolicyError``)."""
    return redline(policy_lang.load_policy(old), policy_lang.load_policy(new))
