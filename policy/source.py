"""Reading YAML while keeping the line and column of every value.

PyYAML's composer gives nodes with start marks; this module turns them into a
small tree of :class:`Node` so the schema can say exactly where a problem is.
Keys are kept as their literal text (so a country code such as ``NO`` stays a
string), duplicate keys are errors, and a file holds exactly one document.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import yaml

from policy.errors import PolicyLanguageError, Problem


@dataclass
class Node:
    """A YAML value with its position (1-based line and column)."""

    kind: str  # "map" | "seq" | "scalar"
    file: str
    line: int
    column: int
    value: Any = None  # constructed scalar value
    raw: str = ""  # literal text of a scalar
    quoted: bool = False  # whether a scalar was written in quotes
    items: list[Node] = field(default_factory=list)  # sequence items
    entries: dict[str, tuple[Node, Node]] = field(default_factory=dict)  # key -> (key, value)

    def problem(self, message: str, hint: str | None = None, severity: str = "error") -> Problem:
        """A problem located at this node."""
        return Problem(self.file, self.line, self.column, message, hint, severity)

    def to_python(self) -> Any:
        """The plain Python value (dicts, lists, scalars), positions dropped."""
        if self.kind == "map":
            return {k: v.to_python() for k, (_, v) in self.entries.items()}
        if self.kind == "seq":
            return [item.to_python() for item in self.items]
        return self.value


class SourceError(PolicyLanguageError):
    """A file could not be read as YAML; ``problems`` says where and why."""

    FIELDS = ("problems",)

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__(problems[0].format() if problems else "YAML error")


def parse_text(text: str, file: str) -> Node | None:
    """Parse one YAML document; ``None`` when the file holds no document at all.

    Raises :class:`SourceError` for any problem, including invalid values.
    """
    root, problems = parse(text, file)
    if problems:
        raise SourceError(problems)
    return root


def parse(text: str, file: str) -> tuple[Node | None, list[Problem]]:
    """Parse one YAML document, returning invalid values (bad dates) as problems.

    Raises :class:`SourceError` only when the file is not readable YAML at all.
    """
    try:
        documents = list(yaml.compose_all(text, Loader=yaml.SafeLoader))
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, column = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        message = f"YAML syntax error: {exc.problem or exc.context}"
        raise SourceError(
            [
                Problem(
                    file,
                    line,
                    column,
                    message,
                    "check indentation (spaces, not tabs), colons after keys and "
                    "matching quotes or brackets",
                )
            ]
        ) from None
    except yaml.YAMLError as exc:
        raise SourceError([Problem(file, 1, 1, f"YAML error: {exc}")]) from None
    documents = [d for d in documents if d is not None]
    if not documents:
        return None, []
    if len(documents) > 1:
        second = documents[1].start_mark
        raise SourceError(
            [
                Problem(
                    file,
                    second.line + 1,
                    second.column + 1,
                    "a policy file holds one YAML document, this file has several",
                    "remove the '---' separator or split the file in two",
                )
            ]
        )
    problems: list[Problem] = []
    root = _convert(documents[0], file, problems)
    return root, problems


def _convert(node: yaml.Node, file: str, problems: list[Problem]) -> Node:
    line, column = node.start_mark.line + 1, node.start_mark.column + 1
    if isinstance(node, yaml.MappingNode):
        out = Node("map", file, line, column)
        for key_node, value_node in node.value:
            key_line, key_col = key_node.start_mark.line + 1, key_node.start_mark.column + 1
            if not isinstance(key_node, yaml.ScalarNode):
                problems.append(
                    Problem(file, key_line, key_col, "a key must be plain text", "write key: value")
                )
                continue
            key = str(key_node.value)
            key_out = Node("scalar", file, key_line, key_col, value=key, raw=key)
            if key in out.entries:
                first = out.entries[key][0]
                problems.append(
                    Problem(
                        file,
                        key_line,
                        key_col,
                        f"duplicate key '{key}' (first given on line {first.line})",
                        "keep one of them; YAML would silently use the last one",
                    )
                )
                continue
            out.entries[key] = (key_out, _convert(value_node, file, problems))
        return out
    if isinstance(node, yaml.SequenceNode):
        out = Node("seq", file, line, column)
        out.items = [_convert(item, file, problems) for item in node.value]
        return out
    assert isinstance(node, yaml.ScalarNode)
    try:
        value = yaml.constructor.SafeConstructor().construct_object(node, deep=True)
    except (ValueError, yaml.constructor.ConstructorError) as exc:
        problems.append(
            Problem(
                file,
                line,
                column,
                f"'{node.value}' is not a valid value ({exc})",
                "dates are written YYYY-MM-DD and must exist in the calendar",
            )
        )
        value = None
    return Node(
        "scalar",
        file,
        line,
        column,
        value=value,
        raw=str(node.value),
        quoted=node.style in ("'", '"'),
    )
