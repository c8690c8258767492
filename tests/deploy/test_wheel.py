"""The wheel: what it ships, and that nothing in it needs the development tree."""

from __future__ import annotations

import ast
import subprocess
import sys
import tomllib
import zipfile

import pytest

from tests.deploy.conftest import ROOT, project_version

DEV_ONLY = ("spoor_dev", "tests", "bench", "pytest", "hypothesis", "grpc_testing", "grpc_tools")


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> zipfile.ZipFile:
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--disable-pip-version-check",
         "--no-deps", "--no-build-isolation", "--wheel-dir", str(out), str(ROOT)],
        check=True, capture_output=True, timeout=300,
    )  # fmt: skip
    (path,) = out.glob("spoor-*.whl")
    return zipfile.ZipFile(path)


def _metadata(wheel: zipfile.ZipFile, name: str) -> str:
    return wheel.read(f"spoor-{project_version()}.dist-info/{name}").decode()


def _module_level_imports(source: str) -> set[str]:
    """Top-level package names imported when the module is imported (not inside functions)."""
    names: set[str] = set()
    for node in ast.parse(source).body:
        if isinstance(node, ast.Import):
            names |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


class TestWheelContents:
    def test_ships_the_node_the_policy_language_and_the_wire_code_only(
        self, wheel: zipfile.ZipFile
    ) -> None:
        """The wheel holds node, policy and the generated 'spoor' package; no demo or tests."""
        tops = {n.split("/")[0] for n in wheel.namelist()}
        assert tops == {"node", "policy", "spoor", f"spoor-{project_version()}.dist-info"}

    def test_ships_the_files_the_node_reads_at_run_time(self, wheel: zipfile.ZipFile) -> None:
        """The starter policy, baseline library, generated stubs and console files are inside."""
        names = set(wheel.namelist())
        assert "node/templates/starter-policy.yaml" in names
        # The console: templates, the vendored htmx with its licence, the catalogues.
        assert "node/web/templates/base.html" in names
        assert "node/web/static/htmx.min.js" in names
        assert "node/web/static/htmx-LICENSE.txt" in names
        assert "node/web/locale/zh/LC_MESSAGES/spoor.po" in names
        assert any(n.startswith("policy/baseline/") and n.endswith(".yaml") for n in names)
        assert "spoor/federation/v1/federation_pb2_grpc.py" in names

    def test_declares_the_spoor_command(self, wheel: zipfile.ZipFile) -> None:
        """Installing the wheel gives the 'spoor' command."""
        assert "spoor = node.cli.main:main" in _metadata(wheel, "entry_points.txt")

    def test_requires_exactly_the_pinned_runtime_set(self, wheel: zipfile.ZipFile) -> None:
        """Its requirements are pyproject's pins; development tools only under the 'dev' extra."""
        with (ROOT / "pyproject.toml").open("rb") as f:
            pinned = set(tomllib.load(f)["project"]["dependencies"])
        requires = [
            line.removeprefix("Requires-Dist: ")
            for line in _metadata(wheel, "METADATA").splitlines()
            if line.startswith("Requires-Dist: ")
        ]
        unconditional = {r for r in requires if "extra ==" not in r}
        assert unconditional == pinned
        assert all("extra == 'dev'" in r or "extra == \"dev\"" in r
                   for r in requires if r not in pinned)  # fmt: skip

    def test_no_shipped_module_imports_the_development_tree(self, wheel: zipfile.ZipFile) -> None:
        """Importing any shipped module never needs spoor_dev, tests or test tools."""
        offenders = {
            name: sorted(_module_level_imports(wheel.read(name).decode()) & set(DEV_ONLY))
            for name in wheel.namelist()
            if name.endswith(".py")
        }
        assert {k: v for k, v in offenders.items() if v} == {}
