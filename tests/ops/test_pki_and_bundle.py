"""Certificate renewal keeps names and pins; onboarding bundles are checked by fingerprint."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from node import pki, store
from node.app.config import load_config
from node.app.home import NodeHome
from node.cli.main import cli
from node.cli.pki_cmd import current_names
from node.peers import get as get_peer
from node.rpc.server import build_node
from tests.conftest import init_node, responder_with_peer, spoor
from tests.rpc.test_server import client_for


@pytest.fixture
def agencies(tmp_path: Path) -> dict[str, Path]:
    return responder_with_peer(tmp_path, [])


def names_of(path: Path) -> tuple[list[str], list[str], str]:
    cert = pki.load_certificate(path.read_bytes())
    return (*current_names(cert), pki.agency_id_from_certificate(cert))


class TestRenew:
    def test_renew_keeps_names_and_changes_the_key(self, tmp_path: Path) -> None:
        """The renewed certificate keeps the agency URI, DNS and IP names; new key, new serial."""
        root = tmp_path / "ke-kws"
        spoor("init", "--home", str(root), "--agency", "ke-kws", "--country", "KE")
        home = NodeHome(root)
        spoor("pki", "issue", "--home", str(root), "--hostname", "spoor.kws.go.ke",
              "--ip", "10.1.2.3")  # fmt: skip
        before = names_of(home.node_cert_path)
        key_before = home.node_key_path.read_bytes()
        serial_before = pki.serial_hex(home.node_cert_path.read_bytes())
        out = spoor("pki", "renew", "--home", str(root))
        assert names_of(home.node_cert_path) == before
        assert before[0] == ["spoor.kws.go.ke"]
        assert before[1] == ["10.1.2.3"]
        assert home.node_key_path.read_bytes() != key_before
        assert home.node_key_path.stat().st_mode & 0o777 == 0o600
        assert pki.serial_hex(home.node_cert_path.read_bytes()) != serial_before
        assert f"was {serial_before}" in out

    def test_counterpart_accepts_the_renewed_certificate(self, agencies: dict[str, Path]) -> None:
        """ke-kws renews while serving, vn-customs renews as a caller: calls still pass."""
        ke = NodeHome(agencies["ke-kws"])
        node = build_node(ke, load_config(ke), listen="127.0.0.1:0")
        try:
            with client_for(agencies, "vn-customs", node.port) as client:
                first = client.describe()
            spoor("pki", "renew", "--home", str(ke.root))
            spoor("pki", "renew", "--home", str(agencies["vn-customs"]))
            with client_for(agencies, "vn-customs", node.port) as client:
                again = client.describe()
        finally:
            node.stop()
        assert again.agency_id == first.agency_id == "ke-kws"


class TestOnboardingBundle:
    def test_bundle_added_with_the_right_fingerprint(self, tmp_path: Path) -> None:
        """export-bundle prints SHA256:<hex>; peers add --bundle with it pins the CA and address."""
        mz = init_node(tmp_path, "mz-pgr", "MZ")
        ke = init_node(tmp_path, "ke-kws", "KE")
        target = tmp_path / "mz.json"
        out = spoor("peers", "export-bundle", "--home", str(mz), "--address",
                    "spoor.pgr.gov.mz:50051", "--out", str(target))  # fmt: skip
        fingerprint = out.rsplit(": ", 1)[1].strip()
        assert fingerprint == "SHA256:" + pki.fingerprint((mz / "keys" / "ca.crt").read_bytes())
        assert "PRIVATE" not in target.read_text()
        spoor("peers", "add", "--home", str(ke), "--bundle", str(target),
              "--fingerprint", fingerprint)  # fmt: skip
        with store.opened(ke / "node.db") as conn:
            peer = get_peer(conn, "mz-pgr")
        assert peer.address == "spoor.pgr.gov.mz:50051"
        assert peer.country == "MZ"
        assert pki.fingerprint(peer.ca_pem.encode()) == fingerprint.removeprefix("SHA256:")

    def test_wrong_fingerprint_is_refused_and_nothing_changes(self, tmp_path: Path) -> None:
        """A bundle whose CA is not the one announced pins nothing and names both fingerprints."""
        mz = init_node(tmp_path, "mz-pgr", "MZ")
        ke = init_node(tmp_path, "ke-kws", "KE")
        rogue = init_node(tmp_path, "zz-rogue", "ZA")
        target = tmp_path / "mz.json"
        spoor("peers", "export-bundle", "--home", str(mz), "--address", "10.0.0.5:50051",
              "--out", str(target))  # fmt: skip
        announced = "SHA256:" + pki.fingerprint((rogue / "keys" / "ca.crt").read_bytes())
        result = CliRunner().invoke(cli, ["peers", "add", "--home", str(ke), "--bundle",
                                          str(target), "--fingerprint", announced])  # fmt: skip
        assert result.exit_code != 0
        assert "nothing was changed" in result.output
        assert announced in result.output
        result = CliRunner().invoke(cli, ["peers", "add", "--home", str(ke), "--bundle",
                                          str(target)])  # fmt: skip
        assert result.exit_code != 0
        assert "--fingerprint is required" in result.output
        with store.opened(ke / "node.db") as conn:
            assert conn.execute("SELECT COUNT(*) FROM peers").fetchone()[0] == 0

    def test_loopback_address_warns(self, tmp_path: Path) -> None:
        """Exporting with the default 127.0.0.1 listen address warns that peers cannot reach it."""
        mz = init_node(tmp_path, "mz-pgr", "MZ")
        result = CliRunner().invoke(
            cli, ["peers", "export-bundle", "--home", str(mz), "--out", str(tmp_path / "b.json")]
        )
        assert result.exit_code == 0
        assert "not an address a counterpart can reach" in result.stderr
