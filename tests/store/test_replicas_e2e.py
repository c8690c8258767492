"""Two ``spoor serve`` replicas of one agency on one PostgreSQL database.

Kenya Wildlife Service runs two replicas (same home, same identity, same
store); Viet Nam Customs matches against one, then the other, then against
the survivor after the first is killed with SIGKILL.
"""

from __future__ import annotations

import json
import re
import signal
import sqlite3
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from node import store
from node.app.config import NodeConfig
from spoor_dev import generate
from spoor_dev.demo_disclosure import latest_match
from spoor_dev.federation import (
    Agency,
    Federation,
    NodeProcess,
    free_port,
    run_spoor,
    run_spoor_full,
    spoor_command,
)
from spoor_dev.officers import OfficerKeys
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


def load_config_limit() -> int:
    """The per-request element limit of the replicas (the default configuration)."""
    return NodeConfig(agency_id=KE.agency_id, country=KE.country).limits.max_elements_per_request


def _kill(node: NodeProcess) -> None:
    assert node.process is not None
    node.process.send_signal(signal.SIGKILL)
    node.process.wait(timeout=30)


def _trail_verifies(replicas: Replicas) -> None:
    ke_home = str(replicas.fed.home(KE.agency_id))
    verified = run_spoor_full(["audit", "verify", "--home", ke_home], check=False)
    assert verified.returncode == 0, verified.stdout + verified.stderr


class TestKilledReplica:
    def test_a_ticket_opened_on_a_killed_replica_is_approved_and_fetched_via_the_other(
        self, replicas: Replicas
    ) -> None:
        """SIGKILL mid-approval: the open ticket survives, is decided once, released via B."""
        vn, ke = str(replicas.fed.home(VN.agency_id)), str(replicas.fed.home(KE.agency_id))
        replicas.point_requester_at(replicas.first)
        replicas.match()
        match_id = latest_match(Path(vn), KE.agency_id)
        run_spoor(["disclose", "request", "--home", vn, "--match", match_id, "--row", "1",
                   "--justification", "Suspect tied to the Hai Phong pangolin-scale seizure",
                   "--charge", "wildlife_trafficking",
                   "--fields", "identity,date_of_birth"])  # fmt: skip
        pending = json.loads(run_spoor(["approvals", "list", "--home", ke, "--json"]))
        tickets = pending["tickets"] if isinstance(pending, dict) else pending
        (ticket,) = tickets
        _kill(replicas.first)  # the replica that opened the ticket is gone
        keys = OfficerKeys()
        keys.enrol(lambda *a, env: run_spoor(list(a), env=env), "Adv. Njeri Wambui",
                   "legal_officer", ke)  # fmt: skip
        officer = "Adv. Njeri Wambui"
        run_spoor(["approvals", "approve", str(ticket["ticket_id"]), "--home", ke,
                   "--officer", officer], env=keys.env(officer))  # fmt: skip
        replicas.point_requester_at(replicas.second)
        fetched = run_spoor(["disclose", "fetch", "--home", vn])
        released = re.search(r"(\d+) released item\(s\) fetched", fetched)
        assert released, fetched
        assert int(released.group(1)) >= 1
        after = json.loads(run_spoor(["approvals", "list", "--home", ke, "--json"]))
        assert (after["tickets"] if isinstance(after, dict) else after) == []
        with store.opened(replicas.fed.home(KE.agency_id) / "node.db") as conn:
            decided = conn.execute(
                "SELECT COUNT(*) FROM audit_entries WHERE event = 'disclosure.approved'"
            ).fetchone()[0]
        assert decided == 1
        _trail_verifies(replicas)

    def test_a_replica_killed_mid_match_loses_nothing_and_charges_each_request_once(
        self, replicas: Replicas, tmp_path: Path
    ) -> None:
        """SIGKILL while a match is being computed: the other replica answers the retry; every
        request that was charged is charged exactly once; the trail verifies."""
        big = tmp_path / "big-case.jsonl"
        generate.write(big, generate.rows(3000, seed=3, agency="VNC", country="VN"))
        ke_db = replicas.fed.home(KE.agency_id) / "node.db"

        def claimed() -> int:
            with store.opened(ke_db) as conn:
                return int(
                    conn.execute(
                        "SELECT COUNT(*) FROM used_request_ids WHERE peer = ? AND rpc = 'Match'",
                        (VN.agency_id,),
                    ).fetchone()[0]
                )

        replicas.point_requester_at(replicas.first)
        before = claimed()
        running = subprocess.Popen(
            [*spoor_command(), "match", "--home", str(replicas.fed.home(VN.agency_id)),
             str(big), "--json", "--purpose", "criminal_investigation", "--case", "CASE/2",
             "--officer", "Officer A", "--peer", KE.agency_id, "--legal-basis",
             "KE-VN-MoU-2024"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        deadline = time.monotonic() + 120
        while claimed() == before and running.poll() is None and time.monotonic() < deadline:
            time.sleep(0.02)
        _kill(replicas.first)  # a request of the match is claimed and charged: mid-match
        running.communicate(timeout=120)
        replicas.point_requester_at(replicas.second)
        assert "name_dob" in replicas.match()["VNC-P-0001"]  # the survivor serves
        _trail_verifies(replicas)
        with store.opened(ke_db) as conn:
            charged = int(
                conn.execute(
                    "SELECT SUM(elements) FROM budget_usage WHERE agency_id = ?", (VN.agency_id,)
                ).fetchone()[0]
            )
            served = conn.execute(
                "SELECT elements, details FROM audit_entries"
                " WHERE event = 'match.served' AND counterpart = ?",
                (VN.agency_id,),
            ).fetchall()
        # The survivor may answer from the setups the killed leader published (a held
        # lookup, which claims no Match request id): one-shot answers match the claims.
        one_shot = [e for e, d in served if not json.loads(d).get("held_setups")]
        # Every answered request was charged once; at most the one request the killed
        # replica had claimed and charged went unanswered (it stays charged, never twice).
        unanswered = claimed() - len(one_shot)
        assert unanswered in (0, 1)
        answered = sum(int(e) for e, _ in served)
        assert 0 <= charged - answered <= unanswered * load_config_limit()
