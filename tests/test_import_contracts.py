"""The import contracts in pyproject.toml hold, and a layering violation breaks them."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def lint_imports(project: Path) -> subprocess.CompletedProcess[str]:
    """Run ``lint-imports`` on the project at ``project`` (its own code first on the path)."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(project), str(project / "proto")])}
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache"],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def copy_of_the_code(target: Path) -> Path:
    """The packages the contracts cover and pyproject.toml, copied under ``target``."""
    only_python = shutil.ignore_patterns("__pycache__", "*.pyc", "*.pyi", "*.json", "*.html")
    for package in ("node", "policy", "spoor_dev"):
        shutil.copytree(ROOT / package, target / package, ignore=only_python)
    shutil.copytree(ROOT / "proto" / "spoor", target / "proto" / "spoor", ignore=only_python)
    shutil.copy(ROOT / "pyproject.toml", target / "pyproject.toml")
    return target


class TestImportContracts:
    def test_the_code_keeps_every_contract(self) -> None:
        """Layers, the pure policy package and the gRPC boundary hold in the code as it is."""
        result = lint_imports(ROOT)
        assert result.returncode == 0, result.stdout + result.stderr
        assert "0 broken" in result.stdout

    @pytest.mark.parametrize(
        ("module", "source", "contract"),
        [
            ("node/match/probe.py", "import grpc\n", "only node.rpc and the demo touch gRPC"),
            (
                "node/match/probe.py",
                "from spoor.federation.v1 import federation_pb2\n",
                "only node.rpc and the demo touch gRPC",
            ),
            ("node/match/probe.py", "from node.rpc import wire\n", "node layers"),
            ("node/disclosure/probe.py", "from node.cli import common\n", "node layers"),
            ("node/newroom/__init__.py", "", "node layers"),
            ("policy/probe.py", "from node import store\n", "policy is pure"),
            ("policy/probe.py", "import sqlite3\n", "policy is pure"),
            ("node/records/probe.py", "import spoor_dev.generate\n", "product never imports"),
            ("node/records/probe.py", "import tests.conftest\n", "product never imports"),
        ],
    )
    def test_a_violation_breaks_its_contract(
        self, tmp_path: Path, module: str, source: str, contract: str
    ) -> None:
        """A module crossing a boundary (or a package no layer names) fails the check."""
        project = copy_of_the_code(tmp_path)
        (project / module).parent.mkdir(parents=True, exist_ok=True)
        (project / module).write_text(f"from __future__ import annotations\n\n{source}")
        result = lint_imports(project)
        assert result.returncode != 0, result.stdout
        assert "Broken contracts" in result.stdout, result.stdout + result.stderr
        broken = result.stdout.split("Broken contracts", 1)[1]
        assert contract in broken, result.stdout
