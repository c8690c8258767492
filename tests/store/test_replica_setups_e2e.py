"""Two ``spoor serve`` replicas share one agency's held setups (PostgreSQL).

Kenya Wildlife Service runs two replicas on one PostgreSQL schema; Viet Nam
Customs (running, so ``spoor match`` goes through its held setups) syncs from
one replica and looks up on the other, then on the survivor after the
leader is killed with SIGKILL. The epoch secrets pass between the replicas
over the replica service and are looked for afterwards in the home, a
``pg_dump`` of the database, the audit trail and the logs.
"""

from __future__ import annotations

import glob
import json
import os
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest
from spoor.replicas.v1 import replicas_pb2 as rp
from spoor.replicas.v1 import replicas_pb2_grpc as rp_grpc

from node import pki, store
from node.app.config import load_config, save_config
from node.app.home import NodeHome
from node.store import held_setups
from spoor_dev.federation import Federation, NodeProcess, free_port, run_spoor, spoor_command
from tests.store.backends import SchemaPerHome
from tests.store.test_replicas_e2e import DEMO, KE, POLICIES, VN, Replicas

pytestmark = [pytest.mark.e2e, pytest.mark.sqlite]  # the requester stays on its SQLite file


def small_setups(home: Path) -> None:
    """Few shards and quick refreshes and syncs, so builds and failover take seconds."""
    h = NodeHome(home)
    config = load_config(h)
    config.setups.base_shards = 4
    config.setups.delta_shards = 2
    config.setups.refresh_seconds = 0.3
    config.setups.sync_seconds = 0.3
    config.setups.build_workers = 1
    save_config(h, config)


class Shared(Replicas):
    """The two replicas, the requester, and ways to read what each replica did."""

    def __init__(self, fed: Federation, second: NodeProcess, base_url: str) -> None:
        super().__init__(fed, second)
        self.base_url = base_url
        self.ke = fed.home(KE.agency_id)

    def log_of(self, node: NodeProcess) -> list[dict[str, object]]:
        assert node.log_path is not None
        out = []
        for line in node.log_path.read_text(errors="replace").splitlines():
            if line.startswith("{"):
                try:
                    out.append(json.loads(line))
                except json.JSONDecodeError:
                    continue
        return out

    def count(self, node: NodeProcess, event: str, **fields: object) -> int:
        return sum(
            1
            for entry in self.log_of(node)
            if entry.get("event") == event and all(entry.get(k) == v for k, v in fields.items())
        )

    def leader_address(self) -> str | None:
        with store.opened(self.ke / "node.db") as conn:
            rows = held_setups.endpoints(conn, "0")
        leaders = [address for _, address, leads in rows if leads]
        return leaders[0] if leaders else None

    def held_served(self) -> int:
        with store.opened(self.ke / "node.db") as conn:
            rows = conn.execute(
                "SELECT details FROM audit_entries WHERE event = 'match.served'"
            ).fetchall()
        return sum(1 for (d,) in rows if json.loads(d).get("held_setups"))

    def refused(self) -> int:
        with store.opened(self.ke / "node.db") as conn:
            return int(
                conn.execute(
                    "SELECT COUNT(*) FROM audit_entries WHERE event = 'match.refused'"
                ).fetchone()[0]
            )

    def match_held(self) -> dict[str, list[str]]:
        """A match answered from held setups (waits, bounded, for the first build and sync)."""
        before = self.held_served()
        deadline = time.monotonic() + 90
        while True:
            result = self.match()
            if self.held_served() > before:
                return result
            assert time.monotonic() < deadline, "no lookup was answered from held setups"
            time.sleep(0.5)

    def secrets_stub(
        self, home: Path, address: str
    ) -> tuple[grpc.Channel, rp_grpc.ReplicaServiceStub]:
        """A replica-service stub presenting ``home``'s certificate, trusting KWS's CA."""
        keys = home / "keys"
        creds = grpc.ssl_channel_credentials(
            root_certificates=(self.ke / "keys" / "ca.crt").read_bytes(),
            private_key=(keys / "node.key").read_bytes(),
            certificate_chain=(keys / "node.crt").read_bytes(),
        )
        channel = grpc.secure_channel(
            address, creds, [("grpc.ssl_target_name_override", pki.agency_dns_name(KE.agency_id))]
        )
        return channel, rp_grpc.ReplicaServiceStub(channel)

    def epoch_secrets(self, address: str) -> list[rp.EpochSecret]:
        """The secrets the replica at ``address`` holds, asked with KWS's own certificate."""
        with store.opened(self.ke / "node.db") as conn:
            ids = [g.epoch_id for g in held_setups.generations(conn)]
        channel, stub = self.secrets_stub(self.ke, address)
        with channel:
            return list(
                stub.GetEpochSecrets(rp.GetEpochSecretsRequest(epoch_ids=ids), timeout=10).epochs
            )


@pytest.fixture
def shared(tmp_path: Path, postgres_homes: SchemaPerHome | None) -> Iterator[Shared]:
    if postgres_homes is None:
        pytest.skip("PostgreSQL run only (scripts/test-postgres, part of .ci/run)")
    url = postgres_homes._new_schema().url
    assert url is not None
    fed = Federation(tmp_path / "nodes", (KE, VN))
    fed.create()
    for agency in (KE, VN):
        fed.install_policy(agency.agency_id, POLICIES / agency.agency_id)
        small_setups(fed.home(agency.agency_id))
    ke_home = str(fed.home(KE.agency_id))
    run_spoor(["store", "migrate", "--home", ke_home, "--to", url])
    run_spoor(["records", "import", "--home", ke_home, str(DEMO / "ke-kws/persons-register.csv"),
               "--map-file", str(DEMO / "ke-kws/persons-register.map.yaml")])  # fmt: skip
    run_spoor(["records", "import", "--home", ke_home, str(DEMO / "ke-kws/seizures.jsonl")])
    fed.start()
    second = NodeProcess(KE, fed.home(KE.agency_id), free_port())
    second.log_path = second.home / "serve-2.log"
    with second.log_path.open("ab") as log:
        second.process = subprocess.Popen(
            [*spoor_command(), "serve", "--home", ke_home, "--listen", second.address,
             "--log-json"],
            stdout=log, stderr=subprocess.STDOUT,
            env={"SPOOR_OPS_LISTEN": "127.0.0.1:0", **os.environ, "PYTHONUNBUFFERED": "1"},
        )  # fmt: skip
    try:
        fed.wait_serving(second, 60)
        yield Shared(fed, second, postgres_homes.url)
    finally:
        fed.stop()
        if second.process.poll() is None:
            second.process.send_signal(signal.SIGTERM)
            try:
                second.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                second.process.kill()


def _kill(node: NodeProcess) -> None:
    assert node.process is not None
    node.process.send_signal(signal.SIGKILL)
    node.process.wait(timeout=30)


def _wait_for(what: str, check: object, timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    while not check():  # type: ignore[operator]
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.3)


def _pg_dump(url: str) -> bytes:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_dump"))
    binary = found[-1] if found else shutil.which("pg_dump")
    assert binary, "pg_dump is not installed"
    return subprocess.run(
        [binary, "--dbname", url], check=True, capture_output=True, timeout=120
    ).stdout


class TestSharedHeldSetups:
    def test_built_once_synced_on_one_answered_on_the_other_and_after_the_leader_dies(
        self, shared: Shared
    ) -> None:
        """One build; a requester synced from one replica is answered by the other without a
        re-sync or a refusal, and still after SIGKILL of the leader."""
        _wait_for("a leader", lambda: shared.leader_address() is not None)
        leader_addr = shared.leader_address()
        leader, follower = (
            (shared.first, shared.second)
            if leader_addr == shared.first.address
            else (shared.second, shared.first)
        )
        assert leader_addr == leader.address
        shared.point_requester_at(leader)
        via_leader = shared.match_held()
        assert "name_dob" in via_leader["VNC-P-0001"]
        assert shared.count(leader, "held setups published") >= 1
        assert shared.count(leader, "rpc", method="SyncSetups", status="OK") >= 1
        assert shared.count(follower, "held setups published") == 0
        with store.opened(shared.ke / "node.db") as conn:
            (generation,) = held_setups.generations(conn)

        shared.point_requester_at(follower)
        served_before, refused_before = shared.held_served(), shared.refused()
        assert shared.match() == via_leader
        assert shared.held_served() > served_before
        assert shared.refused() == refused_before
        assert shared.count(follower, "rpc", method="MatchHeld", status="OK") >= 1
        assert shared.count(follower, "rpc", method="SyncSetups") == 0
        assert shared.count(follower, "held setups published") == 0

        _kill(leader)
        _wait_for("the survivor to lead", lambda: shared.leader_address() == follower.address)
        _wait_for("the survivor to adopt", lambda: shared.count(follower, "held setups adopted"))
        assert shared.count(follower, "held setups adopted", unchanged=True) == 1
        served_before = shared.held_served()
        assert shared.match() == via_leader
        assert shared.held_served() > served_before
        assert shared.refused() == refused_before
        assert shared.count(follower, "rpc", method="SyncSetups") == 0
        with store.opened(shared.ke / "node.db") as conn:
            (after,) = held_setups.generations(conn)
        assert (after.epoch_id, after.generation) == (generation.epoch_id, generation.generation)

    def test_only_the_agencys_own_certificate_gets_epoch_secrets_and_they_stay_off_disk(
        self, shared: Shared
    ) -> None:
        """A counterpart's certificate is refused and audited; the key is nowhere on disk."""
        shared.point_requester_at(shared.second)
        shared.match_held()
        _wait_for("a leader", lambda: shared.leader_address() is not None)
        (secret,) = shared.epoch_secrets(shared.second.address)
        key, padding = bytes(secret.server_key), bytes(secret.padding_secret)
        assert len(key) == 32
        assert [bytes(s.server_key) for s in shared.epoch_secrets(shared.first.address)] == [key]

        channel, stub = shared.secrets_stub(shared.fed.home(VN.agency_id), shared.first.address)
        with channel, pytest.raises(grpc.RpcError) as refused:
            stub.GetEpochSecrets(rp.GetEpochSecretsRequest(epoch_ids=[secret.epoch_id]), timeout=10)
        assert refused.value.code() == grpc.StatusCode.PERMISSION_DENIED
        with store.opened(shared.ke / "node.db") as conn:
            audited = [
                json.loads(d)
                for (d,) in conn.execute(
                    "SELECT details FROM audit_entries WHERE event = 'auth.refused'"
                ).fetchall()
            ]
        assert any("NotASibling" in json.dumps(d) for d in audited), audited

        shared.fed.stop()
        assert shared.second.process is not None
        shared.second.process.send_signal(signal.SIGTERM)
        shared.second.process.wait(timeout=30)
        # The audit trail, exported into the home, is searched with the rest of it.
        run_spoor(["audit", "export", "--home", str(shared.ke)])
        needles = [
            n for s in (key, padding) for n in (s, s.hex().encode(), s.hex().upper().encode())
        ]
        searched = 0
        for home in (shared.ke, shared.fed.home(VN.agency_id)):
            for path in home.rglob("*"):
                if path.is_file():
                    searched += 1
                    data = path.read_bytes()
                    assert not any(n in data for n in needles), f"an epoch secret is in {path}"
        assert searched > 5
        assert list((shared.ke / "exports").glob("audit-*.jsonl"))
        dump = _pg_dump(shared.base_url)
        assert b"held_generations" in dump
        assert not any(n in dump for n in needles), "an epoch secret is in the database dump"
