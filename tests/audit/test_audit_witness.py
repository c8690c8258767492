"""Witnessing: consistency from digests only, alarms, and the real gRPC round trip."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

import node.store
from node.app.config import load_config
from node.app.home import NodeHome
from node.app.jobs import witness_round
from node.app.node import RunningNode
from node.audit import witness
from node.audit.checkpoint import sign_checkpoint, write_checkpoint
from node.cli.main import cli
from node.peers import Peer
from node.rpc import witness_wire
from node.rpc.client import PeerClient
from node.rpc.server import build_node
from node.rpc.witness_client import PeerWitnessChannel
from node.store import audit as repo
from tests.audit.helpers import record
from tests.audit.witnessing import ORIGIN, Federation, build_federation
from tests.conftest import responder_with_peer, spoor
from tests.store.backends import store_dump


@pytest.fixture
def fed(tmp_path: Path) -> Federation:
    return build_federation(tmp_path)


class TestConsistency:
    def test_first_head_is_trusted_and_recorded_by_the_witness(self, fed: Federation) -> None:
        """The witness keeps the head, audits it, and returns a valid countersignature."""
        assert repo.witnessed_latest(fed.witness.conn, ORIGIN)[:1] == (10,)  # type: ignore[index]
        events = [r[0] for r in fed.witness.conn.execute("SELECT event FROM audit_entries")]
        assert "audit.witnessed" in events
        [cosig] = witness.stored_cosignatures(fed.conn, ORIGIN)
        assert cosig.valid()
        assert cosig.entry_count == 10

    def test_witness_never_sees_content(self, fed: Federation) -> None:
        """Nothing personal or clear from the origin's entries reaches the witness's store."""
        dump = store_dump(fed.witness.conn)
        assert "officer 3" not in dump
        assert "case note 3" not in dump
        assert "t-3" not in dump

    def test_extension_is_countersigned(self, fed: Federation) -> None:
        """A larger head reached by chaining the new entries' digests is accepted."""
        fed.checkpoint()
        result = fed.submit()
        assert (result.status, result.entry_count) == (witness.ACCEPTED, 14)
        assert repo.witnessed_latest(fed.witness.conn, ORIGIN)[:1] == (14,)  # type: ignore[index]

    def test_lost_countersignatures_are_recovered_with_a_proof(self, fed: Federation) -> None:
        """When the origin forgot what the witness holds, the witness asks for the proof."""
        fed.conn.execute("DELETE FROM audit_cosignatures")
        fed.checkpoint()
        assert fed.submit().status == witness.ACCEPTED

    def test_rollback_is_an_alarm(self, fed: Federation) -> None:
        """Showing a smaller trail than one already witnessed raises 'rolled back'."""
        latest = fed.checkpoint()
        fed.submit()
        at_12 = repo.entry_hash_at(fed.conn, 12)
        assert at_12 is not None
        older = sign_checkpoint(fed.signer(), 12, at_12, latest.created_at, ORIGIN)
        answer = fed.witness.witness(witness.WitnessCall(older, 0))
        assert answer.status == witness.ROLLED_BACK
        assert [a[1] for a in fed.witness.alarms()] == ["rolled back"]

    def test_bad_proof_is_an_inconsistency(self, fed: Federation) -> None:
        """Digests that do not lead from the held head to the new one raise 'inconsistent'."""
        record(fed.conn, "peer.added", counterpart="th-dnp")
        cp = fed.checkpoint()
        answer = fed.witness.witness(witness.WitnessCall(cp, 10, ("00" * 32,) * 5))
        assert answer.status == witness.INCONSISTENT

    def test_checkpoint_of_another_agency_is_refused(self, fed: Federation) -> None:
        """A witness countersigns only the caller's own trail."""
        cp = fed.checkpoint()
        answer = witness.observe(
            fed.witness.conn, fed.witness.home, "vn-ems", "th-dnp", witness.WitnessCall(cp, 0)
        )
        assert answer.status == witness.REFUSED
        assert answer.cosignature is None

    def test_malformed_digest_is_refused_on_the_wire(self, fed: Federation) -> None:
        """A digest that is not 32 bytes is refused before any check."""
        cp = fed.checkpoint()
        request = witness_wire.witness_request_pb(witness.WitnessCall(cp, 10, ("ab" * 32,)))
        request.body_digests.append(b"short")
        with pytest.raises(ValueError, match="not 32"):
            witness_wire.witness_call_of(request)


@pytest.fixture
def serving(tmp_path: Path) -> Iterator[tuple[dict[str, Path], RunningNode]]:
    homes = responder_with_peer(tmp_path, [])
    home = NodeHome(homes["ke-kws"])
    running = build_node(home, load_config(home), listen="127.0.0.1:0")
    vn = homes["vn-customs"]
    spoor("peers", "add", "--home", str(vn), "ke-kws", "--address",
          f"127.0.0.1:{running.port}", "--ca", str(home.ca_cert_path))  # fmt: skip
    yield homes, running
    running.stop()


class TestOverGrpc:
    def test_witness_and_verify_against_the_witness(
        self, serving: tuple[dict[str, Path], RunningNode]
    ) -> None:
        """vn-customs has ke-kws witness its head over mTLS, then verifies against it."""
        homes, _running = serving
        vn, ke = str(homes["vn-customs"]), str(homes["ke-kws"])
        spoor("audit", "checkpoint", "--home", vn)
        shown = spoor("audit", "witness", "--home", vn)
        assert "ke-kws: accepted" in shown
        verified = spoor("audit", "verify", "--ask-witnesses", "--home", vn)
        assert "1 witnessed heads" in verified or "2 witnessed heads" in verified
        listed = spoor("audit", "witnesses", "--home", ke)
        assert "vn-customs" in listed
        assert "no witness alarms" in listed

    def test_truncation_is_caught_by_asking_the_witness(
        self, serving: tuple[dict[str, Path], RunningNode]
    ) -> None:
        """Cutting the witnessed tail and the local evidence still fails verify --ask-witnesses."""
        homes, _running = serving
        vn = str(homes["vn-customs"])
        spoor("audit", "checkpoint", "--home", vn)
        spoor("audit", "witness", "--home", vn)
        with node.store.opened(Path(vn) / "node.db") as conn:
            conn.execute("DELETE FROM audit_entries WHERE seq > 1")
            conn.execute("DELETE FROM audit_personal WHERE seq > 1")
            conn.execute("DELETE FROM audit_checkpoints")
            conn.execute("DELETE FROM audit_cosignatures")
        alone = CliRunner().invoke(cli, ["audit", "verify", "--home", vn])
        assert alone.exit_code == 0, alone.output
        asked = CliRunner().invoke(cli, ["audit", "verify", "--ask-witnesses", "--home", vn])
        assert asked.exit_code == 1
        assert "truncated" in asked.output


class TestWitnessJob:
    def test_background_round_shows_every_peer_the_newest_checkpoint(
        self, serving: tuple[dict[str, Path], RunningNode]
    ) -> None:
        """The node's periodic job gets its newest checkpoint countersigned by each peer."""
        homes, _running = serving
        vn = NodeHome(homes["vn-customs"])
        config = load_config(vn)

        def channel_of(peer: Peer) -> PeerWitnessChannel:
            return PeerWitnessChannel(PeerClient(vn, config, peer))

        with node.store.opened(vn.db_path) as conn:
            write_checkpoint(conn, vn)
            [result] = witness_round(conn, channel_of)
            assert (result.witness, result.status) == ("ke-kws", witness.ACCEPTED)
            assert len(witness.stored_cosignatures(conn, "vn-customs")) == 1
            [again] = witness_round(conn, channel_of)
            assert again.status == "up to date"
