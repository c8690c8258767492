"""Activation: a policy goes live only checked and tested; versions are kept and rolled back."""

from __future__ import annotations

import json
import shutil
import sqlite3
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from node import store
from node.app.policy_history import PolicyHistory, policy_tree
from node.app.policy_holder import PolicyHolder, os_user
from node.cli.credentials_input import PASSWORD_ENV, TOTP_ENV
from node.cli.policy_cmd import policy
from node.officers import credentials
from policy import PolicyError
from tests.officers_support import PASSWORD, code, enrol
from tests.policy.policy_support import AGENCY_DIR, BASELINE_CASES

OFFICER = "Adv. Wanjiru"

#: An edit that checks clean but breaks a case of the baseline case table.
WIDER_PARTICIPATION = (
    "      purpose: [criminal_investigation]\n\nrelease:",
    "      purpose: [criminal_investigation, intelligence_analysis]\n\nrelease:",
)


class Node:
    """A node home with a database and the test agency's policy and cases."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.policy_dir = root / "policy"
        shutil.copytree(AGENCY_DIR, self.policy_dir)
        shutil.copy(BASELINE_CASES, self.policy_dir / "baseline.cases.yaml")
        (root / "spoor.toml").write_text('agency_id = "test-agency"\ncountry = "KE"\n')
        conn = store.open_store(root / "node.db")
        try:
            enrol(conn, [OFFICER], roles=("legal_officer",))
            self.officer_id = credentials.officer_id_of(conn, OFFICER)
        finally:
            conn.close()
        self.holder = PolicyHolder(self.policy_dir, root / "node.db")
        self.history = PolicyHistory.beside(root / "node.db")

    @property
    def agency_file(self) -> Path:
        return self.policy_dir / "agency.yaml"

    def edit(self, old: str, new: str, name: str = "agency.yaml") -> None:
        path = self.policy_dir / name
        text = path.read_text()
        assert old in text
        path.write_text(text.replace(old, new, 1))

    def policy_events(self) -> list[tuple[str, str | None, dict[str, object]]]:
        """(event, actor, details) of every policy audit entry, oldest first."""
        conn = store.connect(self.root / "node.db")
        conn.row_factory = sqlite3.Row
        try:
            rows = conn.execute(
                "SELECT e.event, e.details, p.value AS actor FROM audit_entries e "
                "LEFT JOIN audit_personal p ON p.seq = e.seq AND p.field = 'actor' "
                "WHERE e.event LIKE 'policy.%' ORDER BY e.seq"
            ).fetchall()
        finally:
            conn.close()
        return [(r["event"], r["actor"], json.loads(r["details"] or "{}")) for r in rows]

    def cli(self, *args: str) -> Result:
        return CliRunner().invoke(policy, [*args, "--home", str(self.root)])

    def as_officer(self, *args: str, steps_ahead: int = 0, password: str = PASSWORD) -> Result:
        """Run a command that puts a version in force, signed in as :data:`OFFICER`."""
        conn = store.connect(self.root / "node.db")
        try:
            fresh = code(conn, OFFICER, steps_ahead)
        finally:
            conn.close()
        return CliRunner().invoke(
            policy,
            [*args, "--home", str(self.root), "--officer", OFFICER],
            env={PASSWORD_ENV: password, TOTP_ENV: fresh},
        )


@pytest.fixture
def node(tmp_path: Path) -> Node:
    n = Node(tmp_path / "home")
    n.holder.load_initial()
    return n


class TestActivation:
    """Only a policy that checks clean and passes its own cases goes live."""

    def test_start_up_activates_and_keeps_a_copy(self, node: Node) -> None:
        """The first load is an activation by the OS user, with the files kept verbatim."""
        (entry,) = node.history.entries()
        assert (entry.reason, entry.activated_by) == ("start", os_user())
        assert entry.digest == node.holder.current().digest
        kept = node.history.path_of(entry.version)
        assert kept is not None
        assert policy_tree(kept) == policy_tree(node.policy_dir)
        assert node.policy_events()[-1][:2] == ("policy.loaded", os_user())

    def test_edit_without_baseline_is_refused_and_the_previous_stays(self, node: Node) -> None:
        """Dropping the baseline on a running node changes nothing; status says why."""
        before = node.holder.current().digest
        node.edit("include: [baseline]\n", "")
        assert node.holder.maybe_reload() is False
        assert node.holder.current().digest == before
        assert len(node.history.entries()) == 1
        event, actor, details = node.policy_events()[-1]
        assert (event, actor, details["version"]) == (
            "policy.rejected",
            os_user(),
            node.history.last_refusal()["version"],  # type: ignore[index]
        )
        out = node.cli("status").output
        assert "which is not active" in out
        assert "the policy does not include the baseline guards" in out

    def test_edit_whose_own_cases_fail_is_refused(self, node: Node) -> None:
        """A policy that checks clean but fails its case table does not go live."""
        before = node.holder.current().digest
        node.edit(WIDER_PARTICIPATION[0], WIDER_PARTICIPATION[1])
        assert node.holder.maybe_reload() is False
        assert node.holder.current().digest == before
        refusal = node.history.last_refusal()
        assert refusal is not None
        assert any(
            "test case 'other purposes match no rule at the match stage either' fails: outcome" in p
            for p in refusal["problems"]
        ), refusal

    def test_clean_edit_goes_live_and_is_recorded(self, node: Node) -> None:
        """A clean, tested edit is activated, audited with its actor and added to the history."""
        first = node.history.entries()[0]
        node.edit("name: Test Wildlife Authority", "name: Test Wildlife Authority (edited)")
        assert node.holder.maybe_reload() is True
        second = node.history.entries()[-1]
        assert (second.reason, second.previous) == ("reload", first.version)
        assert second.version == node.holder.version != first.version
        event, actor, details = node.policy_events()[-1]
        assert (event, actor, details["reason"]) == ("policy.loaded", os_user(), "reload")

    def test_restart_on_the_same_files_is_not_a_new_activation(self, node: Node) -> None:
        """A node restarting on the active version serves it without a new history entry."""
        again = PolicyHolder(node.policy_dir, node.root / "node.db")
        again.load_initial()
        assert len(node.history.entries()) == 1
        assert node.policy_events()[-1][2]["activated_by"] == os_user()

    def test_start_up_with_failing_cases_is_fatal(self, tmp_path: Path) -> None:
        """At start-up there is no previous version to keep: the node refuses to start."""
        fresh = Node(tmp_path / "other")
        fresh.edit(WIDER_PARTICIPATION[0], WIDER_PARTICIPATION[1])
        with pytest.raises(PolicyError) as info:
            fresh.holder.load_initial()
        assert any("test case" in p.message for p in info.value.problems)
        assert fresh.history.entries() == []


class TestHistoryAndRollback:
    """spoor policy history and spoor policy rollback."""

    def test_history_lists_versions_newest_first(self, node: Node) -> None:
        """Every activation is listed, the active one marked."""
        node.edit("name: Test Wildlife Authority", "name: Edited")
        node.holder.maybe_reload()
        lines = node.cli("history").output.splitlines()
        newest, oldest = node.history.entries()[-1], node.history.entries()[0]
        assert lines[1].startswith(f"* {newest.version}")
        assert lines[2].startswith(f"  {oldest.version}")
        assert "reload" in lines[1]
        assert "start" in lines[2]

    def test_rollback_restores_files_and_is_an_audited_activation(self, node: Node) -> None:
        """Rolling back puts the kept files back, records who did it, and the node follows."""
        first = node.history.entries()[0]
        node.edit("name: Test Wildlife Authority", "name: Edited")
        node.holder.maybe_reload()
        edited = node.history.entries()[-1]
        result = node.as_officer("rollback", first.version)
        assert result.exit_code == 0, result.output
        assert f"version {first.version}" in result.output
        assert "Test Wildlife Authority\n" in node.agency_file.read_text()
        last = node.history.entries()[-1]
        assert (last.version, last.reason, last.previous) == (
            first.version,
            "rollback",
            edited.version,
        )
        assert last.activated_by == node.officer_id
        event, actor, details = node.policy_events()[-1]
        assert (event, actor, details["reason"]) == ("policy.loaded", node.officer_id, "rollback")
        assert node.holder.maybe_reload() is True
        assert node.holder.version == first.version
        assert len(node.history.entries()) == 3  # the node's reload is not another activation

    def test_rollback_keeps_the_files_it_replaces(self, node: Node) -> None:
        """Edits not yet live are kept as a version before the rollback replaces them."""
        first = node.history.entries()[0]
        node.edit("name: Test Wildlife Authority", "name: Draft")
        draft = policy_tree(node.policy_dir)
        node.history.keep(policy_tree(node.policy_dir))  # the same address the rollback uses
        result = node.as_officer("rollback", first.version)
        assert result.exit_code == 0, result.output
        assert "are kept as version" in result.output
        kept = [p for p in node.history.root.iterdir() if p.is_dir() and policy_tree(p) == draft]
        assert kept

    def test_rollback_to_a_version_that_fails_now_changes_nothing(self, node: Node) -> None:
        """A kept version is checked and tested again; if it fails, nothing changes."""
        tree = policy_tree(node.policy_dir)
        tree["agency.yaml"] = tree["agency.yaml"].replace(b"include: [baseline]\n", b"")
        broken = node.history.keep(tree)
        before = node.agency_file.read_text()
        result = node.as_officer("rollback", broken)
        assert result.exit_code == 1
        assert "does not include the baseline" in result.output
        assert "nothing was changed" in result.output
        assert node.agency_file.read_text() == before
        assert len(node.history.entries()) == 1

    def test_unknown_version_is_a_usage_error(self, node: Node) -> None:
        """A version that is not kept exits 2 and points at the history."""
        result = node.as_officer("rollback", "0123456789abcdef")
        assert result.exit_code == 2
        assert "spoor policy history" in result.output

    def test_rollback_needs_a_signed_in_officer(self, node: Node) -> None:
        """A wrong password refuses the rollback: files, history and active version unchanged."""
        first = node.history.entries()[0]
        node.edit("name: Test Wildlife Authority", "name: Edited")
        node.holder.maybe_reload()
        before = node.agency_file.read_text()
        entries = node.history.entries()
        result = node.as_officer("rollback", first.version, password="not the password")
        assert result.exit_code == 1
        assert "could not be signed in" in result.output
        assert node.agency_file.read_text() == before
        assert node.history.entries() == entries
        assert node.policy_events()[-1][2]["reason"] == "reload"

    def test_status_shows_the_active_version(self, node: Node) -> None:
        """status names the active version, who activated it, and that the files match."""
        entry = node.history.entries()[0]
        out = node.cli("status").output
        assert f"Active version {entry.version}" in out
        assert f"by {os_user()} (start)" in out
        assert "holds exactly this version" in out


class TestActivateCommand:
    """spoor policy activate: the files in the policy directory, in force in an officer's name."""

    def test_activation_is_recorded_with_the_officers_id(self, node: Node) -> None:
        """A clean edit activated on the CLI names the signed-in officer in history and audit."""
        first = node.history.entries()[0]
        node.edit("name: Test Wildlife Authority", "name: Activated by an officer")
        result = node.as_officer("activate")
        assert result.exit_code == 0, result.output
        assert f"activated by {OFFICER} ({node.officer_id})" in result.output
        last = node.history.entries()[-1]
        assert (last.reason, last.activated_by, last.previous) == (
            "activate",
            node.officer_id,
            first.version,
        )
        assert last.version == node.history.active().version  # type: ignore[union-attr]
        event, actor, details = node.policy_events()[-1]
        assert (event, actor, details["reason"]) == ("policy.loaded", node.officer_id, "activate")

    def test_activation_that_fails_a_case_test_changes_nothing(self, node: Node) -> None:
        """Files whose own cases fail are refused: exit 1, the previous version stays active."""
        active = node.history.active()
        node.edit(WIDER_PARTICIPATION[0], WIDER_PARTICIPATION[1])
        result = node.as_officer("activate")
        assert result.exit_code == 1
        assert "nothing was changed" in result.output
        assert node.history.active() == active
        refusal = node.history.last_refusal()
        assert refusal is not None
        assert refusal["by"] == node.officer_id

    def test_activation_without_credentials_is_refused(self, node: Node) -> None:
        """A code that is not the officer's refuses the activation; nothing goes live."""
        node.edit("name: Test Wildlife Authority", "name: Unsigned")
        entries = node.history.entries()
        conn = store.connect(node.root / "node.db")
        try:
            used = code(conn, OFFICER)
        finally:
            conn.close()
        wrong = f"{(int(used) + 1) % 1000000:06d}"
        result = CliRunner().invoke(
            policy,
            ["activate", "--home", str(node.root), "--officer", OFFICER],
            env={PASSWORD_ENV: PASSWORD, TOTP_ENV: wrong},
        )
        assert result.exit_code == 1
        assert "could not be signed in" in result.output
        assert node.history.entries() == entries


class TestOfficerActivation:
    """[policy] officer_activation: a running node serves only what an officer activated."""

    def holder(self, node: Node) -> PolicyHolder:
        held = PolicyHolder(node.policy_dir, node.root / "node.db", officer_activation=True)
        held.load_initial()
        return held

    def test_an_edit_waits_for_an_officer(self, node: Node) -> None:
        """Edited files that check clean do not go live by themselves; the active one stays."""
        held = self.holder(node)
        before = held.version
        node.edit("name: Test Wildlife Authority", "name: Edited, not activated")
        assert held.maybe_reload() is False
        assert held.version == before
        assert held.current().digest == node.holder.current().digest
        assert [e.version for e in node.history.entries()] == [before]
        assert "waiting" not in node.cli("status").output  # nothing was refused
        assert "which is not active" in node.cli("status").output

    def test_the_node_follows_an_officers_activation(self, node: Node) -> None:
        """After 'spoor policy activate' by an officer, the running node serves the new version."""
        held = self.holder(node)
        node.edit("name: Test Wildlife Authority", "name: Activated on the CLI")
        held.maybe_reload()
        assert node.as_officer("activate").exit_code == 0
        assert held.maybe_reload() is True
        active = node.history.active()
        assert active is not None
        assert (held.version, active.activated_by) == (active.version, node.officer_id)

    def test_the_node_follows_a_rollback(self, node: Node) -> None:
        """A rollback by an officer is what the node serves next."""
        held = self.holder(node)
        first = node.history.entries()[0]
        node.edit("name: Test Wildlife Authority", "name: Second")
        assert node.as_officer("activate").exit_code == 0
        held.maybe_reload()
        assert node.as_officer("rollback", first.version, steps_ahead=1).exit_code == 0
        assert held.maybe_reload() is True
        assert held.version == first.version

    def test_a_restart_serves_the_activated_version_not_the_edited_files(self, node: Node) -> None:
        """A node restarting on edited files serves the version an officer last activated."""
        active = node.history.active()
        assert active is not None
        node.edit("name: Test Wildlife Authority", "name: Edited before a restart")
        restarted = self.holder(node)
        assert restarted.version == active.version
        assert b"Edited before a restart" not in b"".join(
            policy_tree(node.history.path_of(active.version)).values()  # type: ignore[arg-type]
        )
        assert len(node.history.entries()) == 1
