"""``spoor approvals`` and ``spoor disclose`` on a node home: output, refusals, exit codes."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from node.app.config import save_config
from node.app.home import NodeHome
from node.cli.approvals_cmd import approvals
from node.cli.credentials_input import PASSWORD_ENV, TOTP_ENV
from node.cli.disclose_cmd import disclose
from tests.disclosure.helpers import IVORY, SUSPECT, ResponderNode, key_of, make_responder
from tests.officers_support import PASSWORD, code


@pytest.fixture
def home(tmp_path: Path) -> Iterator[tuple[str, ResponderNode]]:
    node = make_responder(tmp_path / "kws")
    save_config(NodeHome(tmp_path / "kws"), node.config)
    try:
        yield str(tmp_path / "kws"), node
    finally:
        node.conn.close()


def run(group: object, *args: str, env: dict[str, str] | None = None) -> Result:
    return CliRunner().invoke(group, list(args), env=env)  # type: ignore[arg-type]


def as_officer(node: ResponderNode, name: str, steps_ahead: int = 0) -> dict[str, str]:
    """The environment an automated caller sets: password and a fresh TOTP code."""
    return {
        PASSWORD_ENV: PASSWORD,
        TOTP_ENV: code(node.conn, name, steps_ahead),
    }


def pending(node: ResponderNode) -> str:
    (item,) = node.disclose((key_of(SUSPECT, "passport"),)).items
    assert item.ticket_id is not None
    return item.ticket_id


class TestApprovalsCommands:
    def test_list_and_two_officer_approval(self, home: tuple[str, ResponderNode]) -> None:
        """The list shows the ticket; two officers approve it; the list then is empty."""
        path, node = home
        ticket = pending(node)
        listed = json.loads(run(approvals, "list", "--home", path, "--json").output)
        assert [(t["ticket_id"], t["state"], t["approvals_needed"]) for t in listed] == [
            (ticket, "pending", 2)
        ]
        first = run(
            approvals, "approve", ticket, "--home", path, "--officer", "Adv. Wanjiru",
            env=as_officer(node, "Adv. Wanjiru"),
        )  # fmt: skip
        assert first.exit_code == 0
        assert "a second, different officer must approve" in first.output
        second = run(
            approvals, "approve", ticket, "--home", path, "--officer", "Adv. Kamau",
            env=as_officer(node, "Adv. Kamau"),
        )  # fmt: skip
        assert "approved by Adv. Wanjiru, Adv. Kamau" in second.output
        assert json.loads(run(approvals, "list", "--home", path, "--json").output) == []

    def test_ticket_prefix_is_resolved_and_a_wrong_one_refused(
        self, home: tuple[str, ResponderNode]
    ) -> None:
        """The start of a ticket id approves that ticket; a prefix of none exits 1, unchanged."""
        path, node = home
        ticket = pending(node)
        wide = run(approvals, "list", "--wide", "--home", path)
        assert ticket in wide.output
        first = run(
            approvals, "approve", ticket[:6], "--home", path, "--officer", "Adv. Wanjiru",
            env=as_officer(node, "Adv. Wanjiru"),
        )  # fmt: skip
        assert first.exit_code == 0, first.output
        assert "a second, different officer must approve" in first.output
        wrong = run(
            approvals, "approve", "T-zzz", "--home", path, "--officer", "Adv. Kamau",
            env=as_officer(node, "Adv. Kamau"),
        )  # fmt: skip
        assert wrong.exit_code == 1
        assert "no ticket 'T-zzz'" in wrong.output
        assert node.count("ticket_approvals") == 1

    def test_same_officer_twice_exits_with_reason(self, home: tuple[str, ResponderNode]) -> None:
        """Approving twice as the same officer exits 1 saying nothing was changed."""
        path, node = home
        ticket = pending(node)
        run(
            approvals, "approve", ticket, "--home", path, "--officer", "Adv. Wanjiru",
            env=as_officer(node, "Adv. Wanjiru"),
        )  # fmt: skip
        again = run(
            approvals, "approve", ticket, "--home", path, "--officer", "Adv. Wanjiru",
            env=as_officer(node, "Adv. Wanjiru", steps_ahead=1),
        )  # fmt: skip
        assert again.exit_code == 1
        assert "already approved" in again.output
        assert "Nothing was changed" in again.output

    def test_deny_then_reopen(self, home: tuple[str, ResponderNode]) -> None:
        """A denied ticket can be reopened with a new deadline and shows pending again."""
        path, node = home
        ticket = pending(node)
        denied = run(
            approvals,
            "deny",
            ticket,
            "--home",
            path,
            "--officer",
            "Adv. Wanjiru",
            "--reason",
            "insufficient justification",
            env=as_officer(node, "Adv. Wanjiru"),
        )
        assert denied.exit_code == 0
        assert "not releasable" in denied.output
        reopened = run(
            approvals,
            "reopen",
            ticket,
            "--home",
            path,
            "--officer",
            "Adv. Kamau",
            "--deadline-hours",
            "12",
            env=as_officer(node, "Adv. Kamau"),
        )
        assert reopened.exit_code == 0
        assert "round 2" in reopened.output
        shown = json.loads(run(approvals, "show", ticket, "--home", path, "--json").output)
        assert shown["ticket"]["status"] == "pending"
        assert [a["decision"] for a in shown["ticket"]["history"]] == ["deny", "reopen"]
        assert shown["request"]["case_reference"] == "VN-HCM-2026-044"
        assert shown["record"]["names"] == ["Nguyen Van Hung"]

    def test_unknown_ticket_exits_with_clear_message(self, home: tuple[str, ResponderNode]) -> None:
        """An unknown ticket is reported plainly and nothing changes."""
        path, node = home
        result = run(approvals, "show", "T-000000000000", "--home", path)
        assert result.exit_code == 1
        assert "no ticket 'T-000000000000'" in result.output
        deny = run(
            approvals, "deny", "T-000000000000", "--home", path, "--officer", "Adv. A",
            "--reason", "r", env=as_officer(node, "Adv. A"),
        )  # fmt: skip
        assert deny.exit_code == 1
        assert node.count("ticket_approvals") == 0


class TestDiscloseCommands:
    def test_status_of_unknown_request_is_refused(self, home: tuple[str, ResponderNode]) -> None:
        """Asking about a disclosure this node never sent exits 1 with a clear message."""
        path, _ = home
        result = run(disclose, "status", "no-such-id", "--home", path)
        assert result.exit_code == 1
        assert "no disclosure request 'no-such-id'" in result.output

    def test_request_needs_a_match_or_hits(self, home: tuple[str, ResponderNode]) -> None:
        """A request without a match id or hit ids is refused before anything is sent."""
        path, _ = home
        result = run(
            disclose, "request", "--home", path, "--justification", "x", "--fields", "identity"
        )
        assert result.exit_code == 1
        assert "name a match id" in result.output

    def test_export_and_purge_on_an_empty_store(
        self, home: tuple[str, ResponderNode], tmp_path: Path
    ) -> None:
        """Export writes a header-only file and purge reports zero when nothing was received."""
        path, node = home
        node.disclose((key_of(IVORY, "container"),))  # responder side: nothing received here
        out = tmp_path / "x.csv"
        result = run(disclose, "export", "--home", path, "--format", "csv", "--out", str(out))
        assert result.exit_code == 0
        assert "0 released item(s)" in result.output
        assert out.read_bytes().startswith(b"\xef\xbb\xbf")  # UTF-8 BOM: spreadsheets read UTF-8
        assert out.read_text(encoding="utf-8-sig").startswith("counterpart,disclosure_id")
        purged = run(disclose, "purge-expired", "--home", path)
        assert "0 released item(s) past retention purged" in purged.output


class TestShowInTheReadersLanguage:
    def test_codes_in_french_justification_as_written(
        self, home: tuple[str, ResponderNode]
    ) -> None:
        """'approvals show --lang fr' gives the codes' French labels; free text stays as written."""
        path, node = home
        ticket = pending(node)
        shown = run(approvals, "show", ticket, "--home", path, "--lang", "fr")
        assert shown.exit_code == 0, shown.output
        assert "Finalité: Enquête pénale (criminal_investigation)" in shown.output
        assert "affiché tel qu'écrit ; non traduit" in shown.output
        assert "Container and passport linked to an ivory seizure" in shown.output
