"""Problems found in policy files and the exception that carries them."""

from __future__ import annotations

from dataclasses import dataclass


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


class PolicyError(Exception):
    """A policy could not be loaded; ``problems`` lists every error found.

    Nothing was changed: whoever called ``load_policy`` keeps the policy it had.
    """

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        count = len(problems)
        first = problems[0].format() if problems else "no details"
        more = f" (and {count - 1} more)" if count > 1 else ""
        super().__init__(f"policy has {count} error(s): {first}{more}")
