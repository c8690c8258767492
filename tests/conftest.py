"""Shared fixtures: node homes made with the real ``spoor init``, policies, records."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import structlog
from click.testing import CliRunner

from node.cli.main import cli

DATA = Path(__file__).parent / "data"


def spoor(*args: str) -> str:
    """Run a ``spoor`` command in-process; fail the test with its output if it fails."""
    result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    assert result.exit_code == 0, f"spoor {' '.join(args)} failed:\n{result.output}"
    return result.output


def init_node(root: Path, agency_id: str, country: str, port: int = 0) -> Path:
    """A node home with its own CA and node certificate."""
    home = root / agency_id
    spoor(
        "init",
        "--home",
        str(home),
        "--agency",
        agency_id,
        "--country",
        country,
        "--listen",
        f"127.0.0.1:{port or 50051}",
    )
    return home


def make_peers(a: Path, b: Path, a_id: str, b_id: str, b_address: str = "127.0.0.1:1") -> None:
    """Make ``b`` a peer of ``a`` (pins b's CA in a)."""
    spoor(
        "peers",
        "add",
        "--home",
        str(a),
        b_id,
        "--address",
        b_address,
        "--ca",
        str(b / "keys" / "ca.crt"),
    )


def install_test_policy(home: Path, agency_id: str, counterparts: list[str]) -> None:
    """Replace the node's policy with the test policy: every peer may match suspects."""
    text = (DATA / "policy" / "agency.yaml").read_text(encoding="utf-8")
    profiles = "\n".join(
        (DATA / "policy" / "counterpart.yaml.in")
        .read_text(encoding="utf-8")
        .replace("{counterpart}", c)
        for c in counterparts
    )
    policy_dir = home / "policy"
    shutil.rmtree(policy_dir)
    policy_dir.mkdir()
    (policy_dir / "agency.yaml").write_text(
        text.replace("{agency_id}", agency_id).replace("{counterparts}", profiles),
        encoding="utf-8",
    )


def write_jsonl(path: Path, records: list[dict[str, object]]) -> Path:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), "utf-8")
    return path


@pytest.fixture
def node_factory(tmp_path: Path) -> Callable[[str, str], Path]:
    def make(agency_id: str, country: str) -> Path:
        return init_node(tmp_path, agency_id, country)

    return make


@pytest.fixture(autouse=True)
def _fresh_logging() -> Iterator[None]:
    """In-process CLI calls configure structlog globally; each test starts from the defaults."""
    structlog.reset_defaults()
    yield
    structlog.reset_defaults()
