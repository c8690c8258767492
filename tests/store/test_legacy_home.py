"""Homes written by the code of commit 7c84bcd keep working after the upgrade."""

from __future__ import annotations

import json
import re
import sqlite3
import stat
from datetime import UTC, datetime
from pathlib import Path

import pyotp
import pytest
from click.testing import CliRunner

from node import store
from node.app.config import load_config
from node.app.home import NodeHome
from node.app.policy_holder import PolicyHolder
from node.cli.main import cli
from node.disclosure import DisclosureResponder, requester
from node.match.context import request_context
from node.rpc.server import build_node
from node.store import migrations
from tests.disclosure.helpers import DirectChannel

# About SQLite files themselves: stays on SQLite in a --postgres run.
pytestmark = pytest.mark.sqlite


def snapshot(db: Path) -> dict[str, list[tuple[object, ...]]]:
    """Every row of every table, as the old code left them."""
    conn = sqlite3.connect(db)
    try:
        tables = [
            str(r[0])
            for r in conn.execute(
                "SELECT name FROM sqlite_master WHERE type='table' AND name NOT LIKE 'sqlite_%'"
            )
        ]
        return {t: sorted(map(tuple, conn.execute(f"SELECT * FROM {t}")), key=repr) for t in tables}
    finally:
        conn.close()


def run(*args: str) -> str:
    result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    assert result.exit_code == 0, f"spoor {' '.join(args)} failed:\n{result.output}"
    return result.output


class TestLegacyHome:
    def test_serve_and_commands_upgrade_and_nothing_is_lost(
        self, legacy_homes: dict[str, Path], tmp_path: Path
    ) -> None:
        """After the upgrade every old row is still there, records import, approvals record,
        and every audit trail verifies."""
        ke, vn = legacy_homes["ke-kws"], legacy_homes["vn-customs"]
        before = {agency: snapshot(home / "node.db") for agency, home in legacy_homes.items()}

        # 'spoor serve' upgrades the responder's home before it serves.
        ke_home = NodeHome(ke)
        node = build_node(ke_home, load_config(ke_home), listen="127.0.0.1:0")
        node.stop()
        (backup,) = ke.glob("node.db.v0-*.bak")
        assert stat.S_IMODE(backup.stat().st_mode) == 0o600
        assert snapshot(backup) == before["ke-kws"]

        # Every other command upgrades too; records import into the old home.
        data = tmp_path / "more.jsonl"
        data.write_text(
            '{"record_id": "KE-NEW-1", "kind": "shipment", "containers": ["MSCU1234566"], '
            '"review_date": "2031-01-01"}\n',
            encoding="utf-8",
        )
        run("records", "import", "--home", str(ke), str(data))
        run("records", "show", "--home", str(ke), "KE-NEW-1")

        # A new follow-up on an old match reaches the old responder; an officer approves.
        with store.opened(vn / "node.db") as vn_conn, store.opened(ke / "node.db") as ke_conn:
            match_id = str(
                vn_conn.execute(
                    "SELECT match_id FROM matches WHERE peer = 'ke-kws' AND reveal = 'intersection'"
                ).fetchone()[0]
            )
            policies = PolicyHolder(ke / "policy", ke / "node.db")
            policies.load_initial()
            service = DisclosureResponder(load_config(ke_home), ke / "node.db", policies)
            hits = requester.select_hits(vn_conn, match_id)
            requester.send_request(
                vn_conn,
                DirectChannel(service),
                hits,
                request_context(
                    requester="vn-customs",
                    now=datetime.now(UTC),
                    purpose="criminal_investigation",
                    legal_basis=str(
                        vn_conn.execute(
                            "SELECT legal_basis FROM matches WHERE match_id = ?", (match_id,)
                        ).fetchone()[0]
                    ),
                    case_reference="VN-HCM-2026-044",
                    officer="Insp. Tran Thi Mai",
                    justification="Suspect tied to the Hai Phong seizure, asked again",
                    potential_charges=("wildlife_trafficking",),
                    requested_fields=("identity", "documents"),
                    justification_required=True,
                    fields_required=True,
                ),
            )
            pending = [
                str(r[0])
                for r in ke_conn.execute("SELECT ticket_id FROM tickets WHERE status = 'pending'")
            ]
            officers = [
                str(r[0]) for r in ke_conn.execute("SELECT name FROM officers ORDER BY name")
            ]
        assert pending, "the follow-up should wait for a KWS officer"
        listed = json.loads(run("approvals", "list", "--home", str(ke), "--json"))
        assert pending[0] in {t["ticket_id"] for t in listed}
        # Officers of an older home have no credentials yet: each is enrolled once
        # ('officers reset'), then approves with password and TOTP code.
        for officer in officers:
            enrolled = CliRunner().invoke(
                cli,
                ["officers", "reset", officer, "--home", str(ke)],
                env={"SPOOR_OFFICER_PASSWORD": "a long enough passphrase"},
            )
            assert enrolled.exit_code == 0, enrolled.output
            secret = re.search(r"TOTP secret: ([A-Z2-7]+)", enrolled.output)
            assert secret is not None
            CliRunner().invoke(
                cli,
                ["approvals", "approve", pending[0], "--officer", officer, "--home", str(ke)],
                env={
                    "SPOOR_OFFICER_PASSWORD": "a long enough passphrase",
                    "SPOOR_OFFICER_TOTP": pyotp.TOTP(secret.group(1)).now(),
                },
            )
        with store.opened(ke / "node.db") as conn:
            actions = conn.execute(
                "SELECT officer, role FROM ticket_approvals WHERE ticket_id = ?", (pending[0],)
            ).fetchall()
            status = conn.execute(
                "SELECT status FROM tickets WHERE ticket_id = ?", (pending[0],)
            ).fetchone()[0]
        assert actions
        assert all(role for _, role in actions)  # the role each officer acted in
        assert status == "approved"

        # The trails verify on every home, and nothing the old code wrote was lost.
        for agency, home in legacy_homes.items():
            run("audit", "verify", "--home", str(home))
            after = snapshot(home / "node.db")
            for table, rows in before[agency].items():
                if table == "meta":
                    continue
                if table == "budget_usage":  # usage grows; every (peer, period) is kept
                    assert {r[:2] for r in rows} <= {r[:2] for r in after[table]}
                    continue
                # A migration may add columns (at the end); every old value must still be there.
                width = len(rows[0]) if rows else 0
                kept = {repr(tuple(r)[:width]) for r in after[table]}
                assert all(repr(tuple(r)) in kept for r in rows), table
            assert len(after["match_requests"]) == len(before[agency]["matches"])
        for home in legacy_homes.values():
            conn = sqlite3.connect(home / "node.db")
            version = conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
            conn.close()
            if home != legacy_homes["mz-pgr"]:
                assert int(version[0]) == migrations.LATEST
