"""Versioned schema: new homes are current, older ones upgrade after a backup, newer refused."""

from __future__ import annotations

import sqlite3
import stat
from pathlib import Path

import pytest
from click.testing import CliRunner

from node import store
from node.cli.main import cli
from node.store import migrations
from node.store.migrations import m0001_baseline
from node.store.migrations.script import run_script
from tests.conftest import init_node
from tests.store.conftest import LEGACY

# About SQLite files themselves: stays on SQLite in a --postgres run.
pytestmark = pytest.mark.sqlite


def schema_of(conn: sqlite3.Connection) -> set[tuple[str, str, str]]:
    rows = conn.execute("SELECT type, name, sql FROM sqlite_master WHERE sql IS NOT NULL")
    return {(str(r[0]), str(r[1]), " ".join(str(r[2]).split())) for r in rows}


def version_of(path: Path) -> int:
    conn = sqlite3.connect(path)
    try:
        row = conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
        return int(row[0]) if row else 0
    finally:
        conn.close()


class TestVersions:
    def test_migrations_are_numbered_from_one_without_gaps(self) -> None:
        """Migration numbers run 1, 2, ... so the recorded version names exactly what ran."""
        assert [m.number for m in migrations.MIGRATIONS] == list(
            range(1, len(migrations.MIGRATIONS) + 1)
        )

    def test_a_new_home_records_the_latest_version(self, tmp_path: Path) -> None:
        """'spoor init' makes a database at the current schema version, mode 0600."""
        home = init_node(tmp_path, "ke-kws", "KE")
        db = home / "node.db"
        assert version_of(db) == migrations.LATEST
        assert stat.S_IMODE(db.stat().st_mode) == 0o600
        assert not list(home.glob("node.db.v*.bak"))  # nothing to back up in a new home

    def test_baseline_is_the_schema_of_the_unversioned_releases(self, tmp_path: Path) -> None:
        """Migration 0001 makes exactly the tables and indexes a 7c84bcd home has."""
        conn = sqlite3.connect(tmp_path / "baseline.db")
        run_script(conn, m0001_baseline.SQL)
        legacy = sqlite3.connect(LEGACY / "ke-kws" / "node.db")
        try:
            assert schema_of(conn) == schema_of(legacy)
        finally:
            conn.close()
            legacy.close()


class TestNewerSchemaRefused:
    @pytest.mark.parametrize(
        "command",
        [
            ["records", "list"],
            ["peers", "list"],
            ["officers", "list"],
            ["approvals", "list"],
            ["audit", "verify"],
            ["serve", "--listen", "127.0.0.1:0"],
        ],
    )
    def test_a_newer_home_is_refused_and_left_untouched(
        self, tmp_path: Path, command: list[str]
    ) -> None:
        """A database from a newer release is named with both versions and not changed."""
        home = init_node(tmp_path, "ke-kws", "KE")
        db = home / "node.db"
        conn = sqlite3.connect(db)
        conn.execute(
            "UPDATE meta SET value = ? WHERE key = 'schema_version'", (str(migrations.LATEST + 5),)
        )
        conn.commit()
        conn.close()
        before = db.read_bytes()
        result = CliRunner().invoke(cli, [*command, "--home", str(home)])
        assert result.exit_code != 0
        assert f"schema version {migrations.LATEST + 5}" in result.output
        assert f"knows versions up to {migrations.LATEST}" in result.output
        assert "Nothing was changed" in result.output
        assert db.read_bytes() == before
        assert not list(home.glob("node.db.v*.bak"))

    def test_open_store_raises_schema_too_new(self, tmp_path: Path) -> None:
        """The store layer itself refuses a newer database with a typed error."""
        db = tmp_path / "node.db"
        store.open_store(db).close()
        conn = sqlite3.connect(db)
        conn.execute("UPDATE meta SET value = '99' WHERE key = 'schema_version'")
        conn.commit()
        conn.close()
        with pytest.raises(store.SchemaTooNew) as info:
            store.open_store(db)
        assert (info.value.found, info.value.known) == (99, migrations.LATEST)
        assert isinstance(info.value, store.StoreError)


# Tables as releases before 83a46ea (records.digest) and dd973ef (ticket_approvals.role)
# made them.
OLD_SHAPES = {
    "records": """CREATE TABLE records (
    rid          INTEGER PRIMARY KEY,
    record_id    TEXT NOT NULL UNIQUE,
    kind         TEXT NOT NULL,
    review_date  TEXT NOT NULL,
    digest       TEXT NOT NULL,
    content      TEXT NOT NULL,
    imported_at  TEXT NOT NULL
)""",
    "ticket_approvals": """CREATE TABLE ticket_approvals (
    id          INTEGER PRIMARY KEY,
    ticket_id   TEXT NOT NULL REFERENCES tickets(ticket_id),
    round       INTEGER NOT NULL,
    officer     TEXT NOT NULL,
    decision    TEXT NOT NULL CHECK (decision IN ('approve', 'deny', 'reopen')),
    note        TEXT,
    at          TEXT NOT NULL
)""",
}


def reshape_as_old(db: Path) -> dict[str, int]:
    """Rewrite tables of a 7c84bcd home into their older shapes, keeping the rows."""
    conn = sqlite3.connect(db)
    conn.execute("PRAGMA foreign_keys=OFF")
    counts = {}
    for table, create in OLD_SHAPES.items():
        cols = [r[1] for r in conn.execute(f"PRAGMA table_info({table})")]
        keep = [c for c in cols if c != "role"]
        conn.execute(f"ALTER TABLE {table} RENAME TO {table}_new")
        conn.execute(create)
        if table == "records":
            conn.execute(
                f"INSERT INTO records ({', '.join(keep)}, digest) "
                f"SELECT {', '.join(keep)}, 'sha256' FROM records_new"
            )
        else:
            conn.execute(
                f"INSERT INTO {table} ({', '.join(keep)}) SELECT {', '.join(keep)} FROM {table}_new"
            )
        conn.execute(f"DROP TABLE {table}_new")
        counts[table] = conn.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]
    conn.execute("CREATE INDEX records_review_date ON records (review_date)")
    conn.commit()
    conn.close()
    return counts


class TestOlderShapes:
    def test_tables_from_before_83a46ea_and_dd973ef_are_upgraded(
        self, legacy_homes: dict[str, Path], tmp_path: Path
    ) -> None:
        """A home with records.digest and no approval role imports records and keeps its rows."""
        home = legacy_homes["ke-kws"]
        counts = reshape_as_old(home / "node.db")
        data = tmp_path / "more.jsonl"
        data.write_text(
            '{"record_id": "KE-NEW-1", "kind": "shipment", "containers": ["MSCU1234566"], '
            '"review_date": "2031-01-01"}\n',
            encoding="utf-8",
        )
        result = CliRunner().invoke(cli, ["records", "import", "--home", str(home), str(data)])
        assert result.exit_code == 0, result.output
        conn = store.open_store(home / "node.db")
        try:
            columns = {
                t: [r[1] for r in conn.execute(f"PRAGMA table_info({t})")]
                for t in ("records", "ticket_approvals")
            }
            assert "digest" not in columns["records"]
            assert "role" in columns["ticket_approvals"]
            assert conn.execute("SELECT COUNT(*) FROM records").fetchone()[0] == (
                counts["records"] + 1
            )
            assert (
                conn.execute("SELECT COUNT(*) FROM ticket_approvals").fetchone()[0]
                == (counts["ticket_approvals"])
            )
            indexes = {
                r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='index'")
            }
            assert {"records_review_date", "match_keys_key"} <= indexes
        finally:
            conn.close()
        assert version_of(home / "node.db") == migrations.LATEST


class TestUpgradeIsAtomic:
    def test_a_failing_migration_leaves_the_old_version_and_a_backup(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """An upgrade that fails half-way changes nothing; the copy taken before it remains."""
        db = tmp_path / "node.db"
        store.open_store(db).close()

        def broken(conn: sqlite3.Connection) -> None:
            conn.execute("CREATE TABLE half_done (x INTEGER)")
            conn.execute("ALTER TABLE no_such_table ADD COLUMN y TEXT")

        step = migrations.Migration(migrations.LATEST + 1, "broken", broken)
        monkeypatch.setattr(migrations, "MIGRATIONS", (*migrations.MIGRATIONS, step))
        monkeypatch.setattr(migrations, "LATEST", step.number)
        with pytest.raises(store.StoreError) as info:
            store.open_store(db)
        assert "nothing was changed" in str(info.value)
        assert version_of(db) == step.number - 1
        conn = sqlite3.connect(db)
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        conn.close()
        assert "half_done" not in tables
        (backup,) = tmp_path.glob(f"node.db.v{step.number - 1}-*.bak")
        assert str(backup) in str(info.value)
        assert stat.S_IMODE(backup.stat().st_mode) == 0o600
        assert version_of(backup) == step.number - 1
