"""Three real agency nodes (separate ``spoor serve`` processes) matching over mutual TLS."""

from __future__ import annotations

import json
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from node import store
from spoor_dev.federation import Agency, Federation, run_spoor, spoor_command

ROOT = Path(__file__).resolve().parents[2]
DEMO = ROOT / "deploy" / "demo"
POLICIES = ROOT / "deploy" / "policies"
AGENCIES = (
    Agency("ke-kws", "KE", "Kenya Wildlife Service"),
    Agency("vn-customs", "VN", "Viet Nam Customs"),
    Agency("mz-pgr", "MZ", "PGR Mozambique"),
)

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def federation(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Federation]:
    fed = Federation(tmp_path_factory.mktemp("fed") / "nodes", AGENCIES)
    fed.create()
    for agency in AGENCIES:
        fed.install_policy(agency.agency_id, POLICIES / agency.agency_id)
    home = {a.agency_id: str(fed.home(a.agency_id)) for a in AGENCIES}
    run_spoor(
        [
            "records",
            "import",
            "--home",
            home["ke-kws"],
            str(DEMO / "ke-kws/persons-register.csv"),
            "--map-file",
            str(DEMO / "ke-kws/persons-register.map.yaml"),
        ]
    )
    run_spoor(["records", "import", "--home", home["ke-kws"], str(DEMO / "ke-kws/seizures.jsonl")])
    run_spoor(["records", "import", "--home", home["mz-pgr"], str(DEMO / "mz-pgr/shipments.jsonl")])
    run_spoor(
        [
            "records",
            "import",
            "--home",
            home["mz-pgr"],
            str(DEMO / "mz-pgr/arguidos.csv"),
            "--map-file",
            str(DEMO / "mz-pgr/arguidos.map.yaml"),
        ]
    )
    fed.start()
    yield fed
    fed.stop()


def match(
    fed: Federation, requester: str, path: Path, *extra: str, check: bool = True
) -> dict[str, object]:
    out = run_spoor(
        [
            "match",
            "--home",
            str(fed.home(requester)),
            str(path),
            "--json",
            "--purpose",
            "criminal_investigation",
            "--case",
            "CASE/1",
            "--officer",
            "Officer A",
            *extra,
        ],
        check=check,
    )
    result: dict[str, object] = json.loads(out)
    return result


def hits_by_record(result: dict[str, object], peer: str) -> dict[str, list[str]]:
    rows = result["rows"]
    assert isinstance(rows, list)
    return {r["record_id"]: r["hits"].get(peer, []) for r in rows}


class TestThreeNodeFederation:
    def test_hits_across_scripts_and_formats(self, federation: Federation) -> None:
        """Viet Nam Customs finds Vietnamese, Chinese and Cyrillic suspects and a container."""
        result = match(
            federation,
            "vn-customs",
            DEMO / "vn-customs/case-VNC-2026-0147.jsonl",
            "--peer",
            "ke-kws",
            "--peer",
            "mz-pgr",
            "--legal-basis",
            "ke-kws=KE-VN-MoU-2024",
            "--legal-basis",
            "mz-pgr=CITES-Art-VIII",
        )
        kws = hits_by_record(result, "ke-kws")
        assert {"name_dob", "phone"} <= set(kws["VNC-P-0001"])  # Nguyễn Văn Hùng / HUNG NGUYEN VAN
        assert "name_dob" in kws["VNC-P-0002"]  # 陈明华 / Chen Minghua
        assert kws["VNC-P-0003"] == ["name_skeleton_dob"]  # Сергей / Sergei
        assert "container" in kws["VNC-S-0001"]
        # KWS's copy of that man is past its review date; the witness's phone is protected.
        assert kws["VNC-P-0005"] == []
        assert kws["VNC-P-0006"] == []
        pgr = hits_by_record(result, "mz-pgr")
        assert {"container", "vessel_imo"} <= set(pgr["VNC-S-0001"])
        # PGR's participation rule for Viet Nam Customs admits shipments only.
        assert pgr["VNC-P-0001"] == []

    def test_policy_decides_what_each_counterpart_may_match(self, federation: Federation) -> None:
        """The same query under a legal basis PGR has not agreed with KWS gets no hits at all:
        it is refused, naming the legal bases PGR accepts, before anything is sent."""
        result = match(
            federation,
            "ke-kws",
            DEMO / "ke-kws/seizures.jsonl",
            "--peer",
            "mz-pgr",
            "--legal-basis",
            "KE-VN-MoU-2024",
            check=False,
        )
        assert all(not hits for hits in hits_by_record(result, "mz-pgr").values())
        (refused,) = result["counterparts"]  # type: ignore[misc]
        assert "legal_basis" in refused["error"]
        assert "UNTOC-Art-18" in refused["error"]
        allowed = match(
            federation,
            "ke-kws",
            DEMO / "ke-kws/seizures.jsonl",
            "--peer",
            "mz-pgr",
            "--legal-basis",
            "UNTOC-Art-18",
        )
        assert "container" in hits_by_record(allowed, "mz-pgr")["KWS-S-0201"]
        assert "air_waybill" in hits_by_record(allowed, "mz-pgr")["KWS-S-0202"]

    def test_cardinality_only_reveals_no_rows(self, federation: Federation) -> None:
        """In cardinality mode the requester gets a count per counterpart and no per-row hits."""
        result = match(
            federation,
            "mz-pgr",
            DEMO / "mz-pgr/shipments.jsonl",
            "--peer",
            "ke-kws",
            "--cardinality-only",
            "--legal-basis",
            "UNTOC-Art-18",
        )
        counterparts = result["counterparts"]
        assert isinstance(counterparts, list)
        assert counterparts[0]["hits"] >= 1
        assert all(not hits for hits in hits_by_record(result, "ke-kws").values())

    def test_serving_processes_never_dump_core(self, federation: Federation) -> None:
        """Every node process runs with a core-file limit of zero (epoch keys live in memory)."""
        for agency in AGENCIES:
            process = federation.nodes[agency.agency_id].process
            assert process is not None
            limits = Path(f"/proc/{process.pid}/limits").read_text()
            core = next(line for line in limits.splitlines() if line.startswith("Max core file"))
            assert core.split()[4:6] == ["0", "0"], core

    def test_both_audit_trails_record_the_same_transcript(self, federation: Federation) -> None:
        """Requester and responder log the same transcript hash, and both trails verify."""
        match(
            federation,
            "mz-pgr",
            DEMO / "mz-pgr/shipments.jsonl",
            "--peer",
            "vn-customs",
            "--legal-basis",
            "UNTOC-Art-18",
        )

        def hashes(agency: str, event: str) -> set[str]:
            conn = store.connect(federation.home(agency) / "node.db")
            try:
                rows = conn.execute(
                    "SELECT transcript_hash FROM audit_entries WHERE event = ? AND counterpart = ?",
                    (event, "vn-customs" if agency == "mz-pgr" else "mz-pgr"),
                ).fetchall()
            finally:
                conn.close()
            return {r[0] for r in rows}

        sent = hashes("mz-pgr", "match.requested")
        served = hashes("vn-customs", "match.served")
        assert sent
        assert sent <= served
        for agency in AGENCIES:
            out = run_spoor(["audit", "verify", "--home", str(federation.home(agency.agency_id))])
            assert "OK" in out

    def test_unknown_peer_and_bad_query_file_are_refused_clearly(
        self, federation: Federation, tmp_path: Path
    ) -> None:
        """An unconfigured peer or an unreadable row stops the match before anything is sent."""
        bad = tmp_path / "bad.csv"
        bad.write_text("record_id,kind,containers,review_date\nX-1,boat,MSCU1234566,2030-01-01\n")
        result = subprocess.run(
            [
                *spoor_command(),
                "match",
                "--home",
                str(federation.home("ke-kws")),
                str(bad),
                "--peer",
                "mz-pgr",
                "--purpose",
                "criminal_investigation",
                "--legal-basis",
                "UNTOC-Art-18",
                "--case",
                "C",
                "--officer",
                "O",
            ],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert result.returncode != 0
        assert "nothing was sent" in result.stderr
        assert "bad.csv:2" in result.stderr
        assert "kind" in result.stderr
        unknown = subprocess.run(
            [
                *spoor_command(),
                "match",
                "--home",
                str(federation.home("ke-kws")),
                str(DEMO / "ke-kws/seizures.jsonl"),
                "--peer",
                "xx-nobody",
                "--purpose",
                "p",
                "--legal-basis",
                "b",
                "--case",
                "C",
                "--officer",
                "O",
            ],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert unknown.returncode == 2
        assert "not a configured peer" in unknown.stderr


class TestGracefulShutdown:
    def test_sigterm_drains_an_in_flight_match(self, tmp_path: Path) -> None:
        """SIGTERM during a large match: the match still completes, then the node exits 0."""
        fed = Federation(tmp_path / "nodes", AGENCIES[:2])
        fed.create()
        fed.install_policy("ke-kws", POLICIES / "ke-kws")
        fed.install_policy("vn-customs", POLICIES / "vn-customs")
        query = tmp_path / "many.jsonl"
        query.write_text(
            "".join(
                json.dumps(
                    {
                        "record_id": f"Q-{i}",
                        "kind": "person",
                        "subject_category": "suspect",
                        "names": [f"Person {i}"],
                        "phones": [f"+2547{i:08d}"],
                        "country": "KE",
                        "review_date": "2030-01-01",
                    }
                )
                + "\n"
                for i in range(15000)
            )
        )
        fed.start()
        try:
            proc = subprocess.Popen(
                [
                    *spoor_command(),
                    "match",
                    "--home",
                    str(fed.home("vn-customs")),
                    str(query),
                    "--json",
                    "--peer",
                    "ke-kws",
                    "--purpose",
                    "criminal_investigation",
                    "--legal-basis",
                    "KE-VN-MoU-2024",
                    "--case",
                    "C",
                    "--officer",
                    "O",
                ],
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            deadline = time.monotonic() + 120
            # The responder charges the budget just before its PSI work: once the charge is
            # visible, the call is in flight. Then ask the node to stop.
            while _charged(fed.home("ke-kws") / "node.db") == 0:
                assert time.monotonic() < deadline, "the match never reached the responder"
                assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
                time.sleep(0.02)
            node = fed.nodes["ke-kws"]
            assert node.process is not None
            node.process.send_signal(signal.SIGTERM)
            out, err = proc.communicate(timeout=180)
            assert proc.returncode == 0, err
            result = json.loads(out)
            assert result["counterparts"][0]["error"] is None
            assert node.process.wait(timeout=60) == 0
            lines = [
                json.loads(x)
                for x in (fed.home("ke-kws") / "serve.log").read_text().splitlines()
                if x.startswith("{")
            ]
            events = [(x.get("event"), x.get("method")) for x in lines]
            # The drain began while the Match was still running, and the Match then finished OK.
            assert events.index(("draining", None)) < events.index(("rpc", "Match"))
            assert [x["status"] for x in lines if x.get("method") == "Match"] == ["OK"]
        finally:
            fed.stop()


def _charged(db: Path) -> int:
    conn = store.connect(db)
    try:
        row = conn.execute("SELECT COALESCE(SUM(elements), 0) FROM budget_usage").fetchone()
    finally:
        conn.close()
    return int(row[0])
