"""bench/lookup_bench.py runs end to end at its smoke size, so the benchmark never rots."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.store.backends import SchemaPerHome

ROOT = Path(__file__).resolve().parents[2]


class TestLookupBench:
    def test_smoke_run_prints_every_table(self, tmp_path: Path) -> None:
        """The smoke run measures lookups, build, freshness, fan-out and bulk between real nodes."""
        result = subprocess.run(
            [sys.executable, str(ROOT / "bench" / "lookup_bench.py"), "--smoke",
             "--workdir", str(tmp_path)],
            cwd=ROOT, capture_output=True, text=True, timeout=600, check=False,
        )  # fmt: skip
        assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
        out = result.stdout
        for header in (
            "lookup p50 ms",
            "rate / (library x cores)",
            "visible after import s",
            "p50 ratio to one holder",
            "naive one-shot s",
        ):
            assert header in out, f"missing table column {header!r}:\n{out}"
        # The freshness probe was found only after a re-sync fetched changed shards.
        fresh = next(line for line in out.splitlines() if line.startswith("| 200 | 20 |"))
        assert int(fresh.split("|")[5].replace(",", "").strip()) > 0
        # Every lookup's PSI bytes were counted: a request and a response of a few points.
        lookup = next(line for line in out.splitlines() if line.startswith("| 200 | "))
        assert int(lookup.split("|")[7].replace(",", "").strip()) >= 2 * 33
        # The bulk lookup found the shared half of its keys.
        bulk = out.splitlines()[-1].split("|")
        assert int(bulk[3].replace(",", "").strip()) > 0

    def test_smoke_run_with_holders_on_postgresql(
        self, tmp_path: Path, postgres_homes: SchemaPerHome | None
    ) -> None:
        """With --store-url the holder's store moves to PostgreSQL and its lookups still hit."""
        if postgres_homes is None:
            pytest.skip("PostgreSQL run only (scripts/test-postgres, part of .ci/run)")
        result = subprocess.run(
            [sys.executable, str(ROOT / "bench" / "lookup_bench.py"), "--smoke",
             "--skip", "fanout", "bulk", "--store-url", postgres_homes.url,
             "--workdir", str(tmp_path)],
            cwd=ROOT, capture_output=True, text=True, timeout=600, check=False,
        )  # fmt: skip
        assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
        assert "store   : holders on PostgreSQL" in result.stdout, result.stdout
        fresh = next(line for line in result.stdout.splitlines() if line.startswith("| 200 | 20 |"))
        assert int(fresh.split("|")[5].replace(",", "").strip()) > 0
