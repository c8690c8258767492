"""The compose federation and the systemd unit, as written (no container engine needed)."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path
from typing import Any

import yaml

from tests.deploy.conftest import ROOT, project_version

COMPOSE = ROOT / "deploy" / "compose"
AGENCIES = {"ke-kws", "vn-customs", "mz-pgr"}


def services() -> dict[str, Any]:
    doc = yaml.safe_load((COMPOSE / "compose.yaml").read_text())
    found: dict[str, Any] = doc["services"]
    return found


def init(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(COMPOSE / "init"), *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={"PATH": "/usr/bin:/bin", "SPOOR_ENGINE": "false"},
    )


class TestComposeFile:
    def test_three_countries_on_host_networking(self) -> None:
        """One service per agency, on the host network with no published ports."""
        assert set(services()) == AGENCIES
        for service in services().values():
            assert service["network_mode"] == "host"
            assert "ports" not in service

    def test_nodes_run_unprivileged_with_keys_and_policy_read_only(self) -> None:
        """Each node runs as uid 10001, read-only root, keys and policy mounted read-only."""
        for name, service in services().items():
            assert service["user"] == "10001:10001"
            assert service["read_only"] is True
            assert service["cap_drop"] == ["ALL"]
            mounts = {re.findall(r":(/[^:]+)(?::ro)?$", v)[0]: v for v in service["volumes"]}
            assert mounts["/var/lib/spoor"].startswith("${SPOOR_STATE")
            assert f"/{name}/home:" in mounts["/var/lib/spoor"]
            assert mounts["/var/lib/spoor/keys"].endswith(f"/{name}/keys:/var/lib/spoor/keys:ro")
            assert mounts["/var/lib/spoor/policy"].endswith(":ro")

    def test_image_is_this_release(self) -> None:
        """The default image is the one deploy/container/build tags for this version."""
        for service in services().values():
            assert service["image"].endswith(f"localhost/spoor:{project_version()}}}")


class TestKeyCeremonyScript:
    def test_unknown_agency_is_refused_before_anything_is_made(self, tmp_path: Path) -> None:
        """A --port for an agency not in the federation stops the ceremony with a clear error."""
        state = tmp_path / "state"
        done = init(str(state), "--port", "xx-police=50070")
        assert done.returncode == 2
        assert "unknown agency 'xx-police'" in done.stderr
        assert not state.exists()

    def test_an_existing_federation_is_left_alone(self, tmp_path: Path) -> None:
        """Run twice on the same state directory, the ceremony changes nothing."""
        home = tmp_path / "ke-kws" / "home"
        home.mkdir(parents=True)
        (home / "spoor.toml").write_text("agency_id = 'ke-kws'\n")
        done = init(str(tmp_path))
        assert done.returncode == 1
        assert "already holds a node" in done.stderr
        assert sorted(p.name for p in tmp_path.iterdir()) == ["ke-kws"]

    def test_a_missing_policy_directory_is_refused(self, tmp_path: Path) -> None:
        """--policies must hold a directory per agency, checked before anything is made."""
        (tmp_path / "policies" / "ke-kws").mkdir(parents=True)
        done = init(str(tmp_path / "state"), "--policies", str(tmp_path / "policies"))
        assert done.returncode == 1
        assert "no vn-customs/ directory" in done.stderr
        assert not (tmp_path / "state").exists()


class TestSystemdUnit:
    def test_runs_the_command_the_bundle_installs(self) -> None:
        """The unit starts /opt/spoor/bin/spoor, where install.sh puts it by default."""
        unit = (ROOT / "deploy" / "systemd" / "spoor-node.service").read_text()
        (exec_start,) = re.findall(r"^ExecStart=(\S+)", unit, re.MULTILINE)
        (default_prefix,) = re.findall(
            r"prefix=\$\{1:-(\S+)\}", (ROOT / "scripts/bundle").read_text()
        )
        assert exec_start == f"{default_prefix}/bin/spoor"
        assert "UMask=0077" in unit
