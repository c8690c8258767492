"""Two real nodes on 127.0.0.1: held setups synced over mTLS, asked through the local API."""

from __future__ import annotations

import json
import stat
import time
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest
from spoor.lookup.v1 import lookup_pb2 as lk

from node import store
from node.app.config import load_config, save_config
from node.app.home import NodeHome
from node.app.node import RunningNode
from node.records.keys import KEY_SCHEME_VERSION
from node.records.schemes import keys_of_scheme
from node.rpc.held_node import HeldNode
from node.rpc.local_lookup import LocalLookupClient, socket_path
from node.rpc.server import GrpcServer, build_node
from node.setups.views import ViewKey
from node.store import records as record_store
from tests.conftest import responder_with_peer, spoor

HELD: list[dict[str, object]] = [
    {"record_id": f"KE-S-{i}", "kind": "shipment", "containers": [c], "review_date": "2031-01-01"}
    for i, c in enumerate(["MSCU1234566", "TGHU7654321"])
]
PURPOSE, BASIS = "criminal_investigation", "CITES-Art-VIII"
MISSING = f"v{KEY_SCHEME_VERSION}|container|CSQU3054383"


def held_of(node: RunningNode) -> HeldNode:
    """The held-setup pieces of a running node."""
    assert isinstance(node.server, GrpcServer)
    assert node.server.held is not None, "held setups are off"
    return node.server.held


def small_setups(home: Path, *, token_port: bool = False) -> None:
    """Few shards and quick refreshes, so a test builds in well under a second."""
    h = NodeHome(home)
    config = load_config(h)
    config.setups.base_shards = 4
    config.setups.delta_shards = 2
    config.setups.refresh_seconds = 0.2
    config.setups.sync_seconds = 0.2
    config.setups.build_workers = 2
    if token_port:
        config.lookup.listen = "127.0.0.1:0"
    save_config(h, config)


class Nodes:
    """ke-kws (holding records) and vn-customs (asking), both running."""

    def __init__(self, homes: dict[str, Path], ke: RunningNode, vn: RunningNode) -> None:
        self.homes = homes
        self.ke = ke
        self.vn = vn

    def keys_of(self, record_id: str) -> list[str]:
        conn = store.connect(NodeHome(self.homes["ke-kws"]).db_path)
        try:
            return keys_of_scheme(record_store.keys_of(conn, record_id), KEY_SCHEME_VERSION)
        finally:
            conn.close()

    def ask(self, keys: list[str]) -> lk.LookupResponse:
        vn = NodeHome(self.homes["vn-customs"])
        client = LocalLookupClient.for_home(vn, load_config(vn))
        assert client is not None, "the local lookup API is not reachable"
        try:
            return client.lookup(
                lk.LookupRequest(
                    match_keys=keys,
                    purpose=PURPOSE,
                    legal_basis=BASIS,
                    case_reference="CASE/1",
                    officer="Officer A",
                )
            )
        finally:
            client.close()

    def ask_until_ready(self, keys: list[str]) -> lk.LookupResponse:
        """Ask until the first build finished (bounded), then return the answer."""
        deadline = time.monotonic() + 60
        while True:
            answer = self.ask(keys)
            if not answer.peers[0].error or time.monotonic() > deadline:
                return answer
            time.sleep(0.2)


@pytest.fixture
def nodes(tmp_path: Path) -> Iterator[Nodes]:
    """Both nodes running with small setups; vn-customs pins ke-kws's CA."""
    homes = responder_with_peer(tmp_path, HELD)
    for home in homes.values():
        small_setups(home)
    ke_home = NodeHome(homes["ke-kws"])
    ke = build_node(ke_home, load_config(ke_home), listen="127.0.0.1:0")
    try:
        spoor("peers", "add", "--home", str(homes["vn-customs"]), "ke-kws",
              "--address", f"127.0.0.1:{ke.port}", "--ca", str(ke_home.ca_cert_path))  # fmt: skip
        vn_home = NodeHome(homes["vn-customs"])
        vn = build_node(vn_home, load_config(vn_home), listen="127.0.0.1:0")
        try:
            yield Nodes(homes, ke, vn)
        finally:
            vn.stop()
    finally:
        ke.stop()


def audit_rows(home: Path) -> list[tuple[str, str]]:
    conn = store.connect(NodeHome(home).db_path)
    try:
        rows = conn.execute("SELECT event, details FROM audit_entries ORDER BY seq").fetchall()
    finally:
        conn.close()
    return [(str(r[0]), str(r[1])) for r in rows]


class TestLocalLookup:
    def test_lookup_reports_hits_per_counterpart(self, nodes: Nodes) -> None:
        """The local API answers which of the asked keys ke-kws holds, from held setups."""
        held = nodes.keys_of("KE-S-0")
        assert held, "the held record yields no match key"
        answer = nodes.ask_until_ready([MISSING, *held])
        (peer,) = answer.peers
        assert peer.agency_id == "ke-kws"
        assert peer.error == ""
        assert peer.held
        assert list(peer.hits) == list(range(1, 1 + len(held)))
        assert peer.elements_charged == 1 + len(held)
        # The shipment whose container fails its check digit yields no key, so no hit.
        assert nodes.keys_of("KE-S-1") == []

    def test_both_sides_audit_the_held_lookup(self, nodes: Nodes) -> None:
        """A held lookup leaves a match.requested and a match.served entry marked as held."""
        nodes.ask_until_ready(nodes.keys_of("KE-S-0"))
        requested = [d for e, d in audit_rows(nodes.homes["vn-customs"]) if e == "match.requested"]
        served = [d for e, d in audit_rows(nodes.homes["ke-kws"]) if e == "match.served"]
        assert any(json.loads(d).get("held_setups") for d in requested)
        assert any(json.loads(d).get("held_setups") for d in served)

    def test_new_record_is_found_after_refresh_and_sync_without_full_recompute(
        self, nodes: Nodes, tmp_path: Path
    ) -> None:
        """A record imported into the running responder is found; only the new record is decided."""
        nodes.ask_until_ready([MISSING])
        views = held_of(nodes.ke).held.views
        full_before = views.computations
        new = [{"record_id": "KE-S-9", "kind": "shipment", "containers": ["CSQU3054383"],
                "review_date": "2031-01-01"}]  # fmt: skip
        path = tmp_path / "new.jsonl"
        path.write_text("".join(json.dumps(r) + "\n" for r in new), encoding="utf-8")
        spoor("records", "import", "--home", str(nodes.homes["ke-kws"]), str(path))
        deadline = time.monotonic() + 60
        hits: list[int] = []
        while time.monotonic() < deadline:
            hits = list(nodes.ask([MISSING]).peers[0].hits)
            if hits:
                break
            time.sleep(0.2)
        assert hits == [0]
        assert views.extensions >= 1
        assert views.computations == full_before

    def test_spoor_match_uses_the_running_node(self, nodes: Nodes, tmp_path: Path) -> None:
        """With the node running, spoor match answers from held setups and records the hits."""
        nodes.ask_until_ready([MISSING])
        query = tmp_path / "query.jsonl"
        rows = [
            {"record_id": f"Q-{i}", "kind": "shipment", "containers": [c],
             "review_date": "2031-01-01"}
            for i, c in ((1, "MSCU 123456-6"), (2, "CSQU3054383"))
        ]  # fmt: skip
        query.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
        out = spoor("match", "--home", str(nodes.homes["vn-customs"]), str(query), "--json",
                    "--peer", "ke-kws", "--purpose", PURPOSE, "--legal-basis", BASIS,
                    "--case", "CASE/2", "--officer", "Officer B")  # fmt: skip
        result = json.loads(out)
        hits = {r["record_id"]: r["hits"].get("ke-kws", []) for r in result["rows"]}
        assert hits == {"Q-1": ["container"], "Q-2": []}
        (counterpart,) = result["counterparts"]
        assert counterpart["match_id"]
        served = [
            json.loads(d) for e, d in audit_rows(nodes.homes["ke-kws"]) if e == "match.served"
        ]
        assert served
        assert all(d.get("held_setups") for d in served)
        conn = store.connect(NodeHome(nodes.homes["vn-customs"]).db_path)
        try:
            stored = conn.execute(
                "SELECT record_id, key_type FROM match_hits WHERE match_id = ?",
                (counterpart["match_id"],),
            ).fetchall()
        finally:
            conn.close()
        assert [tuple(r) for r in stored] == [("Q-1", "container")]

    def test_socket_is_private_to_the_node_user(self, nodes: Nodes) -> None:
        """The local lookup socket is created with mode 0600."""
        vn = NodeHome(nodes.homes["vn-customs"])
        mode = socket_path(vn, load_config(vn)).stat().st_mode
        assert stat.S_ISSOCK(mode)
        assert stat.S_IMODE(mode) == 0o600

    def test_bad_key_is_refused_before_anything_is_sent(self, nodes: Nodes) -> None:
        """A string that is not a match key is refused with INVALID_ARGUMENT and nothing charged."""
        with pytest.raises(grpc.RpcError) as info:
            nodes.ask(["C1234567"])
        assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        served = [e for e, _ in audit_rows(nodes.homes["ke-kws"]) if e == "match.served"]
        assert served == []

    def test_epoch_key_never_reaches_disk(self, nodes: Nodes) -> None:
        """After lookups, no file in either home (database, WAL, audit, logs) holds the key."""
        nodes.ask_until_ready(nodes.keys_of("KE-S-0"))
        generation = held_of(nodes.ke).held.book.published(
            "vn-customs", ViewKey("vn-customs", PURPOSE, BASIS).name
        )
        assert generation is not None
        # The epoch with its secret (on PostgreSQL the published generation carries only
        # the public half; the key stays in the building replica's memory).
        epoch = held_of(nodes.ke).held.book.keys.find("vn-customs", generation.epoch.epoch_id)
        assert epoch is not None
        key = epoch.key
        assert len(key) == 32
        needles = (key, key.hex().encode(), key.hex().upper().encode())
        searched = 0
        for home in nodes.homes.values():
            for path in Path(home).rglob("*"):
                if path.is_file():
                    data = path.read_bytes()
                    searched += 1
                    assert not any(n in data for n in needles), f"epoch key found in {path}"
        assert searched > 5


class TestTokenPort:
    def test_tcp_port_requires_the_token(self, tmp_path: Path) -> None:
        """On localhost TCP a call without the lookup token is refused as UNAUTHENTICATED."""
        homes = responder_with_peer(tmp_path, HELD)
        small_setups(homes["vn-customs"], token_port=True)
        home = NodeHome(homes["vn-customs"])
        config = load_config(home)
        config.lookup.listen = "127.0.0.1:0"
        node = build_node(home, config, listen="127.0.0.1:0")
        try:
            assert held_of(node).local_server is not None
            token_file = home.root / config.lookup.token_file
            assert stat.S_IMODE(token_file.stat().st_mode) == 0o600
            target = f"127.0.0.1:{held_of(node).local_tcp_port}"
            request = lk.LookupRequest(
                match_keys=[MISSING], purpose=PURPOSE, legal_basis=BASIS,
                case_reference="C/1", officer="o",
            )  # fmt: skip
            anonymous = LocalLookupClient(target)
            with pytest.raises(grpc.RpcError) as info:
                anonymous.lookup(request, timeout=10)
            anonymous.close()
            assert info.value.code() == grpc.StatusCode.UNAUTHENTICATED
            holder = LocalLookupClient(target, token_file.read_text(encoding="ascii").strip())
            try:
                assert list(holder.lookup(request, timeout=10).peers) == []
            finally:
                holder.close()
        finally:
            node.stop()

    def test_a_socket_path_too_long_leaves_the_node_serving(self, tmp_path: Path) -> None:
        """A home too deep for a Unix socket still serves peers; the local API stays off."""
        homes = responder_with_peer(tmp_path, HELD)
        home = NodeHome(homes["vn-customs"])
        small_setups(homes["vn-customs"])
        config = load_config(home)
        config.lookup.socket = "run/" + "d" * 120 + "/lookup.sock"
        node = build_node(home, config, listen="127.0.0.1:0")
        try:
            assert node.port > 0
            assert held_of(node).local_server is None
            assert LocalLookupClient.for_home(home, config) is None
        finally:
            node.stop()
