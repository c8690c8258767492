"""The ``spoor pki`` command group."""

from __future__ import annotations

import json
import sqlite3
import stat
from pathlib import Path

import pytest
from click.testing import CliRunner

from node import pki
from node.app.home import NodeHome
from node.audit.verify import verify as audit_verify
from node.cli.pki_cmd import pki as pki_cli
from node.pki import files as pki_files
from node.store import open_store

SUBCOMMANDS = ["init-ca", "issue", "show", "revoke", "export-ca", "export-crl", "fingerprint"]


def _run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(pki_cli, list(args), catch_exceptions=False)
    return result.exit_code, result.output


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def home(tmp_path: Path) -> NodeHome:
    """An empty node home directory."""
    return NodeHome(tmp_path / "ke-kws")


@pytest.fixture
def issued(home: NodeHome) -> NodeHome:
    """A node home with a CA and a node certificate made by the CLI."""
    assert (
        _run("init-ca", "--home", str(home.root), "--agency", "ke-kws", "--country", "KE")[0] == 0
    )
    assert _run("issue", "--home", str(home.root))[0] == 0
    return home


def _initialised(home: NodeHome, agency_id: str = "ke-kws", country: str = "KE") -> None:
    home.root.mkdir(parents=True, exist_ok=True)
    home.config_path.write_text(f'agency_id = "{agency_id}"\ncountry = "{country}"\n')
    open_store(home.db_path).close()


class TestHelp:
    @pytest.mark.parametrize("command", SUBCOMMANDS)
    def test_every_subcommand_has_help(self, command: str) -> None:
        """'spoor pki <command> --help' exits 0 and documents --home."""
        code, out = _run(command, "--help")
        assert code == 0
        assert "Usage: pki " + command in out

    def test_group_lists_every_subcommand(self) -> None:
        """'spoor pki --help' lists all subcommands."""
        code, out = _run("--help")
        assert code == 0
        for command in SUBCOMMANDS:
            assert command in out


class TestInitCaAndIssue:
    def test_key_files_are_mode_0600_and_certificates_0644(self, issued: NodeHome) -> None:
        """Every private key the CLI writes is readable by its owner only."""
        assert _mode(issued.ca_key_path) == 0o600
        assert _mode(issued.node_key_path) == 0o600
        assert _mode(issued.ca_cert_path) == 0o644
        assert _mode(issued.node_cert_path) == 0o644
        assert not list(issued.keys_dir.glob("*.tmp"))

    def test_issued_certificate_chains_to_the_new_ca(self, issued: NodeHome) -> None:
        """The node certificate names the agency and verifies against keys/ca.crt."""
        cert = issued.node_cert_path.read_bytes()
        assert pki.check_peer_certificate(cert, issued.ca_cert_path.read_bytes()) == "ke-kws"

    def test_existing_ca_is_not_overwritten(self, issued: NodeHome) -> None:
        """A second init-ca fails, names --force, and leaves the CA untouched."""
        before = issued.ca_key_path.read_bytes(), issued.ca_cert_path.read_bytes()
        code, out = _run(
            "init-ca", "--home", str(issued.root), "--agency", "ke-kws", "--country", "KE"
        )
        assert code != 0
        assert "--force" in out
        assert (issued.ca_key_path.read_bytes(), issued.ca_cert_path.read_bytes()) == before

    def test_force_replaces_the_ca(self, issued: NodeHome) -> None:
        """With --force a new CA replaces the old one, still mode 0600."""
        before = issued.ca_cert_path.read_bytes()
        code, _ = _run(
            "init-ca",
            "--home",
            str(issued.root),
            "--agency",
            "ke-kws",
            "--country",
            "KE",
            "--force",
        )
        assert code == 0
        assert issued.ca_cert_path.read_bytes() != before
        assert _mode(issued.ca_key_path) == 0o600

    def test_issue_without_a_ca_says_what_to_do(self, home: NodeHome) -> None:
        """Issuing before init-ca fails with the next step and writes no key."""
        code, out = _run("issue", "--home", str(home.root), "--agency", "ke-kws")
        assert code != 0
        assert "spoor pki init-ca" in out
        assert not home.node_key_path.exists()

    def test_invalid_agency_id_changes_nothing(self, home: NodeHome) -> None:
        """A bad agency id is refused before any file is written."""
        code, out = _run("init-ca", "--home", str(home.root), "--agency", "KWS", "--country", "KE")
        assert code != 0
        assert "not a valid agency id" in out
        assert not home.keys_dir.exists()

    def test_names_given_on_the_command_line_are_certified(self, home: NodeHome) -> None:
        """--hostname and --ip replace the loopback defaults."""
        _run("init-ca", "--home", str(home.root), "--agency", "ke-kws", "--country", "KE")
        code, _ = _run(
            "issue", "--home", str(home.root), "--hostname", "spoor.kws.go.ke", "--ip", "10.0.0.7"
        )
        assert code == 0
        code, out = _run("show", "--home", str(home.root))
        assert "DNS:spoor.kws.go.ke" in out
        assert "IP:10.0.0.7" in out
        assert "localhost" not in out

    def test_bad_ip_is_refused_and_keeps_the_old_certificate(self, issued: NodeHome) -> None:
        """A malformed --ip fails and the current node certificate stays in place."""
        before = issued.node_cert_path.read_bytes()
        code, out = _run("issue", "--home", str(issued.root), "--ip", "10.0.0.300")
        assert code != 0
        assert "not an IP address" in out
        assert issued.node_cert_path.read_bytes() == before

    def test_agency_other_than_the_cas_is_refused(self, issued: NodeHome) -> None:
        """A CA issues certificates for its own agency only; nothing is replaced."""
        before = issued.node_cert_path.read_bytes()
        code, out = _run("issue", "--home", str(issued.root), "--agency", "vn-customs")
        assert code != 0
        assert "the agency CA" in out
        assert issued.node_cert_path.read_bytes() == before

    def test_forced_new_ca_asks_for_a_new_node_certificate(self, issued: NodeHome) -> None:
        """Replacing the CA reminds the operator the node certificate must be reissued."""
        code, out = _run(
            "init-ca",
            "--home",
            str(issued.root),
            "--agency",
            "ke-kws",
            "--country",
            "KE",
            "--force",
        )
        assert code == 0
        assert "spoor pki issue" in out
        assert "export-ca" in out

    def test_reissue_names_the_replaced_serial(self, issued: NodeHome) -> None:
        """Rotating the node certificate tells the operator which serial to revoke if needed."""
        old = pki.serial_hex(issued.node_cert_path.read_bytes())
        code, out = _run("issue", "--home", str(issued.root))
        assert code == 0
        assert f"spoor pki revoke {old}" in out


class TestSpoorToml:
    def test_agency_and_country_come_from_spoor_toml(self, home: NodeHome) -> None:
        """Without options, init-ca and issue use the node's configured agency and country."""
        _initialised(home, "vn-customs", "VN")
        assert _run("init-ca", "--home", str(home.root))[0] == 0
        assert _run("issue", "--home", str(home.root))[0] == 0
        cert = home.node_cert_path.read_bytes()
        assert pki.agency_id_from_certificate(cert) == "vn-customs"
        assert "C=VN" in pki.load_certificate(cert).subject.rfc4514_string()

    def test_conflicting_agency_is_refused(self, home: NodeHome) -> None:
        """An --agency that contradicts spoor.toml is refused and nothing is written."""
        _initialised(home, "vn-customs", "VN")
        code, out = _run("init-ca", "--home", str(home.root), "--agency", "ke-kws")
        assert code != 0
        assert "spoor.toml" in out
        assert not home.ca_key_path.exists()

    def test_no_agency_anywhere_is_a_usage_error(self, home: NodeHome) -> None:
        """Without --agency or spoor.toml the command asks for one."""
        code, out = _run("init-ca", "--home", str(home.root), "--country", "KE")
        assert code == 2
        assert "--agency" in out


class TestAudit:
    @pytest.mark.sqlite  # reads node.db with sqlite3
    def test_issuing_records_an_audit_entry_without_key_material(self, home: NodeHome) -> None:
        """An initialised node records certificate.issued with serial, fingerprint and expiry."""
        _initialised(home)
        _run("init-ca", "--home", str(home.root))
        _run("issue", "--home", str(home.root))
        conn = sqlite3.connect(home.db_path)
        rows = conn.execute("SELECT event, details FROM audit_entries ORDER BY seq").fetchall()
        conn.close()
        assert [event for event, _ in rows] == ["certificate.issued", "certificate.issued"]
        kinds = [json.loads(details)["kind"] for _, details in rows]
        assert kinds == ["ca", "node"]
        node_details = json.loads(rows[1][1])
        cert = home.node_cert_path.read_bytes()
        assert node_details["serial"] == pki.serial_hex(cert)
        assert node_details["fingerprint"] == pki.fingerprint(cert)
        assert "PRIVATE KEY" not in rows[1][1]

    @pytest.mark.sqlite  # reads node.db with sqlite3
    def test_failed_write_keeps_old_pair_and_rolls_back_the_entry(
        self, home: NodeHome, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """A failed certificate write keeps the old key and certificate and audits nothing."""
        _initialised(home)
        _run("init-ca", "--home", str(home.root))
        _run("issue", "--home", str(home.root))
        before = home.node_key_path.read_bytes(), home.node_cert_path.read_bytes()

        def broken_disk(path: Path, data: bytes) -> None:
            raise OSError(28, "No space left on device", str(path))

        monkeypatch.setattr(pki_files, "write_public", broken_disk)
        with pytest.raises(OSError, match="No space left"):
            pki.issue_home_certificate(home)
        assert (home.node_key_path.read_bytes(), home.node_cert_path.read_bytes()) == before
        assert not list(home.keys_dir.glob("*.new"))
        conn = sqlite3.connect(home.db_path)
        count = conn.execute("SELECT count(*) FROM audit_entries").fetchone()[0]
        conn.close()
        assert count == 2  # the CA and the first node certificate only

    def test_revoking_records_an_audit_entry_and_the_chain_verifies(self, home: NodeHome) -> None:
        """certificate.revoked lists the serials and reason; the audit chain stays intact."""
        _initialised(home)
        _run("init-ca", "--home", str(home.root))
        assert _run("revoke", "--home", str(home.root), "0A1b", "--reason", "superseded")[0] == 0
        conn = open_store(home.db_path)
        try:
            event, details = conn.execute(
                "SELECT event, details FROM audit_entries ORDER BY seq DESC LIMIT 1"
            ).fetchone()
            assert event == "certificate.revoked"
            assert json.loads(details) == {"serials": ["a1b"], "reason": "superseded"}
            assert audit_verify(conn).ok
        finally:
            conn.close()


class TestShow:
    def test_show_prints_identity_validity_and_fingerprint(self, issued: NodeHome) -> None:
        """'show' prints the agency id, names, serial, fingerprint and chain status."""
        cert = issued.node_cert_path.read_bytes()
        code, out = _run("show", "--home", str(issued.root))
        assert code == 0
        assert "ke-kws" in out
        assert "URI:spoor://agency/ke-kws" in out
        assert pki.serial_hex(cert) in out
        assert pki.fingerprint(cert) in out
        assert "valid until" in out
        assert "PRIVATE" not in out

    def test_show_json_is_machine_readable(self, issued: NodeHome) -> None:
        """'show --json' prints one JSON object with the same facts."""
        code, out = _run("show", "--home", str(issued.root), "--json")
        assert code == 0
        info = json.loads(out)
        assert info["agency_id"] == "ke-kws"
        assert info["chain"] == "ok"

    def test_show_ca(self, issued: NodeHome) -> None:
        """'show --ca' describes the agency CA."""
        code, out = _run("show", "--home", str(issued.root), "--ca", "--json")
        assert code == 0
        assert json.loads(out)["fingerprint_sha256"] == pki.fingerprint(
            issued.ca_cert_path.read_bytes()
        )


class TestRevoke:
    def test_revoke_writes_a_crl_listing_the_serial(self, issued: NodeHome) -> None:
        """Revoking the node's serial writes keys/crl.pem that reports it revoked."""
        cert = issued.node_cert_path.read_bytes()
        code, out = _run("revoke", "--home", str(issued.root), pki.serial_hex(cert))
        assert code == 0
        assert "spoor pki issue" in out
        crl = pki.crl_path(issued).read_bytes()
        assert pki.is_revoked(cert, crl, issued.ca_cert_path.read_bytes())
        code, out = _run("show", "--home", str(issued.root), "--json")
        assert json.loads(out)["revoked"] is True

    def test_bad_serial_revokes_nothing(self, issued: NodeHome) -> None:
        """One malformed serial refuses the whole command and writes no CRL."""
        code, out = _run("revoke", "--home", str(issued.root), "abc123", "not-hex")
        assert code != 0
        assert "nothing was revoked" in out
        assert not pki.crl_path(issued).exists()

    def test_export_crl_after_revoke(self, issued: NodeHome, tmp_path: Path) -> None:
        """'export-crl --out' writes the CRL a counterpart installs."""
        assert _run("export-crl", "--home", str(issued.root))[0] != 0
        _run("revoke", "--home", str(issued.root), "ff")
        out_file = tmp_path / "ke-kws.crl"
        assert _run("export-crl", "--home", str(issued.root), "--out", str(out_file))[0] == 0
        assert pki.revoked_serials(out_file.read_bytes(), issued.ca_cert_path.read_bytes()) == [255]


class TestExportCa:
    def test_export_ca_to_file(self, issued: NodeHome, tmp_path: Path) -> None:
        """'export-ca --out' writes exactly the CA certificate and no key."""
        out_file = tmp_path / "ke-kws-ca.pem"
        code, out = _run("export-ca", "--home", str(issued.root), "--out", str(out_file))
        assert code == 0
        assert out_file.read_bytes() == issued.ca_cert_path.read_bytes()
        assert pki.fingerprint(out_file.read_bytes()) in out

    def test_export_ca_to_stdout(self, issued: NodeHome) -> None:
        """Without --out the CA certificate goes to standard output."""
        result = CliRunner().invoke(pki_cli, ["export-ca", "--home", str(issued.root)])
        assert result.exit_code == 0
        assert result.stdout.encode() == issued.ca_cert_path.read_bytes()
        assert b"PRIVATE" not in result.stdout.encode()


class TestFingerprint:
    def test_fingerprint_of_a_received_ca(self, issued: NodeHome) -> None:
        """A counterpart reads the same fingerprint from the file that export-ca printed."""
        ca = issued.ca_cert_path.read_bytes()
        code, out = _run("fingerprint", str(issued.ca_cert_path))
        assert code == 0
        assert pki.fingerprint(ca) in out
        assert "CA certificate" in out

    def test_node_certificate_is_flagged_as_not_a_ca(self, issued: NodeHome) -> None:
        """A node certificate sent by mistake is called out as unsuitable for pinning."""
        code, out = _run("fingerprint", str(issued.node_cert_path))
        assert code == 0
        assert "not a CA certificate" in out

    def test_garbage_file_is_refused(self, tmp_path: Path) -> None:
        """A file that is not a certificate gives a clear error."""
        junk = tmp_path / "junk.pem"
        junk.write_text("hello")
        code, out = _run("fingerprint", str(junk))
        assert code != 0
        assert "not a readable X.509 certificate" in out
