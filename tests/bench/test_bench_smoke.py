"""Every benchmark command runs at a tiny size and prints its table, so none can rot."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.store.backends import SchemaPerHome

ROOT = Path(__file__).resolve().parents[2]


def _bench(script: str, *args: str) -> str:
    """Run one bench command with the project's interpreter; its standard output."""
    result = subprocess.run(
        [sys.executable, str(ROOT / "bench" / script), *args],
        capture_output=True,
        text=True,
        timeout=240,
        cwd=ROOT,
        check=False,
    )
    assert result.returncode == 0, f"{script} failed:\n{result.stdout}\n{result.stderr}"
    return result.stdout


class TestImportBench:
    def test_smoke_imports_into_an_initialised_home_and_prints_a_row(self, tmp_path: Path) -> None:
        """The import bench inits a real node home, imports 200 records and prints their row."""
        out = _bench("import_bench.py", "--smoke", "--workdir", str(tmp_path))
        assert re.search(r"records \| import s \| records/s \|\s+cpu s \| peak RSS MiB", out), out
        row = re.search(r"^\s+200 \|.*\| (\d[\d,]*) match keys", out, re.M)
        assert row, out
        assert int(row.group(1).replace(",", "")) > 200


class TestPgBench:
    def test_smoke_imports_and_looks_up_on_both_backends(
        self, tmp_path: Path, postgres_homes: SchemaPerHome | None
    ) -> None:
        """The store bench imports 200 records on SQLite and on PostgreSQL and prints both rows."""
        if postgres_homes is None:
            pytest.skip("PostgreSQL run only (scripts/test-postgres, part of .ci/run)")
        out = _bench(
            "pg_bench.py", "--smoke", "--url", postgres_homes.url, "--workdir", str(tmp_path)
        )
        assert re.search(r"records \| backend\s+\| import s \| records/s \| lookup p50 ms", out)
        for backend in ("sqlite", "postgresql"):
            assert re.search(rf"^\s+200 \| {backend}\s+\|\s+\d+\.\d", out, re.M), out


class TestPsiBench:
    def test_smoke_prints_every_phase_for_the_tiny_size(self) -> None:
        """The PSI bench prints the library and Spoor seconds of each phase for n = 64."""
        out = _bench("psi_bench.py", "--smoke")
        assert re.search(r"phase\s+n\s+library \(s\)\s+spoor \(s\)\s+ratio", out), out
        for phase in ("client request", "server setup\\+response", "client finish"):
            assert re.search(rf"^{phase}\s+64\s+\d+\.\d+\s+\d+\.\d+\s+\d+\.\d+$", out, re.M), out


@pytest.mark.e2e
class TestMatchBench:
    def test_smoke_matches_between_two_nodes_and_prints_a_row(self) -> None:
        """The whole-match bench runs a real two-node match on 200 records and prints its row."""
        out = _bench("match_bench.py", "--smoke")
        assert re.search(r"records\s+resp\. keys\s+query keys\s+hits\s+match s", out), out
        row = re.search(r"^\s+200\s+(\d+)\s+(\d+)\s+(\d+)\s+\d+\.\d+\s+\d+\.\d+", out, re.M)
        assert row, out
        server_keys, query_keys, hits = (int(g) for g in row.groups())
        assert server_keys > 0
        assert query_keys > 0
        assert 0 < hits <= query_keys


@pytest.mark.e2e
class TestMatchQualityBench:
    def test_smoke_scores_a_subset_through_two_nodes(self) -> None:
        """The quality bench scores a small labeled subset through real nodes and meets its bar."""
        out = _bench("match_quality.py", "--smoke")
        pairs = re.search(r"^pairs: (\d+) same, (\d+) different$", out, re.M)
        assert pairs, out
        assert int(pairs.group(1)) >= 5
        assert int(pairs.group(2)) == 2
        assert re.search(r"^recall: (\d+)/\1 = 100\.0%$", out, re.M), out
        assert re.search(r"^false matches: 0$", out, re.M), out
        assert "latin-vi" in out
        assert "no false match): met" in out
