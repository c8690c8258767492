"""Shared fixtures: node homes made with the real ``spoor init``, policies, records."""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
import structlog
from click.testing import CliRunner

from node.cli.main import cli

DATA = Path(__file__).parent / "data"

# --postgres URL runs every store-touching test on PostgreSQL (tests/store/backends.py).
pytest_plugins = ["tests.store.backends"]
# Every node a test starts (in-process or as a process) opens its ops port on a free
# loopback port instead of 9464, so nodes and parallel runs never collide.
os.environ["SPOOR_OPS_LISTEN"] = "127.0.0.1:0"


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


def responder_with_peer(
    tmp_path: Path, held: list[dict[str, object]], *, others: tuple[tuple[str, str], ...] = ()
) -> dict[str, Path]:
    """ke-kws holding ``held`` under the test policy, with vn-customs as its only peer.

    ``others`` are further agencies (id, country) that get a node home but are not peers.
    """
    homes = {
        agency: init_node(tmp_path, agency, country)
        for agency, country in (("ke-kws", "KE"), ("vn-customs", "VN"), *others)
    }
    ke, vn = homes["ke-kws"], homes["vn-customs"]
    spoor("peers", "add", "--home", str(ke), "vn-customs", "--address", "127.0.0.1:9",
          "--ca", str(vn / "keys" / "ca.crt"))  # fmt: skip
    install_test_policy(ke, "ke-kws", ["vn-customs"])
    spoor("records", "import", "--home", str(ke), str(write_jsonl(tmp_path / "held.jsonl", held)))
    return homes


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


@pytest.fixture(autouse=True)
def _fresh_logging() -> Iterator[None]:
    """In-process CLI calls configure structlog globally; each test starts from the defaults."""
    structlog.reset_defaults()
    yield
    structlog.reset_defaults()


@pytest.fixture(autouse=True)
def cheap_password_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    """Argon2 with minimal cost in-process: the suite enrols many officers on 2 cores.

    Production keeps argon2-cffi's RFC 9106 defaults; subprocess tests use them too.
    """
    from argon2 import PasswordHasher

    from node.officers import credentials

    monkeypatch.setattr(
        credentials, "_HASHER", PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
    )
