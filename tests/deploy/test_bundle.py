"""The offline bundle: a node installed and started from it with no package index.

Marker ``packaging`` (opt-in: ``scripts/test -m packaging``): building the
bundle downloads the pinned wheels once; every install below is ``--no-index``.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tarfile
import tomllib
from pathlib import Path

import pytest

from tests.deploy.conftest import ROOT, project_version

pytestmark = pytest.mark.packaging

DEV_TOOLS = ("pytest", "ruff", "mypy", "hypothesis", "grpcio-tools", "grpcio-testing", "buf-bin")


def run(args: list[str], **kwargs: object) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PIP_", "VIRTUAL_ENV"))}
    return subprocess.run(
        args, capture_output=True, text=True, timeout=600, check=False, env=env, **kwargs
    )  # type: ignore[call-overload, no-any-return]


@pytest.fixture(scope="module")
def bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The bundle scripts/bundle makes, unpacked from its archive as a target host would."""
    out = tmp_path_factory.mktemp("dist")
    made = run([str(ROOT / "scripts" / "bundle"), "--out", str(out)])
    assert made.returncode == 0, made.stderr
    name = f"spoor-{project_version()}-bundle"
    target = tmp_path_factory.mktemp("airgap")
    with tarfile.open(out / f"{name}.tar.gz") as tar:
        tar.extractall(target, filter="data")
    return target / name


def installed(venv: Path) -> set[str]:
    listed = run([str(venv / "bin" / "python"), "-m", "pip", "list", "--format=freeze"])
    return {line.split("==")[0].lower() for line in listed.stdout.splitlines()}


def runs_a_node(spoor: Path, where: Path) -> None:
    version = run([str(spoor), "--version"])
    assert version.returncode == 0, version.stderr
    assert project_version() in version.stdout
    home = where / "home"
    init = run([str(spoor), "init", "--home", str(home), "--agency", "ke-kws", "--country", "KE"])
    assert init.returncode == 0, init.stderr
    check = run([str(spoor), "policy", "check", str(home / "policy")])
    assert check.returncode == 0, check.stdout + check.stderr


class TestOfflineBundle:
    def test_pins_every_wheel_by_version_and_hash(self, bundle: Path) -> None:
        """requirements.txt names every wheel with its hash, including pyproject's pins."""
        lines = (bundle / "requirements.txt").read_text().splitlines()
        assert len(lines) == len(list((bundle / "wheels").glob("*.whl")))
        assert all("==" in line and "--hash=sha256:" in line for line in lines)
        with (ROOT / "pyproject.toml").open("rb") as f:
            pins = tomllib.load(f)["project"]["dependencies"]
        norm = {line.split(" ")[0].lower().replace("_", "-") for line in lines}
        assert {p.lower() for p in pins} <= norm
        assert f"spoor=={project_version()}" in norm
        checked = run(["sha256sum", "--quiet", "-c", "SHA256SUMS"], cwd=bundle)
        assert checked.returncode == 0, checked.stdout

    def test_install_script_gives_a_working_node_without_dev_tools(
        self, bundle: Path, tmp_path: Path
    ) -> None:
        """install.sh makes a virtualenv with no network; spoor init and policy check work."""
        prefix = tmp_path / "opt-spoor"
        done = run([str(bundle / "install.sh"), str(prefix)])
        assert done.returncode == 0, done.stderr
        assert not installed(prefix) & set(DEV_TOOLS)
        assert "spoor" in installed(prefix)
        runs_a_node(prefix / "bin" / "spoor", tmp_path)

    def test_plain_pip_install_from_the_wheels_directory(
        self, bundle: Path, tmp_path: Path
    ) -> None:
        """pip install --no-index --find-links on the wheels directory gives a working node."""
        venv = tmp_path / "venv"
        assert run([sys.executable, "-m", "venv", str(venv)]).returncode == 0
        pip = run([str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet", "--no-index",
                   "--find-links", str(bundle / "wheels"), "spoor"])  # fmt: skip
        assert pip.returncode == 0, pip.stderr
        runs_a_node(venv / "bin" / "spoor", tmp_path)

    def test_a_changed_wheel_is_refused(self, bundle: Path, tmp_path: Path) -> None:
        """A wheel altered after bundling fails its hash and nothing is installed."""
        copy = tmp_path / "bundle"
        shutil.copytree(bundle, copy)
        (wheel,) = (copy / "wheels").glob("structlog-*.whl")
        wheel.write_bytes(wheel.read_bytes() + b"\0")
        prefix = tmp_path / "opt-spoor"
        done = run([str(copy / "install.sh"), str(prefix)])
        assert done.returncode != 0
        assert "hash" in done.stderr.lower()
        assert not prefix.exists()

    def test_refuses_a_prefix_that_is_not_a_virtualenv(self, bundle: Path, tmp_path: Path) -> None:
        """An existing directory that is not a virtualenv is left alone, with a clear error."""
        prefix = tmp_path / "data"
        prefix.mkdir()
        (prefix / "keep.txt").write_text("x")
        done = run([str(bundle / "install.sh"), str(prefix)])
        assert done.returncode == 1
        assert "not a virtualenv" in done.stderr
        assert [p.name for p in prefix.iterdir()] == ["keep.txt"]
