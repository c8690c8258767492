"""`spoor backup` / `spoor restore`: consistent while serving, private, verified on restore."""

from __future__ import annotations

import tarfile
from pathlib import Path

import pytest
from click.testing import CliRunner

from node import audit, store
from node.app.config import load_config
from node.app.home import NodeHome
from node.cli.main import cli
from node.ops.backup import BackupError, create_backup, restore_backup
from node.rpc.server import build_node
from node.store import records as records_repo
from tests.conftest import responder_with_peer, spoor
from tests.rpc.test_server import client_for

HELD: list[dict[str, object]] = [
    {"record_id": f"KE-S-{i}", "kind": "shipment", "containers": [c], "review_date": "2031-01-01"}
    for i, c in enumerate(["MSCU1234566", "TGHU7654321"])
]


@pytest.fixture
def agencies(tmp_path: Path) -> dict[str, Path]:
    return responder_with_peer(tmp_path, HELD)


def run(*args: str, input: str | None = None) -> tuple[int, str]:
    result = CliRunner().invoke(cli, list(args), input=input)
    return result.exit_code, result.output


# spoor backup/restore copy an SQLite file; a PostgreSQL home is pg_dump's (TestPostgresHome).
@pytest.mark.sqlite
class TestBackup:
    def test_backup_while_serving_restores_and_verifies(
        self, agencies: dict[str, Path], tmp_path: Path
    ) -> None:
        """A backup taken while the node answers calls restores to a home that verifies."""
        home = NodeHome(agencies["ke-kws"])
        node = build_node(home, load_config(home), listen="127.0.0.1:0")
        try:
            with client_for(agencies, "vn-customs", node.port) as client:
                client.describe()
                out = spoor("backup", "--home", str(home.root), "--out", str(tmp_path))
                client.describe()
        finally:
            node.stop()
        (backup,) = tmp_path.glob("ke-kws-*.spoor-backup")
        assert "2 records, 1 peers" in out
        assert backup.stat().st_mode & 0o777 == 0o600
        target = tmp_path / "restored"
        restored = spoor("restore", str(backup), "--home", str(target))
        assert "verified" in restored
        with store.opened(target / "node.db") as conn:
            assert records_repo.count(conn) == 2
            assert audit.verify(conn).ok
            events = [row["event"] for row in conn.execute("SELECT event FROM audit_entries")]
        assert events[-2:] == ["node.backed_up", "node.restored"]
        assert (target / "keys" / "node.key").stat().st_mode & 0o777 == 0o600
        assert (target / "node.db").stat().st_mode & 0o777 == 0o600
        assert load_config(NodeHome(target)).agency_id == "ke-kws"

    def test_plain_backup_is_a_consistent_database_copy(
        self, agencies: dict[str, Path], tmp_path: Path
    ) -> None:
        """The archive holds the manifest, the database, config, keys and policy, no WAL files."""
        out = tmp_path / "b.spoor-backup"
        create_backup(agencies["ke-kws"], "ke-kws", out)
        with tarfile.open(out) as tar:
            names = set(tar.getnames())
        assert {"manifest.json", "node.db", "spoor.toml", "keys/node.key", "policy"} <= names
        assert not any(n.endswith(("-wal", "-shm")) for n in names)

    def test_encrypted_backup_needs_its_passphrase(
        self, agencies: dict[str, Path], tmp_path: Path
    ) -> None:
        """With a passphrase the file is ciphertext; a wrong one restores nothing."""
        secret = tmp_path / "pass"
        secret.write_text("correct horse battery staple\n")
        out = tmp_path / "e.spoor-backup"
        spoor("backup", "--home", str(agencies["ke-kws"]), "--out", str(out),
              "--passphrase-file", str(secret))  # fmt: skip
        blob = out.read_bytes()
        assert b"MSCU1234566" not in blob
        assert b"BEGIN" not in blob  # no PEM key in the clear
        assert not tarfile.is_tarfile(out)
        with pytest.raises(BackupError, match="passphrase is wrong"):
            restore_backup(out, tmp_path / "x", passphrase="wrong")
        assert not (tmp_path / "x").exists()
        code, output = run("restore", str(out), "--home", str(tmp_path / "y"),
                           "--passphrase-file", str(secret))  # fmt: skip
        assert code == 0, output
        with store.opened(tmp_path / "y" / "node.db") as conn:
            assert records_repo.count(conn) == 2

    def test_restore_refuses_a_home_that_is_not_empty(
        self, agencies: dict[str, Path], tmp_path: Path
    ) -> None:
        """Restoring over an existing home is refused and the home is left as it was."""
        out = tmp_path / "b.spoor-backup"
        create_backup(agencies["ke-kws"], "ke-kws", out)
        before = (agencies["vn-customs"] / "node.db").read_bytes()
        code, output = run("restore", str(out), "--home", str(agencies["vn-customs"]))
        assert code != 0
        assert "not empty" in output
        assert (agencies["vn-customs"] / "node.db").read_bytes() == before

    def test_tampered_backup_fails_verification_and_leaves_nothing(
        self, agencies: dict[str, Path], tmp_path: Path
    ) -> None:
        """A backup whose database lost a record no longer matches its manifest: refused."""
        out = tmp_path / "b.spoor-backup"
        create_backup(agencies["ke-kws"], "ke-kws", out)
        work = tmp_path / "work"
        with tarfile.open(out) as tar:
            tar.extractall(work, filter="data")
        with store.opened(work / "node.db", check_schema=False) as conn:
            records_repo.delete(conn, "KE-S-0")
        tampered = tmp_path / "t.spoor-backup"
        with tarfile.open(tampered, "w") as tar:
            for name in sorted(p.name for p in work.iterdir()):
                tar.add(work / name, arcname=name)
        with pytest.raises(BackupError, match="does not match its manifest"):
            restore_backup(tampered, tmp_path / "restored")
        assert not (tmp_path / "restored").exists()
        assert not list(tmp_path.glob(".restored-restore-*"))

    def test_archive_with_paths_outside_the_home_is_refused(self, tmp_path: Path) -> None:
        """An archive naming ../ or unknown entries is refused before anything is written."""
        evil = tmp_path / "evil.spoor-backup"
        (tmp_path / "payload").write_text("x")
        with tarfile.open(evil, "w") as tar:
            tar.add(tmp_path / "payload", arcname="../escape")
        with pytest.raises(BackupError, match="unexpected entries"):
            restore_backup(evil, tmp_path / "restored")
        assert not (tmp_path.parent / "escape").exists()


@pytest.mark.sqlite  # the home is put on PostgreSQL by $SPOOR_STORE_URL, whatever the run
class TestPostgresHome:
    URL = "postgresql://spoor:secret@127.0.0.1:9/spoor"

    def test_backup_refuses_and_names_pg_dump(
        self, agencies: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """Backing up a PostgreSQL home says to use pg_dump, hides the password, writes nothing."""
        monkeypatch.setenv("SPOOR_STORE_URL", self.URL)
        out = tmp_path / "b.spoor-backup"
        code, output = run("backup", "--home", str(agencies["ke-kws"]), "--out", str(out))
        assert code != 0
        assert "pg_dump" in output
        assert "docs/operators.md" in output
        assert "secret" not in output
        assert not out.exists()

    def test_restore_into_a_postgres_home_refuses_and_names_pg_restore(
        self, agencies: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """A restore whose home would be on PostgreSQL is refused before anything is unpacked."""
        backup = tmp_path / "b.spoor-backup"
        spoor("backup", "--home", str(agencies["ke-kws"]), "--out", str(backup))
        monkeypatch.setenv("SPOOR_STORE_URL", self.URL)
        target = tmp_path / "restored"
        code, output = run("restore", str(backup), "--home", str(target))
        assert code != 0
        assert "pg_restore" in output
        assert not target.exists() or not any(target.iterdir())
