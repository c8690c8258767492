"""The signing key: kept apart from the data, and never replaced without an audited command."""

from __future__ import annotations

import os
import shutil
import sqlite3
import stat
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner

import node.store
from node import audit
from node.app.config import load_config, save_config
from node.app.home import NodeHome
from node.audit import keys
from node.cli.audit_cmd import audit as audit_cli
from tests.audit.helpers import record
from tests.audit.witnessing import ORIGIN, make_home

SOFTHSM = Path("/usr/lib/softhsm/libsofthsm2.so")


def _home_with_checkpoint(
    tmp_path: Path,
) -> tuple[audit.Checkpoint, NodeHome, sqlite3.Connection]:
    home = make_home(tmp_path / ORIGIN, ORIGIN, "KE")
    conn = node.store.open_store(home.db_path)
    with node.store.transaction(conn):
        audit.create_first_key(conn, home)
    record(conn, "peer.added", counterpart="vn-ems")
    return audit.write_checkpoint(conn, home), home, conn


class TestKeyLocation:
    def test_key_lives_outside_the_home(self, tmp_path: Path) -> None:
        """A new home's key sits in its own 0700 directory beside the home, never inside it."""
        _cp, home, conn = _home_with_checkpoint(tmp_path)
        path = Path(audit.key_location(home))
        assert path.parent == tmp_path / f"{ORIGIN}-signing"
        assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        assert not any(p.name.endswith(".key") and "audit" in p.name for p in home.root.rglob("*"))
        events = [r[0] for r in conn.execute("SELECT event FROM audit_entries")]
        assert events[0] == "audit.key_created"

    def test_configured_path_is_used(self, tmp_path: Path) -> None:
        """[audit] signing_key puts the key where the operator says."""
        home = make_home(tmp_path / ORIGIN, ORIGIN, "KE")
        config = load_config(home)
        config.audit.signing_key = str(tmp_path / "etc-spoor" / "audit.key")
        save_config(home, config)
        conn = node.store.open_store(home.db_path)
        with node.store.transaction(conn):
            audit.create_first_key(conn, home)
        assert (tmp_path / "etc-spoor" / "audit.key").is_file()

    def test_environment_names_the_key_when_the_config_does_not(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """$SPOOR_AUDIT_SIGNING_KEY (the container's separate key mount) places the key."""
        target = tmp_path / "mounted-keys" / "audit-signing.key"
        monkeypatch.setenv("SPOOR_AUDIT_SIGNING_KEY", str(target))
        home = make_home(tmp_path / ORIGIN, ORIGIN, "KE")
        conn = node.store.open_store(home.db_path)
        with node.store.transaction(conn):
            audit.create_first_key(conn, home)
        assert target.is_file()
        assert audit.node_public_key(home) is not None

    def test_legacy_key_is_read_with_a_warning_and_moved(self, tmp_path: Path) -> None:
        """A key left in keys/ still signs, verify warns, and 'audit key move' moves it apart."""
        cp, home, _conn = _home_with_checkpoint(tmp_path)
        path = Path(audit.key_location(home))
        home.audit_key_path.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(path, home.audit_key_path)
        assert audit.node_public_key(home) == cp.public_key
        runner = CliRunner()
        verified = runner.invoke(audit_cli, ["verify", "--home", str(home.root)])
        assert verified.exit_code == 0, verified.output
        assert "spoor audit key move" in verified.output
        moved = runner.invoke(audit_cli, ["key", "move", "--home", str(home.root)])
        assert moved.exit_code == 0, moved.output
        assert path.is_file()
        assert not home.audit_key_path.exists()
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        again = runner.invoke(audit_cli, ["verify", "--home", str(home.root)])
        assert again.exit_code == 0
        assert "key move" not in again.output


class TestKeyLifecycle:
    def test_missing_key_is_never_replaced_silently(self, tmp_path: Path) -> None:
        """With the key gone, a checkpoint fails clearly and no new key appears."""
        _cp, home, conn = _home_with_checkpoint(tmp_path)
        path = Path(audit.key_location(home))
        path.unlink()
        record(conn, "peer.added", counterpart="th-dnp")
        with pytest.raises(audit.SigningKeyMissingError, match="spoor audit key lost"):
            audit.write_checkpoint(conn, home)
        assert not path.exists()

    def test_lost_key_is_an_audited_hand_over(self, tmp_path: Path) -> None:
        """'audit key lost' records the loss; old and new checkpoints both verify."""
        _cp, home, conn = _home_with_checkpoint(tmp_path)
        Path(audit.key_location(home)).unlink()
        result = CliRunner().invoke(
            audit_cli, ["key", "lost", "--reason", "disk failed", "--home", str(home.root)]
        )
        assert result.exit_code == 0, result.output
        report = audit.verify(conn, node_public_key=audit.node_public_key(home))
        assert report.ok, report.problems
        assert report.checkpoints_checked == 2
        assert any("declared lost" in w for w in report.warnings)

    def test_lost_refused_while_the_key_is_present(self, tmp_path: Path) -> None:
        """A key that is present cannot be declared lost (rotate it instead)."""
        _cp, home, _conn = _home_with_checkpoint(tmp_path)
        result = CliRunner().invoke(
            audit_cli, ["key", "lost", "--reason", "x", "--home", str(home.root)]
        )
        assert result.exit_code == 1
        assert "not lost" in result.output

    def test_rotation_is_endorsed_and_old_checkpoints_still_verify(self, tmp_path: Path) -> None:
        """After a rotation each checkpoint verifies against the key in force at its size."""
        old_cp, home, conn = _home_with_checkpoint(tmp_path)
        result = CliRunner().invoke(audit_cli, ["key", "rotate", "--home", str(home.root)])
        assert result.exit_code == 0, result.output
        new_key = audit.node_public_key(home)
        assert new_key != old_cp.public_key
        report = audit.verify(conn, node_public_key=new_key)
        assert report.ok, report.problems
        shown = CliRunner().invoke(audit_cli, ["key", "show", "--home", str(home.root)])
        assert old_cp.public_key in shown.output
        assert str(new_key) in shown.output

    def test_forged_rotation_is_caught(self, tmp_path: Path) -> None:
        """A rotation entry whose endorsement does not verify is reported."""
        _cp, home, conn = _home_with_checkpoint(tmp_path)
        with node.store.transaction(conn):
            keys.rotate_key(conn, home, actor="cli:test")
        conn.execute(
            'UPDATE audit_entries SET details = replace(details, \'"endorsement":"\', '
            "'\"endorsement\":\"00') WHERE event = 'audit.key_rotated'"
        )
        problems = {p.kind for p in audit.verify(conn).problems}
        assert "bad key rotation" in problems

    def test_swapped_key_file_refuses_to_sign(self, tmp_path: Path) -> None:
        """A different key dropped in place of the node's signs nothing."""
        _cp, home, conn = _home_with_checkpoint(tmp_path)
        path = Path(audit.key_location(home))
        path.unlink()
        keys.new_signer(home)
        with pytest.raises(audit.SigningKeyMismatchError):
            audit.write_checkpoint(conn, home)


@pytest.fixture(scope="session")
def softhsm_token(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """One SoftHSM2 token 'spoor' for the session (the module reads its config once)."""
    assert SOFTHSM.exists(), "softhsm2 is missing: run scripts/bootstrap (installs it as root)"
    root = tmp_path_factory.mktemp("softhsm")
    (root / "tokens").mkdir()
    conf = root / "softhsm2.conf"
    conf.write_text(f"directories.tokendir = {root / 'tokens'}\nobjectstore.backend = file\n")
    command = ["softhsm2-util", "--init-token", "--free", "--label", "spoor"]
    subprocess.run(
        [*command, "--pin", "4711", "--so-pin", "8080"],
        check=True,
        capture_output=True,
        env={**os.environ, "SOFTHSM2_CONF": str(conf)},
    )
    return conf, str(SOFTHSM)


@pytest.fixture
def softhsm(softhsm_token: tuple[Path, str], monkeypatch: pytest.MonkeyPatch) -> str:
    """The session's token with the PIN in the environment only (each test labels its own key)."""
    conf, module = softhsm_token
    monkeypatch.setenv("SOFTHSM2_CONF", str(conf))
    monkeypatch.setenv("SPOOR_PKCS11_PIN", "4711")
    return module


class TestPkcs11:
    def _home(self, tmp_path: Path, module: str) -> NodeHome:
        home = make_home(tmp_path / ORIGIN, ORIGIN, "KE")
        config = load_config(home)
        config.audit.signing_key = f"pkcs11:token=spoor;object={tmp_path.name}"
        config.audit.pkcs11_module = module
        save_config(home, config)
        return home

    def test_checkpoints_signed_in_the_token_verify(self, tmp_path: Path, softhsm: str) -> None:
        """The key is made in the token; checkpoints verify; no key file exists anywhere."""
        home = self._home(tmp_path, softhsm)
        conn = node.store.open_store(home.db_path)
        with node.store.transaction(conn):
            audit.create_first_key(conn, home)
        record(conn, "peer.added", counterpart="vn-ems")
        cp = audit.write_checkpoint(conn, home)
        assert cp.signature_valid()
        assert cp.public_key == audit.node_public_key(home)
        assert audit.verify(conn, node_public_key=cp.public_key).ok
        key_files = list(tmp_path.rglob("*.key"))
        assert key_files == []

    def test_rotation_inside_the_token(self, tmp_path: Path, softhsm: str) -> None:
        """Rotating a token key endorses the new key with the old one; all checkpoints verify."""
        home = self._home(tmp_path, softhsm)
        conn = node.store.open_store(home.db_path)
        with node.store.transaction(conn):
            audit.create_first_key(conn, home)
        first = audit.write_checkpoint(conn, home)
        with node.store.transaction(conn):
            old, new = keys.rotate_key(conn, home, actor="cli:test")
        assert (old, audit.node_public_key(home)) == (first.public_key, new)
        audit.write_checkpoint(conn, home)
        assert audit.verify(conn, node_public_key=new).ok

    def test_file_key_moves_into_the_token_by_rotation(self, tmp_path: Path, softhsm: str) -> None:
        """An existing home switched to a token rotates its file key into it; the file is gone."""
        cp, home, conn = _home_with_checkpoint(tmp_path)
        file_key = Path(audit.key_location(home))
        config = load_config(home)
        config.audit.signing_key = f"pkcs11:token=spoor;object={tmp_path.name}"
        config.audit.pkcs11_module = softhsm
        save_config(home, config)
        assert audit.node_public_key(home) == cp.public_key  # still the file key
        result = CliRunner().invoke(audit_cli, ["key", "rotate", "--home", str(home.root)])
        assert result.exit_code == 0, result.output
        assert not file_key.exists()
        assert audit.verify(conn, node_public_key=audit.node_public_key(home)).ok

    def test_missing_pin_is_a_clear_error(
        self, tmp_path: Path, softhsm: str, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """Without the PIN the node says which variable to set."""
        home = self._home(tmp_path, softhsm)
        monkeypatch.delenv("SPOOR_PKCS11_PIN")
        with pytest.raises(audit.AuditError, match="SPOOR_PKCS11_PIN"):
            keys.load_signer(home)
