"""Text a counterpart wrote is shown as data: markup and escape sequences stay inert."""

from __future__ import annotations

import io
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from rich.console import Console
from rich.text import Text

from node.app.config import save_config
from node.app.home import NodeHome
from node.cli.approvals_cmd import approvals
from node.cli.disclose_cmd import _print_items
from node.cli.match_cmd import print_report
from node.cli.render import safe_markup, safe_text
from node.disclosure import requester
from node.disclosure.model import DisclosureAnswer, DisclosureCall, ItemDecision, OpenCall
from node.match.context import request_context
from node.match.requester import MatchReport, PeerOutcome, RowResult
from node.psi import client as psi_client
from tests.disclosure.helpers import (
    RESPONDER,
    SUSPECT,
    ResponderNode,
    key_of,
    make_requester_db,
    make_responder,
)

UNBALANCED = "Seized at Mombasa [/bold] by [red]customs"
CONCEALED = "the subject is the minister's nephew"
CONCEALING = f"Routine check. [conceal]{CONCEALED}[/conceal] Please release."


def rendered(draw: object) -> str:
    """What ``draw(console)`` shows on a colour terminal, as the reader sees it (no styling)."""
    return plain(raw(draw))


def raw(draw: object) -> str:
    """What ``draw(console)`` sends to a colour terminal, escape codes included."""
    buffer = io.StringIO()
    console = Console(file=buffer, width=200, force_terminal=True, color_system="truecolor")
    draw(console)  # type: ignore[operator]
    return buffer.getvalue()


def plain(ansi: str) -> str:
    return Text.from_ansi(ansi).plain


@pytest.fixture
def home(tmp_path: Path) -> Iterator[tuple[str, ResponderNode]]:
    node = make_responder(tmp_path / "kws")
    save_config(NodeHome(tmp_path / "kws"), node.config)
    try:
        yield str(tmp_path / "kws"), node
    finally:
        node.conn.close()


def show(path: str, ticket: str) -> Result:
    runner = CliRunner(env={"FORCE_COLOR": "1", "TERM": "xterm-256color"})
    return runner.invoke(approvals, ["show", ticket, "--home", path])


class TestRenderHelpers:
    """The helpers escape markup and control characters and bound length."""

    def test_markup_is_shown_literally(self) -> None:
        """Tags in a value print as typed, including inside a markup string."""
        out = rendered(lambda c: c.print(safe_text(UNBALANCED)))
        assert "[/bold]" in out
        assert "[red]" in out
        out = rendered(lambda c: c.print(f"[bold]reason:[/bold] {safe_markup(UNBALANCED)}"))
        assert "[/bold] by [red]customs" in out

    def test_escape_sequences_are_made_visible(self) -> None:
        """A terminal escape sequence is printed as text, never sent to the terminal."""
        out = raw(lambda c: c.print(safe_text("ok\x1b[2J\x1b]0;owned\x07")))
        assert "\x1b[2J" not in out
        assert "\x07" not in out
        assert "\\x1b[2J" in out

    def test_length_is_bounded(self) -> None:
        """A megabyte value is cut to the cell limit."""
        assert len(safe_text("x" * 1_000_000).plain) <= 201


class TestMatchTable:
    """``spoor match`` prints a counterpart's error and odd record ids without crashing."""

    def test_unbalanced_tags_in_an_error_and_a_row(self) -> None:
        """An unbalanced tag in a peer's error and in a record id print literally."""
        report = MatchReport(
            rows=[RowResult(1, "[/R-1]", "person", {"v1|phone|+1": "phone"})],
            peers=[
                PeerOutcome("ke-kws", match_id="m-1", elements=1),
                PeerOutcome("mz-pgr", error=f"mz-pgr: INVALID_ARGUMENT: {UNBALANCED}"),
            ],
            reveal="intersection",
        )
        out = rendered(lambda c: print_report(report, c))
        assert "[/R-1]" in out
        assert "[/bold] by [red]customs" in out


class TestApprovalsShow:
    """The officer approving a ticket sees the requester's justification whole."""

    def test_unbalanced_tag_in_the_justification(self, home: tuple[str, ResponderNode]) -> None:
        """An unbalanced tag no longer crashes 'spoor approvals show'."""
        path, node = home
        (item,) = node.disclose((key_of(SUSPECT, "passport"),), justification=UNBALANCED).items
        assert item.ticket_id is not None
        result = show(path, item.ticket_id)
        assert result.exit_code == 0, result.output
        assert UNBALANCED in plain(result.output)

    def test_conceal_cannot_hide_text(self, home: tuple[str, ResponderNode]) -> None:
        """A balanced [conceal] shows as typed; the concealed words are visible, unstyled."""
        path, node = home
        (item,) = node.disclose((key_of(SUSPECT, "passport"),), justification=CONCEALING).items
        assert item.ticket_id is not None
        result = show(path, item.ticket_id)
        assert result.exit_code == 0, result.output
        assert CONCEALING in plain(result.output)
        assert "\x1b[8m" not in result.output  # the terminal's conceal attribute


class _HostileChannel:
    """A counterpart holding ``held`` and answering each with a reason code carrying markup."""

    peer_id = RESPONDER

    def __init__(self, reason_code: str, held: tuple[str, ...]) -> None:
        self.reason_code = reason_code
        self.held = held

    def open_disclosure(self, call: OpenCall) -> bytes:
        return psi_client.start(list(self.held), reveal=True).request_bytes

    def disclose(self, call: DisclosureCall) -> DisclosureAnswer:
        items = [
            ItemDecision(f"i-{n}", "DENY", self.reason_code, k) for n, k in enumerate(self.held)
        ]
        return DisclosureAnswer("d-1", items, "ab" * 32)

    def get_disclosure(self, disclosure_id: str, include_fields: bool) -> DisclosureAnswer:
        raise AssertionError("not used")


class TestDiscloseTables:
    """``spoor disclose request`` and ``status`` survive hostile reason codes."""

    def test_markup_reason_code_is_refused_before_storing(self, tmp_path: Path) -> None:
        """A reason code that is not a reason code is refused whole; nothing is stored."""
        key = key_of(SUSPECT, "passport")
        conn = make_requester_db(tmp_path / "vn", [("VN-1", "passport", key)])
        try:
            hits = requester.select_hits(conn, "m-1")
            reason = request_context(
                requester="vn-customs",
                now=datetime.now(UTC),
                purpose="criminal_investigation",
                legal_basis="KE-VN-MoU-2024",
                case_reference="VN-HCM-2026-044",
                officer="Insp. Tran",
                justification="Linked to a seizure.",
                requested_fields=("identity",),
            )
            with pytest.raises(requester.CounterpartReplyError):
                requester.send_request(conn, _HostileChannel("[/red", (key,)), hits, reason)
            assert requester.sent_items(conn) == []
        finally:
            conn.close()

    def test_stored_markup_prints_literally(self) -> None:
        """Values already stored print as typed in the status table."""
        item = requester.SentItem(
            "d-1", "ke-kws", "VN-1", "i-1", 1, "[/VN-1]", "passport", "DENY", "[/red",
            "[conceal]T-1", "2026-12-01T00:00:00Z", False, False,
        )  # fmt: skip
        out = rendered(lambda c: _print_items([item], c))
        assert "[/red" in out
        assert "[conceal]T-1" in out
