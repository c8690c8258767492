"""A match sent in several requests is one match: one id, every hit reachable by it."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from node import store
from node.app.config import load_config
from node.app.home import NodeHome
from node.app.node import RunningNode
from node.cli.main import cli
from node.rpc.server import build_node
from node.store import matches
from tests.conftest import responder_with_peer, spoor, write_jsonl

CONTAINERS = ["MSCU1234566", "TGHU7654320", "MSKU1234502", "CSQU3054383", "TCNU7105143"]
HELD = [
    {"record_id": f"KE-S-{i}", "kind": "shipment", "containers": [c], "review_date": "2031-01-01"}
    for i, c in enumerate(CONTAINERS)
]
PER_REQUEST = 2  # five keys go in three requests


@pytest.fixture
def federation(tmp_path: Path) -> Iterator[tuple[dict[str, Path], RunningNode]]:
    """ke-kws serves with a per-request limit of two elements; vn-customs has it as a peer."""
    homes = responder_with_peer(tmp_path, HELD)
    ke = NodeHome(homes["ke-kws"])
    config = load_config(ke)
    config.limits.max_elements_per_request = PER_REQUEST
    node = build_node(ke, config, listen="127.0.0.1:0")
    spoor("peers", "add", "--home", str(homes["vn-customs"]), "ke-kws",
          "--address", f"127.0.0.1:{node.port}", "--ca", str(ke.ca_cert_path))  # fmt: skip
    yield homes, node
    node.stop()


def run_json(*args: str) -> object:
    result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


class TestChunkedMatch:
    def test_one_match_id_reaches_every_hit(
        self, federation: tuple[dict[str, Path], RunningNode], tmp_path: Path
    ) -> None:
        """Five hits found over three requests share the printed match id; a follow-up
        naming it asks about all five."""
        homes, _ = federation
        vn = str(homes["vn-customs"])
        query = write_jsonl(
            tmp_path / "query.jsonl",
            [
                {
                    "record_id": f"VN-Q-{i}",
                    "kind": "shipment",
                    "containers": [c],
                    "review_date": "2031-01-01",
                }
                for i, c in enumerate(CONTAINERS)
            ],
        )
        report = run_json(
            "match", str(query), "--home", vn, "--peer", "ke-kws",
            "--purpose", "criminal_investigation", "--legal-basis", "CITES-Art-VIII",
            "--case", "VN-2026-7", "--officer", "Insp. Tran", "--json",
        )  # fmt: skip
        assert isinstance(report, dict)
        (counterpart,) = report["counterparts"]
        assert counterpart["error"] is None
        assert (counterpart["elements_sent"], counterpart["hits"]) == (5, 5)
        match_id = counterpart["match_id"]
        with store.opened(NodeHome(Path(vn)).db_path) as conn:
            requests = matches.requests_of(conn, match_id)
            stored = matches.get(conn, match_id)
            all_hits = matches.hits(conn)
        assert [r["elements"] for r in requests] == [2, 2, 1]
        assert stored is not None
        assert (stored["elements"], stored["hits"]) == (5, 5)
        assert {h[1] for h in all_hits} == {match_id}
        items = run_json(
            "disclose", "request", "--home", vn, "--match", match_id,
            "--justification", "Containers tied to a seizure", "--fields", "shipment", "--json",
        )  # fmt: skip
        assert isinstance(items, list)
        assert sorted(i["record_id"] for i in items) == [f"VN-Q-{i}" for i in range(5)]
