"""docs/architecture.md is a contributor map: everything it names must exist."""

from __future__ import annotations

import importlib
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "architecture.md"

PATH_ROOTS = ("node/", "policy/", "spoor_dev/", "tests/", "proto/", "scripts/", "bench/", "docs/")
MODULE_ROOTS = ("node.", "policy.", "spoor_dev.")
#: File names that look like dotted names (the database and its upgrade backups).
FILE_SUFFIXES = (".db", ".bak", ".py", ".md", ".json", ".yaml", ".toml")


def _named() -> list[str]:
    return re.findall(r"`([^`\n]+)`", DOC.read_text("utf-8"))


def named_paths() -> list[str]:
    """Repository paths the page names (templates such as ``mNNNN_<what>.py`` left out)."""
    out = []
    for token in _named():
        path = token.split()[0]
        if path.startswith(PATH_ROOTS) and not re.search(r"[<*]|NNNN", path):
            out.append(path)
    # Paths also appear in the layout block at the top.
    block = DOC.read_text("utf-8").split("```")[1]
    out += [line.split()[0] for line in block.splitlines() if line.strip()]
    return sorted(set(out))


def named_objects() -> list[str]:
    """Dotted modules and attributes the page names, without call signatures."""
    out = []
    for token in _named():
        name = token.split("(")[0].strip()
        if not name.startswith(MODULE_ROOTS) or " " in name or "<" in name:
            continue
        if name.endswith(FILE_SUFFIXES) or name.startswith("node.db"):
            continue
        out.append(name)
    return sorted(set(out))


def resolve(dotted: str) -> object:
    """Import the longest module prefix of ``dotted`` and walk the rest as attributes."""
    parts = dotted.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            obj: object = importlib.import_module(".".join(parts[:cut]))
        except ModuleNotFoundError:
            continue
        for attr in parts[cut:]:
            obj = getattr(obj, attr)
        return obj
    raise ModuleNotFoundError(dotted)


class TestArchitectureDoc:
    def test_the_page_names_enough_to_be_a_map(self) -> None:
        """The page names the rooms and the places to add things (the check is not vacuous)."""
        assert len(named_paths()) >= 30
        assert len(named_objects()) >= 30

    def test_every_named_path_exists(self) -> None:
        """Each file or folder the page names is in the repository."""
        missing = [p for p in named_paths() if not (ROOT / p.rstrip("/")).exists()]
        assert missing == []

    def test_every_named_module_and_attribute_exists(self) -> None:
        """Each dotted module, class or function the page names can be imported."""
        missing = []
        for name in named_objects():
            try:
                resolve(name)
            except (ImportError, AttributeError):
                missing.append(name)
        assert missing == []

    def test_a_stale_name_would_be_caught(self) -> None:
        """The resolver refuses a module or attribute that does not exist."""
        for stale in ("node.matching", "node.store.no_such_repository", "policy.no_such_thing"):
            try:
                resolve(stale)
            except (ImportError, AttributeError):
                continue
            raise AssertionError(f"{stale} resolved")
