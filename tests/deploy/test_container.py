"""The node image and a three-country federation in containers, with podman.

Marker ``container`` (opt-in: ``scripts/test -m container``). Needs podman,
runc, mmdebstrap and uidmap; builds the image once with deploy/container/build
(or uses ``$SPOOR_IMAGE``). Nodes use host networking on free 127.0.0.1 ports.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from spoor_dev.federation import free_port
from tests.deploy.conftest import ROOT, project_version

pytestmark = pytest.mark.container

PODMAN = ["podman", "--runtime", "runc"]
DEMO = ROOT / "deploy" / "demo"
AGENCIES = ("ke-kws", "vn-customs", "mz-pgr")


def sh(args: list[str], *, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, capture_output=True, text=True, timeout=timeout, check=False)


def ok(args: list[str], *, timeout: float = 600) -> str:
    done = sh(args, timeout=timeout)
    assert done.returncode == 0, f"{' '.join(args)}:\n{done.stdout}\n{done.stderr}"
    return done.stdout


@pytest.fixture(scope="session")
def image() -> str:
    """The node image: $SPOOR_IMAGE, else built once by deploy/container/build."""
    if shutil.which("podman") is None:
        pytest.fail(
            "the container tier needs podman: apt-get install -y podman runc mmdebstrap uidmap"
        )
    if os.environ.get("SPOOR_IMAGE"):
        return os.environ["SPOOR_IMAGE"]
    return ok([str(ROOT / "deploy" / "container" / "build")]).strip().splitlines()[-1]


def in_image(
    image: str, *args: str, entrypoint: str | None = None, mounts: tuple[str, ...] = ()
) -> subprocess.CompletedProcess[str]:
    """Run one command in a fresh container of the image (no network, read-only root)."""
    extra = ["--entrypoint", entrypoint] if entrypoint else []
    for mount in mounts:
        extra += ["-v", mount]
    return sh([*PODMAN, "run", "--rm", "--network", "none", "--read-only",
               "--ulimit", "nofile=1024:1024", "--ulimit", "nproc=1024:1024",
               *extra, image, *args], timeout=120)  # fmt: skip


class TestImage:
    def test_runs_as_an_unprivileged_user(self, image: str) -> None:
        """The node process runs as uid 10001, not root."""
        done = in_image(image, "-u", entrypoint="id")
        assert done.stdout.strip() == "10001"

    def test_is_this_release_without_the_development_tree(self, image: str) -> None:
        """'spoor --version' is the project version; the demo and test tools are not inside."""
        assert project_version() in in_image(image, "--version").stdout
        probe = (
            "import importlib.util as u; "
            "print([m for m in ('spoor_dev', 'pytest', 'pip') if u.find_spec(m)])"
        )
        done = in_image(image, "-c", probe, entrypoint="/opt/spoor/bin/python")
        assert done.stdout.strip() == "[]"

    def test_the_home_is_a_volume(self, image: str) -> None:
        """/var/lib/spoor is declared a volume and SPOOR_HOME points at it."""
        config = json.loads(ok([*PODMAN, "image", "inspect", image]))[0]["Config"]
        assert "/var/lib/spoor" in config["Volumes"]
        assert "SPOOR_HOME=/var/lib/spoor" in config["Env"]


class Compose:
    """podman-compose on deploy/compose/compose.yaml under one project name and state dir."""

    def __init__(self, state: Path, image: str) -> None:
        self.state = state
        self.image = image
        self.project = f"spoortest{uuid.uuid4().hex[:8]}"
        tool = Path(sys.executable).with_name("podman-compose")
        self.base = [str(tool), "-p", self.project, "-f", str(ROOT / "deploy/compose/compose.yaml")]

    def __call__(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        env = {**os.environ, "SPOOR_STATE": str(self.state), "SPOOR_IMAGE": self.image}
        done = subprocess.run([*self.base, *args], capture_output=True, text=True, env=env,
                              timeout=300, check=False)  # fmt: skip
        if check:
            assert done.returncode == 0, f"compose {' '.join(args)}:\n{done.stdout}\n{done.stderr}"
        return done

    def spoor(self, agency: str, *args: str) -> str:
        return self("exec", "-T", agency, "spoor", *args).stdout

    def wait_serving(self, agency: str, timeout_s: float = 90) -> None:
        deadline = time.monotonic() + timeout_s
        while f"{agency} serving on port" not in self("logs", agency, check=False).stdout:
            assert time.monotonic() < deadline, self("logs", agency, check=False).stdout[-3000:]
            time.sleep(1)


@pytest.fixture(scope="module")
def federation(image: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Compose]:
    """Key ceremony, records imported, three nodes up; torn down afterwards."""
    state = tmp_path_factory.mktemp("federation")
    ports = [arg for a in AGENCIES for arg in ("--port", f"{a}={free_port()}")]
    env = {**os.environ, "SPOOR_IMAGE": image}
    ceremony = [str(ROOT / "deploy/compose/init"), str(state), "--policies",
                str(ROOT / "deploy/policies"), *ports]  # fmt: skip
    made = subprocess.run(
        ceremony, capture_output=True, text=True, env=env, timeout=600, check=False
    )
    assert made.returncode == 0, made.stdout + made.stderr
    for agency in AGENCIES:
        for f in (DEMO / agency).iterdir():
            shutil.copy(f, state / agency / "import" / f.name)
    compose = Compose(state, image)
    compose("up", "-d")
    try:
        for agency in AGENCIES:
            compose.wait_serving(agency)
        compose.spoor("ke-kws", "records", "import", "/import/persons-register.csv",
                      "--map-file", "/import/persons-register.map.yaml")  # fmt: skip
        compose.spoor("ke-kws", "records", "import", "/import/seizures.jsonl")
        compose.spoor("mz-pgr", "records", "import", "/import/shipments.jsonl")
        yield compose
    finally:
        compose("down", check=False)


def hits(result: dict[str, object], peer: str) -> dict[str, list[str]]:
    rows = result["rows"]
    assert isinstance(rows, list)
    return {r["record_id"]: r["hits"].get(peer, []) for r in rows}


class TestComposeFederation:
    def test_matches_across_three_countries(self, federation: Compose) -> None:
        """Viet Nam Customs finds suspects at KWS and a container at PGR, under each policy."""
        out = federation.spoor(
            "vn-customs", "match", "/import/case-VNC-2026-0147.jsonl", "--json",
            "--purpose", "criminal_investigation", "--case", "VNC/2026/0147",
            "--officer", "Officer A", "--peer", "ke-kws", "--peer", "mz-pgr",
            "--legal-basis", "ke-kws=KE-VN-MoU-2024", "--legal-basis", "mz-pgr=CITES-Art-VIII",
        )  # fmt: skip
        result = json.loads(out)
        kws = hits(result, "ke-kws")
        assert {"name_dob", "phone"} <= set(kws["VNC-P-0001"])
        assert kws["VNC-P-0003"] == ["name_skeleton_dob"]
        assert kws["VNC-P-0006"] == []  # the witness's phone is protected by KWS's policy
        pgr = hits(result, "mz-pgr")
        assert {"container", "vessel_imo"} <= set(pgr["VNC-S-0001"])
        assert pgr["VNC-P-0001"] == []  # PGR admits shipments only from Viet Nam Customs

    def test_keys_are_read_only_inside_the_container(self, federation: Compose) -> None:
        """The serving node cannot change its mounted keys."""
        done = federation("exec", "-T", "ke-kws", "/bin/sh", "-c",
                          "echo x > /var/lib/spoor/keys/node.key", check=False)  # fmt: skip
        assert done.returncode != 0
        assert "Read-only file system" in done.stderr + done.stdout

    def test_the_ca_key_never_reaches_a_serving_node(self, federation: Compose) -> None:
        """Each CA key stays in the ceremony's ca/ directory, outside the node's mounts."""
        for agency in AGENCIES:
            listed = federation("exec", "-T", agency, "/bin/ls", "/var/lib/spoor/keys").stdout
            assert sorted(listed.split()) == ["audit-signing.key", "ca.crt", "node.crt", "node.key"]
            assert (federation.state / agency / "ca" / "ca.key").is_file()

    def test_stops_gracefully_and_the_home_outlives_the_container(
        self, federation: Compose
    ) -> None:
        """Every node drains and exits on stop; a fresh container verifies the same audit trail."""
        federation("stop")
        for agency in AGENCIES:
            log = federation("logs", agency).stdout
            assert '"event": "draining"' in log
            assert '"event": "stopped"' in log
        federation("down")
        left = ok(
            [
                "podman",
                "ps",
                "-a",
                "--filter",
                f"name={federation.project}",
                "--format",
                "{{.Names}}",
            ]
        )
        assert left.strip() == ""
        for agency in AGENCIES:
            node = federation.state / agency
            verified = in_image(
                federation.image,
                "audit",
                "verify",
                mounts=(
                    f"{node / 'home'}:/var/lib/spoor",
                    f"{node / 'keys'}:/var/lib/spoor/keys:ro",
                    f"{node / 'policy'}:/var/lib/spoor/policy:ro",
                ),
            )
            assert verified.returncode == 0, verified.stderr
            assert "OK" in verified.stdout


def seed_command() -> list[str]:
    """The command of the Kubernetes init container that seeds the home claim."""
    docs = yaml.safe_load_all((ROOT / "deploy/kubernetes/node.yaml").read_text())
    (deployment,) = [d for d in docs if d["kind"] == "Deployment"]
    (init,) = deployment["spec"]["template"]["spec"]["initContainers"]
    command: list[str] = init["command"]
    return command


class TestKubernetesSeed:
    def make_seed(self, image: str, where: Path, agency: str, country: str) -> Path:
        """A ceremony home and its seed archive, as docs/operators.md makes them."""
        home = where / agency
        home.mkdir()
        os.chown(home, 10001, 10001)
        made = in_image(image, "init", "--agency", agency, "--country", country,
                        mounts=(f"{home}:/var/lib/spoor",))  # fmt: skip
        assert made.returncode == 0, made.stderr
        seed = where / f"{agency}-seed"
        seed.mkdir()
        ok(["tar", "-C", str(home), "-czf", str(seed / "home.tar.gz"), "spoor.toml", "node.db"])
        return seed

    def test_seeds_an_empty_claim_once_and_never_overwrites_it(
        self, image: str, tmp_path: Path
    ) -> None:
        """The first start unpacks the seed; a later start with another seed changes nothing."""
        kws = self.make_seed(image, tmp_path, "ke-kws", "KE")
        other = self.make_seed(image, tmp_path, "vn-customs", "VN")
        claim = tmp_path / "claim"
        claim.mkdir()
        os.chown(claim, 10001, 10001)
        command = seed_command()
        for seed in (kws, other):
            done = in_image(image, *command[1:], entrypoint=command[0],
                            mounts=(f"{claim}:/var/lib/spoor", f"{seed}:/seed:ro"))  # fmt: skip
            assert done.returncode == 0, done.stderr
        assert 'agency_id = "ke-kws"' in (claim / "spoor.toml").read_text()
        verified = in_image(
            image,
            "audit",
            "verify",
            mounts=(
                f"{claim}:/var/lib/spoor",
                f"{tmp_path / 'ke-kws' / 'keys'}:/var/lib/spoor/keys:ro",
                f"{tmp_path / 'ke-kws' / 'policy'}:/var/lib/spoor/policy:ro",
            ),
        )
        assert verified.returncode == 0, verified.stderr
        assert "OK" in verified.stdout
