"""``spoor match`` checks who asks and why once, before any counterpart is called."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from node import store
from node.app.home import NodeHome
from node.cli.main import cli
from tests.conftest import init_node, spoor, write_jsonl
from tests.match.test_match_requester import ROWS


@pytest.fixture
def requester_home(tmp_path: Path) -> Path:
    """vn-customs with ke-kws as a peer at an address where nothing listens."""
    vn = init_node(tmp_path, "vn-customs", "VN")
    ke = init_node(tmp_path, "ke-kws", "KE")
    spoor("peers", "add", "--home", str(vn), "ke-kws", "--address", "127.0.0.1:9",
          "--ca", str(ke / "keys" / "ca.crt"))  # fmt: skip
    return vn


def match(home: Path, query: Path, **given: str) -> tuple[int, str]:
    options = {
        "--purpose": "criminal_investigation",
        "--legal-basis": "CITES-Art-VIII",
        "--case": "VNC/2026/0147",
        "--officer": "Capt. Tran",
        **given,
    }
    args = ["match", "--home", str(home), str(query), "--peer", "ke-kws"]
    for name, value in options.items():
        args += [name, value]
    result = CliRunner().invoke(cli, args)
    return result.exit_code, result.output


class TestMatchCommandContext:
    @pytest.mark.parametrize(
        ("given", "field"),
        [
            ({"--purpose": "curiosity"}, "purpose"),
            ({"--officer": "  "}, "officer"),
            ({"--case": ""}, "case_reference"),
        ],
    )
    def test_bad_context_is_refused_and_nothing_is_sent_or_stored(
        self, requester_home: Path, tmp_path: Path, given: dict[str, str], field: str
    ) -> None:
        """A bad purpose, officer or case is named; no counterpart is called, nothing stored."""
        query = write_jsonl(tmp_path / "query.jsonl", ROWS)
        code, output = match(requester_home, query, **given)
        assert code == 2, output
        assert field in output
        assert "nothing was sent" in output
        conn = store.connect(NodeHome(requester_home).db_path)
        try:
            assert conn.execute("SELECT COUNT(*) FROM matches").fetchone()[0] == 0
            events = [r[0] for r in conn.execute("SELECT event FROM audit_entries")]
            assert "match.requested" not in events
        finally:
            conn.close()
