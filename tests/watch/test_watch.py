"""Standing watchlists: checked like a match, re-run on schedule within budget, new hits once."""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from node import store
from node.app.config import NodeConfig, save_config
from node.app.home import NodeHome
from node.cli.watch_cmd import watch
from node.errors import InvalidRequest
from node.match.requester import QueryFileInvalid
from node.store import watchlists as watch_store
from node.watch import runner, webhook
from node.watch.job import WatchJob
from tests.conftest import write_jsonl
from tests.match.test_match_requester import CONTAINER, PHONE, ROWS, FakeCounterpart
from tests.store.backends import SchemaPerHome

START = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)


@pytest.fixture
def conn(tmp_path: Path) -> Iterator[sqlite3.Connection]:
    connection = store.open_store(tmp_path / "node.db")
    try:
        yield connection
    finally:
        connection.close()


def request(tmp_path: Path, **kw: Any) -> runner.WatchRequest:
    values: dict[str, Any] = {
        "path": write_jsonl(tmp_path / "watch.jsonl", ROWS),
        "peers": ["ke-kws"],
        "every": "24h",
        "purpose": "criminal_investigation",
        "legal_bases": {"ke-kws": "CITES-Art-VIII"},
        "case_reference": "VNC/2026/0147",
        "officer": "Capt. Tran",
    }
    values.update(kw)
    return runner.WatchRequest(**values)


def add(conn: sqlite3.Connection, tmp_path: Path, **kw: Any) -> watch_store.Watchlist:
    return runner.add_watchlist(
        conn, request(tmp_path, **kw), requester="vn-customs", known_peers=["ke-kws"], now=START
    )


def run_once(
    conn: sqlite3.Connection,
    w: watch_store.Watchlist,
    peer: FakeCounterpart,
    now: datetime = START,
    notify: runner.Notify | None = None,
) -> runner.RunReport:
    return runner.run_watchlist(
        conn,
        w,
        lambda _: peer,
        requester="vn-customs",
        now=now,
        notify=notify or (lambda url, payload: True),
    )


def events(conn: sqlite3.Connection, prefix: str) -> list[str]:
    return [
        str(r[0])
        for r in conn.execute(
            "SELECT event FROM audit_entries WHERE event LIKE ? ORDER BY seq", (prefix + "%",)
        )
    ]


class TestAdd:
    @pytest.mark.parametrize(
        ("override", "field"),
        [
            ({"every": "daily"}, "every"),
            ({"every": "1m"}, "every"),
            ({"peers": ["xx-nowhere"]}, "peer"),
            ({"purpose": "curiosity"}, "purpose"),
            ({"officer": ""}, "officer"),
            ({"webhook_url": "file:///etc/passwd"}, "webhook"),
        ],
    )
    def test_bad_request_is_refused_and_nothing_stored(
        self, conn: sqlite3.Connection, tmp_path: Path, override: dict[str, Any], field: str
    ) -> None:
        """Checked like a match: a bad period, peer, purpose, officer or URL stores nothing."""
        with pytest.raises(InvalidRequest) as caught:
            add(conn, tmp_path, **override)
        assert caught.value.field == field
        assert watch_store.all_watchlists(conn) == []

    def test_bad_rows_are_refused_with_their_locations(
        self, conn: sqlite3.Connection, tmp_path: Path
    ) -> None:
        """A file with an invalid row is refused, naming the row."""
        bad = write_jsonl(tmp_path / "bad.jsonl", [{**ROWS[0], "review_date": "soon"}])
        with pytest.raises(QueryFileInvalid) as caught:
            add(conn, tmp_path, path=bad)
        assert ":1:review_date: not a date" in caught.value.errors[0]
        assert watch_store.all_watchlists(conn) == []

    def test_added_watchlist_keeps_its_rows_and_is_audited(
        self, conn: sqlite3.Connection, tmp_path: Path
    ) -> None:
        """The rows are stored with the watchlist, so deleting the file changes nothing."""
        w = add(conn, tmp_path)
        (tmp_path / "watch.jsonl").unlink()
        stored = watch_store.get(conn, w.watch_id)
        assert stored is not None
        assert len(stored.rows) == len(ROWS)
        assert events(conn, "watch.") == ["watch.added"]


class TestRuns:
    def test_first_run_reports_hits_and_later_runs_only_new_ones(
        self, conn: sqlite3.Connection, tmp_path: Path
    ) -> None:
        """Hits seen once are not new again; a key the counterpart gains later is."""
        w = add(conn, tmp_path)
        peer = FakeCounterpart("ke-kws", held=[PHONE])
        first = run_once(conn, w, peer)
        assert {(h.record_id, h.key_type) for h in first.new_hits} == {
            ("VN-1", "phone"),
            ("VN-3", "phone"),
        }
        again = run_once(conn, w, peer, START + timedelta(days=1))
        assert again.new_hits == []
        assert again.runs[0].hits == 1  # one matched key (the phone two rows share)
        peer.held.append(CONTAINER)
        third = run_once(conn, w, peer, START + timedelta(days=2))
        assert [(h.record_id, h.key_type) for h in third.new_hits] == [("VN-2", "container")]

    def test_each_run_is_an_audited_match_with_a_match_id(
        self, conn: sqlite3.Connection, tmp_path: Path
    ) -> None:
        """A run stores a match row and writes match.requested and watch.ran entries."""
        w = add(conn, tmp_path)
        report = run_once(conn, w, FakeCounterpart("ke-kws", held=[PHONE]))
        match_id = report.runs[0].match_id
        assert match_id
        stored = conn.execute(
            "SELECT case_reference, officer FROM matches WHERE match_id=?", (match_id,)
        ).fetchone()
        assert tuple(stored) == ("VNC/2026/0147", "Capt. Tran")
        assert events(conn, "match.") == ["match.requested"]
        assert events(conn, "watch.") == ["watch.added", "watch.ran"]

    def test_run_the_budget_cannot_cover_is_skipped_and_audited(
        self, conn: sqlite3.Connection, tmp_path: Path
    ) -> None:
        """When the counterpart said too little budget is left today, nothing is sent."""
        w = add(conn, tmp_path)
        elements = runner.elements_of(runner.rows_of(w))
        peer = FakeCounterpart("ke-kws", held=[PHONE], budget=elements + 1)
        assert run_once(conn, w, peer).runs[0].status == "done"
        calls = len(peer.calls)
        later = run_once(conn, w, peer, START + timedelta(hours=1))
        assert later.runs[0].status == "skipped"
        assert "budget" in later.runs[0].reason
        assert len(peer.calls) == calls
        assert events(conn, "watch.")[-1] == "watch.skipped"
        peer.budget = 100  # a new UTC day: the counterpart's budget starts again
        next_day = run_once(conn, w, peer, START + timedelta(days=1))
        assert next_day.runs[0].status == "done"

    def test_only_due_watchlists_run(self, conn: sqlite3.Connection, tmp_path: Path) -> None:
        """run_due runs a watchlist once per period, not on every pass."""
        add(conn, tmp_path, every="6h")
        peer = FakeCounterpart("ke-kws", held=[PHONE])

        def due_at(moment: datetime) -> int:
            reports = runner.run_due(
                conn, lambda _: peer, requester="vn-customs", now=moment, notify=lambda u, p: True
            )
            return len(reports)

        assert due_at(START) == 1
        assert due_at(START + timedelta(hours=5)) == 0
        assert due_at(START + timedelta(hours=6)) == 1

    def test_failing_counterpart_is_recorded_not_raised(
        self, conn: sqlite3.Connection, tmp_path: Path
    ) -> None:
        """A counterpart that cannot be reached gives a failed run; the watchlist stays."""
        from node.peers.channel import PeerCallFailed

        w = add(conn, tmp_path)
        down = FakeCounterpart(
            "ke-kws", held=[], refuse=PeerCallFailed("ke-kws", "UNAVAILABLE", "down", [])
        )
        report = run_once(conn, w, down)
        assert report.runs[0].status == "failed"
        assert watch_store.runs(conn, w.watch_id)[0].status == "failed"


class _Receiver(BaseHTTPRequestHandler):
    bodies: list[dict[str, Any]]
    fail_first: list[bool]

    def do_POST(self) -> None:
        length = int(self.headers["Content-Length"])
        body = json.loads(self.rfile.read(length))
        if self.fail_first and self.fail_first.pop():
            self.send_response(503)
        else:
            self.bodies.append(body)
            self.send_response(204)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def receiver() -> Iterator[tuple[str, type[_Receiver]]]:
    handler = type("Receiver", (_Receiver,), {"bodies": [], "fail_first": []})
    server = HTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/hits", handler
    finally:
        server.shutdown()
        server.server_close()


def _post(url: str, payload: Any) -> bool:
    return webhook.post_json(url, payload, timeout_s=2, attempts=3, sleep=lambda s: None)


class TestWebhook:
    def test_new_hits_are_posted_once(
        self,
        conn: sqlite3.Connection,
        tmp_path: Path,
        receiver: tuple[str, type[_Receiver]],
    ) -> None:
        """The webhook gets each new hit once, with ids and key types but no record contents."""
        url, handler = receiver
        w = add(conn, tmp_path, webhook_url=url)
        peer = FakeCounterpart("ke-kws", held=[PHONE])
        assert run_once(conn, w, peer, notify=_post).webhook_delivered is True
        run_once(conn, w, peer, START + timedelta(days=1), notify=_post)
        assert len(handler.bodies) == 1
        body = handler.bodies[0]
        assert body["watch_id"] == w.watch_id
        assert {(h["record_id"], h["key_type"]) for h in body["hits"]} == {
            ("VN-1", "phone"),
            ("VN-3", "phone"),
        }
        assert "Nguyen" not in json.dumps(body)
        assert PHONE not in json.dumps(body)

    def test_a_failed_attempt_is_retried(self, receiver: tuple[str, type[_Receiver]]) -> None:
        """A receiver answering 503 once gets the body on the second attempt."""
        url, handler = receiver
        handler.fail_first.append(True)
        assert _post(url, {"hits": []}) is True
        assert handler.bodies == [{"hits": []}]

    def test_unreachable_webhook_keeps_hits_for_the_next_run(
        self,
        conn: sqlite3.Connection,
        tmp_path: Path,
        receiver: tuple[str, type[_Receiver]],
    ) -> None:
        """Hits a down receiver missed are sent with the next run."""
        url, handler = receiver
        w = add(conn, tmp_path, webhook_url=url)
        peer = FakeCounterpart("ke-kws", held=[PHONE])
        report = run_once(conn, w, peer, notify=lambda u, p: False)
        assert report.webhook_delivered is False
        run_once(conn, w, peer, START + timedelta(days=1), notify=_post)
        assert len(handler.bodies) == 1
        assert len(handler.bodies[0]["hits"]) == 2

    def test_refused_connection_gives_up_after_the_attempts(self) -> None:
        """Nothing listening: post_json reports failure instead of raising."""
        probe = HTTPServer(("127.0.0.1", 0), _Receiver)
        port = probe.server_address[1]
        probe.server_close()
        assert _post(f"http://127.0.0.1:{port}/", {"hits": []}) is False


class TestJobAndCli:
    def test_job_runs_due_watchlists_and_cli_shows_new_hits_once(self, tmp_path: Path) -> None:
        """The node's job runs the watchlist; 'watch hits' shows its hits once, then none."""
        home = tmp_path / "home"
        home.mkdir()
        save_config(NodeHome(home), NodeConfig(agency_id="vn-customs", country="VN"))
        db = NodeHome(home).db_path
        conn = store.open_store(db)
        try:
            w = add(conn, tmp_path)
        finally:
            conn.close()
        peer = FakeCounterpart("ke-kws", held=[PHONE])
        job = WatchJob(
            db, "vn-customs", lambda _: peer, notify=lambda u, p: True, clock=lambda: START
        )
        assert len(job.run_once()) == 1
        assert job.run_once() == []  # not due again within its period
        cli = CliRunner()
        first = cli.invoke(watch, ["hits", "--json", "--home", str(home)])
        assert first.exit_code == 0, first.output
        assert {h["record_id"] for h in json.loads(first.output)} == {"VN-1", "VN-3"}
        second = cli.invoke(watch, ["hits", "--home", str(home)])
        assert "no new hits" in second.output
        listed = cli.invoke(watch, ["list", "--wide", "--home", str(home)])
        assert w.watch_id in listed.output
        assert "ke-kws: done" in listed.output
        removed = cli.invoke(watch, ["remove", w.watch_id[:8], "--home", str(home)])
        assert removed.exit_code == 0, removed.output
        gone = cli.invoke(watch, ["remove", w.watch_id[:8], "--home", str(home)])
        assert gone.exit_code == 1
        assert "no watchlist" in gone.output


class TestMigration:
    def test_a_home_from_before_watchlists_is_upgraded_and_keeps_its_rows(
        self, tmp_path: Path
    ) -> None:
        """A version-2 home gains the watchlist tables on opening; its records stay."""
        from node.records.model import Record
        from node.store import migrations
        from node.store import records as record_store

        db = tmp_path / "node.db"
        conn = store.open_store(db)
        try:
            with store.transaction(conn):
                record_store.upsert(conn, [Record("KE-1", "shipment", "2031-01-01")])
                for table in ("watch_hits", "watch_runs", "watchlists"):
                    conn.execute(f"DROP TABLE {table}")
                # A version-2 home has none of the later migrations' tables or columns either.
                for table in (
                    "audit_cosignatures",
                    "audit_witnessed",
                    "audit_witness_alarms",
                    "officer_credentials",
                    "console_sessions",
                    "held_views",
                    "held_generations",
                    "held_shard_setups",
                    "replica_endpoints",
                ):
                    conn.execute(f"DROP TABLE {table}")
                conn.execute("ALTER TABLE audit_entries DROP COLUMN chain_version")
                conn.execute("UPDATE meta SET value = '2' WHERE key = 'schema_version'")
        finally:
            conn.close()
        upgraded = store.open_store(db)
        try:
            version = upgraded.execute(
                "SELECT value FROM meta WHERE key = 'schema_version'"
            ).fetchone()[0]
            assert int(version) == migrations.LATEST >= 3
            assert watch_store.all_watchlists(upgraded) == []
            assert upgraded.execute("SELECT record_id FROM records").fetchall()[0][0] == "KE-1"
        finally:
            upgraded.close()


class TestRegisteredJob:
    def test_background_jobs_given_channels_run_watchlists_on_their_own_thread(
        self, tmp_path: Path
    ) -> None:
        """The node's background jobs carry the watch job, started and stopped with them."""
        from node.app.jobs import BackgroundJobs

        home = tmp_path / "home"
        home.mkdir()
        config = NodeConfig(agency_id="vn-customs", country="VN")
        save_config(NodeHome(home), config)
        with store.opened(NodeHome(home).db_path) as conn:
            add(conn, tmp_path)
        peer = FakeCounterpart("ke-kws", held=[PHONE])
        jobs = BackgroundJobs(
            NodeHome(home), config, policies=object(), watch_channels=lambda _: peer
        )  # type: ignore[arg-type]
        assert jobs.watch is not None
        jobs.watch.notify = lambda url, payload: True
        reports = jobs.watch.run_once()
        assert [r.runs[0].status for r in reports] == ["done"]
        assert BackgroundJobs(NodeHome(home), config, policies=object()).watch is None  # type: ignore[arg-type]
        jobs.watch.check_every_s = 0.01
        jobs.watch.start()
        jobs.stop()
        jobs.join(timeout=5)
        assert jobs.watch._thread is not None
        assert not jobs.watch._thread.is_alive()


class TestAddCommand:
    @pytest.fixture
    def requester_home(self, tmp_path: Path) -> Path:
        """vn-customs with ke-kws as a peer at an address where nothing listens."""
        from tests.conftest import init_node, spoor

        vn = init_node(tmp_path, "vn-customs", "VN")
        ke = init_node(tmp_path, "ke-kws", "KE")
        spoor("peers", "add", "--home", str(vn), "ke-kws", "--address", "127.0.0.1:9",
              "--ca", str(ke / "keys" / "ca.crt"))  # fmt: skip
        return vn

    def add_cli(self, home: Path, query: Path, *extra: str) -> tuple[int, str]:
        from node.cli.main import cli

        args = ["watch", "add", "--home", str(home), str(query), "--peer", "ke-kws"]
        args += ["--purpose", "criminal_investigation", "--legal-basis", "CITES-Art-VIII"]
        args += ["--case", "VNC/2026/0147", "--officer", "Capt. Tran", *extra]
        result = CliRunner().invoke(cli, args)
        return result.exit_code, result.output

    def test_add_then_list_shows_the_watchlist(self, requester_home: Path, tmp_path: Path) -> None:
        """'watch add' stores the watchlist; 'watch list --json' shows it with its period."""
        query = write_jsonl(tmp_path / "query.jsonl", ROWS)
        code, output = self.add_cli(requester_home, query, "--every", "24h")
        assert code == 0, output
        listed = CliRunner().invoke(watch, ["list", "--json", "--home", str(requester_home)])
        (entry,) = json.loads(listed.output)
        assert (entry["rows"], entry["peers"], entry["every"]) == (len(ROWS), ["ke-kws"], "24h")

    @pytest.mark.parametrize(
        ("extra", "said"),
        [
            (("--every", "often"), "not a period"),
            (("--every", "24h", "--webhook", "ftp://x"), "not an http"),
        ],
    )
    def test_bad_options_are_refused_and_nothing_stored(
        self, requester_home: Path, tmp_path: Path, extra: tuple[str, ...], said: str
    ) -> None:
        """A bad period or webhook exits 2 naming the problem; no watchlist is stored."""
        query = write_jsonl(tmp_path / "query.jsonl", ROWS)
        code, output = self.add_cli(requester_home, query, *extra)
        assert code == 2, output
        assert said in output
        assert "nothing was stored" in output
        listed = CliRunner().invoke(watch, ["list", "--json", "--home", str(requester_home)])
        assert json.loads(listed.output) == []


class TestOneLeader:
    def test_only_the_replica_leading_the_jobs_runs_watchlists(
        self, tmp_path: Path, postgres_homes: SchemaPerHome | None
    ) -> None:
        """Two replicas' background jobs on one PostgreSQL home: the watchlist runs once."""
        from node.app.jobs import BackgroundJobs

        if postgres_homes is None:
            pytest.skip("PostgreSQL run only (scripts/test-postgres, part of .ci/run)")
        home = tmp_path / "home"
        home.mkdir()
        config = NodeConfig(agency_id="vn-customs", country="VN")
        save_config(NodeHome(home), config)
        with store.opened(NodeHome(home).db_path) as conn:
            add(conn, tmp_path)
        peer = FakeCounterpart("ke-kws", held=[PHONE])
        replicas = [
            BackgroundJobs(NodeHome(home), config, policies=object(), watch_channels=lambda _: peer)  # type: ignore[arg-type]
            for _ in range(2)
        ]
        try:
            runs = []
            for jobs in replicas:
                assert jobs.watch is not None
                jobs.watch.notify = lambda url, payload: True
                jobs.watch.clock = lambda: START
                runs.append(len(jobs.watch.run_once()))
            assert runs == [1, 0]
            replicas[0].stop()  # the leader goes away: the other takes the watchlists over
            assert replicas[1].watch is not None
            replicas[1].watch.clock = lambda: START + timedelta(days=30)
            assert len(replicas[1].watch.run_once()) == 1
        finally:
            for jobs in replicas:
                jobs.stop()
