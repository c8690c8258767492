"""Problems found in policy files and the exception that carries them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar


@dataclass(frozen=True)
class Problem:
    """One error or warning, located in a file so an editor can jump to it."""

    file: str
    line: int
    column: int
    message: str
    hint: str | None = None
    severity: str = "error"

    def format(self) -> str:
        """``file:line:column: error: message (hint: ...)``, as compilers print them."""
        text = f"{self.file}:{self.line}:{self.column}: {self.severity}: {self.message}"
        if self.hint:
            text += f" (hint: {self.hint})"
        return text

    def __str__(self) -> str:
        return self.format()


class PolicyLanguageError(Exception):
    """Root of every error the policy language raises on purpose.

    ``policy`` does not depend on the node, so it keeps its own root; the node's
    error catalogue (``node.rpc.errors``) maps every subclass like a node error.
    """

    #: The constructor's arguments, kept as attributes of the same names.
    FIELDS: ClassVar[tuple[str, ...]] = ()

    def fields(self) -> dict[str, Any]:
        """The structured fields, by name."""
        return {name: getattr(self, name) for name in self.FIELDS}


class PolicyError(PolicyLanguageError):
    """A policy could not be loaded; ``problems`` lists every error found.

    Nothing was changed: whoever called ``load_policy`` keeps the policy it had.
    """

    FIELDS = ("problems",)

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        count = len(problems)
        first = problems[0].format() if problems else "no details"
        more = f" (and {count - 1} more)" if count > 1 else ""
        super().__init__(f"policy has {count} error(s): {first}{more}")
