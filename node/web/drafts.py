"""Policy drafts: written by one officer, reviewed, activated by a second.

A draft is a full copy of the policy tree under ``policy-drafts/<id>/tree``
with ``draft.json`` beside it (author, base version, state). Activation copies
the tree over the home's policy only when it checks clean and its case tables
pass (:func:`policy.activation.vet_policy`), and never by the draft's author.
"""

from __future__ import annotations

import json
import secrets
import shutil
import tempfile
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

import policy as policy_lang
from node.app.policy_history import policy_tree, version_of
from policy.activation import vet_policy
from policy.testing import TestReport

META = "draft.json"


@dataclass
class Draft:
    """A proposed policy and who proposed it."""

    draft_id: str
    author: str
    author_id: str
    created_at: str
    base_version: str
    state: str = "review"  # review | activated | refused
    decided_by: str | None = None

    def tree_dir(self, root: Path) -> Path:
        return root / self.draft_id / "tree"


@dataclass(frozen=True)
class Vetting:
    """Whether a tree may go live: its problems (file:line:column) and case results."""

    problems: tuple[policy_lang.Problem, ...]
    report: TestReport | None

    @property
    def ok(self) -> bool:
        return not self.problems


class DraftStore:
    """The ``policy-drafts/`` directory of one node home."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def create(self, policy_dir: Path, edits: dict[str, str], author: str, author_id: str) -> Draft:
        """A draft of the active policy with ``edits`` (relative file name → new text)."""
        draft = Draft(
            draft_id=f"d-{secrets.token_hex(5)}",
            author=author,
            author_id=author_id,
            created_at=datetime.now(UTC).isoformat(timespec="seconds"),
            base_version=version_of(policy_tree(policy_dir)),
        )
        tree = draft.tree_dir(self.root)
        shutil.copytree(policy_dir, tree)
        for name, text in edits.items():
            target = safe_member(tree, name)
            target.write_text(text, encoding="utf-8")
        self.save(draft)
        return draft

    def save(self, draft: Draft) -> None:
        (self.root / draft.draft_id).mkdir(parents=True, exist_ok=True)
        (self.root / draft.draft_id / META).write_text(
            json.dumps(asdict(draft), indent=2), encoding="utf-8"
        )

    def get(self, draft_id: str) -> Draft | None:
        if not draft_id.startswith("d-") or not draft_id[2:].isalnum():
            return None
        meta = self.root / draft_id / META
        if not meta.is_file():
            return None
        return Draft(**json.loads(meta.read_text(encoding="utf-8")))

    def all(self) -> list[Draft]:
        if not self.root.is_dir():
            return []
        found = [self.get(p.name) for p in sorted(self.root.iterdir())]
        return sorted((d for d in found if d), key=lambda d: d.created_at, reverse=True)


def safe_member(tree: Path, name: str) -> Path:
    """``tree / name`` if it stays inside ``tree`` and names a YAML file; else ValueError."""
    target = (tree / name).resolve()
    if tree.resolve() not in target.parents or target.suffix not in (".yaml", ".yml"):
        raise ValueError(f"{name!r} is not a policy file of this policy")
    return target


def vet(tree: Path) -> Vetting:
    """Check and run the case tables of the policy at ``tree``."""
    try:
        _, report = vet_policy(tree)
    except policy_lang.PolicyError as exc:
        problems = tuple(getattr(exc, "problems", ()))
        return Vetting(problems, None)
    return Vetting((), report)


def vet_text(policy_dir: Path, name: str, text: str) -> Vetting:
    """Vet the active policy with one file replaced by ``text`` (the editor's live check)."""
    with tempfile.TemporaryDirectory(prefix="spoor-policy-check-") as scratch:
        tree = Path(scratch) / "policy"
        shutil.copytree(policy_dir, tree)
        safe_member(tree, name).write_text(text, encoding="utf-8")
        vetting = vet(tree)
    return Vetting(tuple(_relative(p, tree) for p in vetting.problems), vetting.report)


def _relative(problem: policy_lang.Problem, tree: Path) -> policy_lang.Problem:
    from dataclasses import replace

    name = problem.file
    for prefix in (str(tree) + "/", str(tree.resolve()) + "/"):
        if name.startswith(prefix):
            name = name[len(prefix) :]
    return replace(problem, file=name)


def install(tree: Path, policy_dir: Path) -> None:
    """Replace the home's policy files with the draft's (same names; others left alone)."""
    for source in sorted(tree.rglob("*")):
        if source.is_file():
            target = policy_dir / source.relative_to(tree)
            target.parent.mkdir(parents=True, exist_ok=True)
            tmp = target.with_name(f".{target.name}.tmp")
            shutil.copyfile(source, tmp)
            tmp.replace(target)
