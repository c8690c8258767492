"""`spoor status` and `spoor doctor`: what they report and the exit codes scripts rely on."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization

from node import peers, store
from node.app.config import load_config
from node.app.home import NodeHome
from node.cli.main import cli
from node.ops import checks
from node.rpc.server import build_node
from node.store import migrations
from tests.conftest import responder_with_peer
from tests.rpc.test_server import client_for
from tests.store.backends import store_dump

HELD: list[dict[str, object]] = [
    {"record_id": "KE-S-1", "kind": "shipment", "containers": ["MSCU1234566"],
     "review_date": "2031-01-01"},
]  # fmt: skip


@pytest.fixture
def agencies(tmp_path: Path) -> dict[str, Path]:
    return responder_with_peer(tmp_path, HELD)


def run_json(command: str, home: Path, *extra: str) -> tuple[int, dict[str, Any]]:
    result = CliRunner().invoke(cli, [command, "--home", str(home), "--json", *extra])
    return result.exit_code, json.loads(result.stdout)


def by_check(doc: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    return {(f["area"], f["name"]): f for f in doc["findings"]}


class TestStatus:
    def test_stopped_node_is_a_warning(self, agencies: dict[str, Path]) -> None:
        """A home nobody serves reports 'not running' and exits 1."""
        code, doc = run_json("status", agencies["ke-kws"])
        assert code == 1
        assert doc["status"] == "warning"
        assert by_check(doc)[("node", "process")]["level"] == "warning"
        store_row = by_check(doc)[("store", "database")]
        assert store_row["data"]["schema_version"] == migrations.LATEST
        assert store_row["data"]["records"] == 1

    def test_serving_node_reports_ready_policy_and_certificates(
        self, agencies: dict[str, Path]
    ) -> None:
        """While serving, status reads /readyz from the ops port and exits 0."""
        home = NodeHome(agencies["ke-kws"])
        node = build_node(home, load_config(home), listen="127.0.0.1:0")
        try:
            code, doc = run_json("status", home.root)
        finally:
            node.stop()
        rows = by_check(doc)
        assert code == 0, doc
        assert rows[("node", "readiness")]["data"]["ready"] is True
        assert rows[("policy", "active")]["data"]["digest"] == node.policies.current().digest
        assert rows[("certificates", "node")]["data"]["days_left"] > 30

    def test_human_table_names_every_area(self, agencies: dict[str, Path]) -> None:
        """Without --json a table lists config, certificates, store and policy, then the verdict."""
        result = CliRunner().invoke(cli, ["status", "--home", str(agencies["ke-kws"])])
        for word in ("config", "certificates", "store", "policy", "overall: warning"):
            assert word in result.output

    def test_newer_schema_is_an_error_and_nothing_changes(self, agencies: dict[str, Path]) -> None:
        """A store from a newer release exits 2 and is left untouched (status never upgrades)."""
        db = agencies["ke-kws"] / "node.db"
        with store.opened(db) as conn, store.transaction(conn):
            migrations.record_version(conn, migrations.LATEST + 1)
        before = _contents(db)
        code, doc = run_json("status", agencies["ke-kws"])
        assert code == 2
        assert by_check(doc)[("store", "database")]["level"] == "error"
        assert _contents(db) == before

    def test_missing_config_is_an_error(self, tmp_path: Path) -> None:
        """A directory that is not a node home exits 2 with the config error."""
        code, doc = run_json("status", tmp_path)
        assert code == 2
        assert "spoor init" in doc["findings"][0]["detail"]


def _contents(db: Path) -> bytes | str:
    """The SQLite file's bytes, or every row of a PostgreSQL store."""
    if store.located(db).engine == "sqlite":
        return db.read_bytes()
    with store.opened(db, check_schema=False) as conn:
        return store_dump(conn)


class TestCertificateExpiry:
    def test_expiry_within_30_days_warns_and_past_errors(self, agencies: dict[str, Path]) -> None:
        """The node certificate is a warning 29 days before expiry and an error after it."""
        home = NodeHome(agencies["ke-kws"])
        rows = {f.name: f for f in checks.check_certificates(home)}
        not_after = datetime.fromisoformat(rows["node"].data["not_after"])
        soon = {
            f.name: f for f in checks.check_certificates(home, now=not_after - timedelta(days=29))
        }
        late = {
            f.name: f for f in checks.check_certificates(home, now=not_after + timedelta(days=1))
        }
        assert rows["node"].level == "ok"
        assert soon["node"].level == "warning"
        assert "spoor pki renew" in soon["node"].detail
        assert late["node"].level == "error"

    def test_key_readable_by_others_is_an_error(self, agencies: dict[str, Path]) -> None:
        """A node key with mode 0644 is reported with the fix."""
        home = NodeHome(agencies["ke-kws"])
        home.node_key_path.chmod(0o644)
        rows = {f.name: f for f in checks.check_certificates(home)}
        assert rows["node.key"].level == "error"
        assert "chmod 600" in rows["node.key"].detail


class TestDoctor:
    def test_reachable_peer_reports_its_version(self, agencies: dict[str, Path]) -> None:
        """Doctor on vn-customs describes ke-kws (serving) and names its software version."""
        ke = NodeHome(agencies["ke-kws"])
        node = build_node(ke, load_config(ke), listen="127.0.0.1:0")
        try:
            client_for(agencies, "vn-customs", node.port).close()  # vn-customs pins ke-kws
            code, doc = run_json("doctor", agencies["vn-customs"], "--peer-timeout", "10")
        finally:
            node.stop()
        peer = by_check(doc)[("peers", "ke-kws")]
        assert peer["level"] == "ok"
        assert peer["data"]["software_version"]
        assert ("disk", str(agencies["vn-customs"])) in by_check(doc)
        assert code == 1  # vn-customs itself is not running: a warning, not an error

    def test_unreachable_peer_is_a_warning(self, agencies: dict[str, Path]) -> None:
        """ke-kws's peer address answers nothing: a warning with the address, exit 1."""
        code, doc = run_json("doctor", agencies["ke-kws"], "--peer-timeout", "1")
        peer = by_check(doc)[("peers", "vn-customs")]
        assert code == 1
        assert peer["level"] == "warning"
        assert "127.0.0.1:9" in peer["detail"]

    def test_stale_peer_crl_warns(self, agencies: dict[str, Path]) -> None:
        """A pinned CRL past its next update is reported as stale; a fresh one is ok."""
        vn_keys = agencies["vn-customs"] / "keys"
        ca_key = serialization.load_pem_private_key((vn_keys / "ca.key").read_bytes(), None)
        ca_cert = x509.load_pem_x509_certificate((vn_keys / "ca.crt").read_bytes())
        now = datetime.now(UTC)
        crl = (
            x509.CertificateRevocationListBuilder()
            .issuer_name(ca_cert.subject)
            .last_update(now - timedelta(days=10))
            .next_update(now - timedelta(days=3))
            .sign(ca_key, hashes.SHA256())  # type: ignore[arg-type]
        )
        with store.opened(agencies["ke-kws"] / "node.db") as conn, store.transaction(conn):
            peers.set_crl(conn, "vn-customs", crl.public_bytes(serialization.Encoding.PEM).decode())
        home = NodeHome(agencies["ke-kws"])
        rows = {f.name: f for f in checks.check_crls(home)}
        assert rows["vn-customs"].level == "warning"
        assert "stale" in rows["vn-customs"].detail
        assert rows["vn-customs"].data["age_days"] == 10
        fresh = {f.name: f for f in checks.check_crls(home, now=now - timedelta(days=5))}
        assert fresh["vn-customs"].level == "ok"
