"""A PostgreSQL restart while a node serves: calls fail cleanly, then work again by themselves.

The node under test reaches the cluster through a relay (tests/store/pgproxy.py)
that plays the restart: every session dropped, new ones refused, then the
server back. The node is never restarted.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from node import audit, store
from node.app.config import load_config
from node.app.home import NodeHome
from node.app.node import RunningNode
from node.cli.main import cli
from node.rpc.server import build_node
from node.store import location, postgres
from tests.conftest import responder_with_peer, spoor, write_jsonl
from tests.store.backends import SchemaPerHome
from tests.store.pgproxy import PgRelay

CONTAINERS = ["MSCU1234566", "TGHU7654320", "MSKU1234502"]
HELD: list[dict[str, object]] = [
    {"record_id": f"KE-S-{i}", "kind": "shipment", "containers": [c], "review_date": "2031-01-01"}
    for i, c in enumerate(CONTAINERS)
]

# The homes are configured by hand: Viet Nam on its SQLite file, Kenya on
# PostgreSQL through the relay (never the run's own schema per home).
pytestmark = pytest.mark.sqlite


@pytest.fixture
def served(
    tmp_path: Path, postgres_homes: SchemaPerHome | None, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[dict[str, Path], RunningNode, PgRelay]]:
    """ke-kws serving from PostgreSQL through a relay; vn-customs has it as a peer."""
    if postgres_homes is None:
        pytest.skip("PostgreSQL run only (scripts/test-postgres, part of .ci/run)")
    monkeypatch.delenv(location.ENV_URL, raising=False)
    target = postgres_homes._new_schema().url
    assert target is not None
    relay = PgRelay(target)
    homes = responder_with_peer(tmp_path, HELD)
    spoor("store", "migrate", "--home", str(homes["ke-kws"]), "--to", relay.url)
    ke = NodeHome(homes["ke-kws"])
    node = build_node(ke, load_config(ke), listen="127.0.0.1:0")
    spoor("peers", "add", "--home", str(homes["vn-customs"]), "ke-kws", "--address",
          f"127.0.0.1:{node.port}", "--ca", str(ke.ca_cert_path))  # fmt: skip
    try:
        yield homes, node, relay
    finally:
        node.stop()
        relay.close()
        postgres.close_pools([relay.url])


def match(homes: dict[str, Path], query: Path) -> dict[str, object]:
    result = CliRunner().invoke(
        cli,
        ["match", str(query), "--home", str(homes["vn-customs"]), "--peer", "ke-kws",
         "--purpose", "criminal_investigation", "--legal-basis", "CITES-Art-VIII",
         "--case", "VN-2026-7", "--officer", "Insp. Tran", "--json"],
    )  # fmt: skip
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    text = result.output  # the report is the indented JSON document among the log lines
    start = 0 if text.startswith("{\n") else text.index("\n{\n") + 1
    report, _ = json.JSONDecoder().raw_decode(text[start:])
    (counterpart,) = report["counterparts"]
    assert isinstance(counterpart, dict)
    return counterpart


class TestServerRestart:
    def test_calls_fail_cleanly_during_the_outage_and_recover_without_a_node_restart(
        self, served: tuple[dict[str, Path], RunningNode, PgRelay], tmp_path: Path
    ) -> None:
        """Before: hits. During: a clean refusal, nothing charged. After: hits again."""
        homes, _, relay = served
        query = write_jsonl(
            tmp_path / "query.jsonl",
            [
                {"record_id": f"VN-Q-{i}", "kind": "shipment", "containers": [c],
                 "review_date": "2031-01-01"}
                for i, c in enumerate(CONTAINERS)
            ],
        )  # fmt: skip
        before = match(homes, query)
        assert before["error"] is None
        assert before["hits"] == len(CONTAINERS)
        relay.outage()
        during = match(homes, query)
        assert during["error"]
        assert "Traceback" not in str(during["error"])
        relay.recover()
        after = match(homes, query)
        assert after["error"] is None, after["error"]
        assert after["hits"] == len(CONTAINERS)
        ke = NodeHome(homes["ke-kws"])
        with store.opened(ke.db_path) as conn:
            assert audit.verify(conn).ok
            charged = conn.execute(
                "SELECT SUM(elements) FROM budget_usage WHERE agency_id = ?", ("vn-customs",)
            ).fetchone()[0]
        assert charged == before["elements_sent"] + after["elements_sent"]  # type: ignore[operator]
