"""Two ``spoor serve`` replicas of one agency on one PostgreSQL database.

Kenya Wildlife Service runs two replicas (same home, same identity, same
store); Viet Nam Customs matches against one, then the other, then against
the survivor after the first is killed with SIGKILL.
"""

from __future__ import annotations

import json
import signal
import sqlite3
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from node import store
from spoor_dev.federation import (
    Agency,
    Federation,
    NodeProcess,
    free_port,
    run_spoor,
    run_spoor_full,
    spoor_command,
)
from tests.store.backends import SchemaPerHome

ROOT = Path(__file__).resolve().parents[2]
DEMO = ROOT / "deploy" / "demo"
POLICIES = ROOT / "deploy" / "policies"
KE = Agency("ke-kws", "KE", "Kenya Wildlife Service")
VN = Agency("vn-customs", "VN", "Viet Nam Customs")

pytestmark = [pytest.mark.e2e, pytest.mark.sqlite]  # the requester stays on its SQLite file


class Replicas:
    def __init__(self, fed: Federation, second: NodeProcess) -> None:
        self.fed = fed
        self.first = fed.nodes[KE.agency_id]
        self.second = second

    def point_requester_at(self, node: NodeProcess) -> None:
        """Viet Nam's peer entry for KWS names this replica's address (a load balancer's choice)."""
        run_spoor(
            [
                "peers",
                "add",
                "--home",
                str(self.fed.home(VN.agency_id)),
                KE.agency_id,
                "--address",
                node.address,
                "--ca",
                str(self.fed.home(KE.agency_id) / "keys" / "ca.crt"),
                "--country",
                KE.country,
            ]
        )

    def match(self) -> dict[str, list[str]]:
        out = run_spoor(
            [
                "match",
                "--home",
                str(self.fed.home(VN.agency_id)),
                str(DEMO / "vn-customs/case-VNC-2026-0147.jsonl"),
                "--json",
                "--purpose",
                "criminal_investigation",
                "--case",
                "CASE/1",
                "--officer",
                "Officer A",
                "--peer",
                KE.agency_id,
                "--legal-basis",
                "KE-VN-MoU-2024",
            ]
        )
        rows = json.loads(out)["rows"]
        return {r["record_id"]: sorted(r["hits"].get(KE.agency_id, [])) for r in rows}


@pytest.fixture
def replicas(tmp_path: Path, postgres_homes: SchemaPerHome | None) -> Iterator[Replicas]:
    if postgres_homes is None:
        pytest.skip("PostgreSQL run only (scripts/test-postgres, part of .ci/run)")
    url = postgres_homes._new_schema().url
    assert url is not None
    fed = Federation(tmp_path / "nodes", (KE, VN))
    fed.create()
    for agency in (KE, VN):
        fed.install_policy(agency.agency_id, POLICIES / agency.agency_id)
    ke_home = str(fed.home(KE.agency_id))
    run_spoor(["store", "migrate", "--home", ke_home, "--to", url])
    run_spoor(
        [
            "records",
            "import",
            "--home",
            ke_home,
            str(DEMO / "ke-kws/persons-register.csv"),
            "--map-file",
            str(DEMO / "ke-kws/persons-register.map.yaml"),
        ]
    )
    run_spoor(["records", "import", "--home", ke_home, str(DEMO / "ke-kws/seizures.jsonl")])
    fed.start()
    second = NodeProcess(KE, fed.home(KE.agency_id), free_port())
    second.log_path = second.home / "serve-2.log"
    with second.log_path.open("ab") as log:
        second.process = subprocess.Popen(
            [*spoor_command(), "serve", "--home", ke_home, "--listen", second.address],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        fed.wait_serving(second, 60)
        yield Replicas(fed, second)
    finally:
        fed.stop()
        if second.process.poll() is None:
            second.process.send_signal(signal.SIGTERM)
            try:
                second.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                second.process.kill()


class TestTwoReplicas:
    def test_lookups_agree_and_survive_a_killed_replica(self, replicas: Replicas) -> None:
        """Both replicas answer alike; after SIGKILL of one the other serves; nothing is lost."""
        replicas.point_requester_at(replicas.first)
        via_first = replicas.match()
        assert "name_dob" in via_first["VNC-P-0001"]
        replicas.point_requester_at(replicas.second)
        assert replicas.match() == via_first
        assert replicas.first.process is not None
        replicas.first.process.send_signal(signal.SIGKILL)
        replicas.first.process.wait(timeout=30)
        assert replicas.match() == via_first
        ke_home = str(replicas.fed.home(KE.agency_id))
        verified = run_spoor_full(["audit", "verify", "--home", ke_home], check=False)
        assert verified.returncode == 0, verified.stdout + verified.stderr
        # Every element Viet Nam sent was charged once, whichever replica answered.
        requester = sqlite3.connect(replicas.fed.home(VN.agency_id) / "node.db")
        try:
            sent = requester.execute(
                "SELECT SUM(elements) FROM matches WHERE peer = ?", (KE.agency_id,)
            ).fetchone()[0]
        finally:
            requester.close()
        with store.opened(replicas.fed.home(KE.agency_id) / "node.db") as conn:
            charged = conn.execute(
                "SELECT SUM(elements) FROM budget_usage WHERE agency_id = ?", (VN.agency_id,)
            ).fetchone()[0]
        assert charged == sent
