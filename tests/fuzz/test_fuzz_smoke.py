"""The fuzz smoke: every target for a few dozen examples, replaying the kept corpus first.

About a minute in all; deselect with ``-m 'not fuzz'``. ``bench/fuzz.py
--minutes N`` runs the same targets for as long as asked and adds what it
finds to ``tests/fuzz/corpus``.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, event, given, seed, settings
from hypothesis.database import DirectoryBasedExampleDatabase, ReadOnlyDatabase

from tests.fuzz.targets import CORPUS, Harness, Target, make_harness

pytestmark = pytest.mark.fuzz

# Examples per target, tuned so the whole smoke takes about a minute here.
EXAMPLES = {"rpc": 300, "setup": 400, "describe": 150, "records": 300, "policy": 150}


@pytest.fixture(scope="module")
def harness() -> Iterator[Harness]:
    built, tmp = make_harness()
    try:
        yield built
    finally:
        built.close()
        tmp.cleanup()


def run_target(target: Target) -> None:
    """Replay the kept corpus for ``target``, then draw fresh examples from a fixed seed."""
    corpus = ReadOnlyDatabase(DirectoryBasedExampleDatabase(CORPUS / target.name))

    @seed(20261201)
    @settings(
        max_examples=EXAMPLES[target.name],
        deadline=None,
        database=corpus,
        suppress_health_check=list(HealthCheck),
    )
    @given(target.strategy)
    def fuzz(drawn: object) -> None:
        event(target.check(drawn))

    fuzz()


class TestFuzzSmoke:
    """No input drawn for any target makes the code under test misbehave."""

    def test_rpc_requests(self, harness: Harness) -> None:
        """Every RPC request, hostile or nearly valid, gets an expected status from the servicer."""
        run_target(harness.rpc_target())

    def test_counterpart_setups(self, harness: Harness) -> None:
        """Hostile setups and responses are refused or intersected; no worker dies."""
        run_target(harness.setup_target())

    def test_counterpart_describe(self, harness: Harness) -> None:
        """Hostile Describe and Match answers cost only that counterpart's result."""
        run_target(harness.describe_target())

    def test_record_files(self, harness: Harness) -> None:
        """Hostile CSV and JSONL files yield records or row errors, never an exception."""
        run_target(harness.records_target())

    def test_policy_loader(self, harness: Harness) -> None:
        """Mutated policy files load or fail with a PolicyError that is not an internal error."""
        run_target(harness.policy_target())


class TestLongRunCommand:
    """bench/fuzz.py runs every target and prints its table (at a tiny size here)."""

    def test_tiny_run(self, tmp_path: Path) -> None:
        """A few examples per target finish with exit 0 and one table row per target.

        The run keeps its inputs in a scratch corpus, so the suite never writes
        into the repository's.
        """
        script = Path(__file__).resolve().parents[2] / "bench" / "fuzz.py"
        done = subprocess.run(
            [
                sys.executable,
                str(script),
                "--minutes",
                "0.01",
                "--batch",
                "3",
                "--corpus",
                str(tmp_path / "corpus"),
            ],
            capture_output=True,
            text=True,
            timeout=240,
            check=False,
        )
        assert done.returncode == 0, done.stdout + done.stderr
        rows = [line.split()[0] for line in done.stdout.splitlines()[-5:]]
        assert rows == ["rpc", "setup", "describe", "records", "policy"]
