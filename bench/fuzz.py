"""Run the fuzz targets for as long as asked; findings go to the kept corpus.

    .venv/bin/python bench/fuzz.py --minutes 10
    .venv/bin/python bench/fuzz.py --minutes 1 --target setup --target rpc

The targets are those of the fuzz smoke (tests/fuzz/targets.py): every RPC
request through the servicer, counterpart setups, responses and Describe
answers on the requester, record files and the policy loader. They run in
turn, in batches with fresh random seeds, in this one process (PSI steps in
one worker at a time), so the run uses about one core. A failing example is
shrunk and saved in tests/fuzz/corpus/<target>/, which the smoke replays on
every test run; turn each into a regression test once it is fixed. The table
at the end counts examples and outcomes per target, and lists findings.
"""

from __future__ import annotations

import argparse
import collections
import platform
import sys
import time
import traceback
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from hypothesis import HealthCheck, Phase, event, given, settings, target
from hypothesis.database import DirectoryBasedExampleDatabase

from node.app import logs
from tests.fuzz.targets import CORPUS, Target, make_harness

BATCH = 50


def run_batch(
    fuzz_target: Target, tally: collections.Counter[str], examples: int, corpus: Path = CORPUS
) -> str | None:
    """Run one batch of ``fuzz_target``; the finding's description, or None."""

    @settings(
        max_examples=examples,
        deadline=None,
        database=DirectoryBasedExampleDatabase(corpus / fuzz_target.name),
        suppress_health_check=list(HealthCheck),
        phases=(Phase.explicit, Phase.reuse, Phase.generate, Phase.target, Phase.shrink),
        report_multiple_bugs=False,
    )
    @given(fuzz_target.strategy)
    def fuzz(drawn: object) -> None:
        label = fuzz_target.check(drawn)
        tally[label] += 1
        event(label)
        # Inputs that got past every refusal are kept in the corpus (Hypothesis
        # stores the Pareto front of targeted scores in the example database).
        target(1.0 if fuzz_target.deep(label) else 0.0, label=fuzz_target.name)

    try:
        fuzz()
    except Exception:  # a finding: report it and keep fuzzing the other targets
        return traceback.format_exc(limit=6)
    return None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=10.0, help="how long to run in all")
    parser.add_argument("--target", action="append", default=[], help="only these targets")
    parser.add_argument("--batch", type=int, default=BATCH, help="examples per batch")
    parser.add_argument(
        "--corpus",
        type=Path,
        default=CORPUS,
        help="where inputs are replayed from and kept (default: the repository's corpus)",
    )
    args = parser.parse_args(argv)

    logs.configure(level="warning")  # one summary line per RPC would drown the report
    harness, tmp = make_harness()
    try:
        targets = [t for t in harness.targets() if not args.target or t.name in args.target]
        if not targets:
            parser.error("no such target")
        tallies: dict[str, collections.Counter[str]] = {
            t.name: collections.Counter() for t in targets
        }
        findings: dict[str, list[str]] = {t.name: [] for t in targets}
        spent: dict[str, float] = dict.fromkeys(tallies, 0.0)
        end = time.monotonic() + args.minutes * 60
        # Whole rounds: every target runs at least once, and equally often.
        while True:
            for target in targets:
                started = time.monotonic()
                finding = run_batch(target, tallies[target.name], args.batch, args.corpus)
                spent[target.name] += time.monotonic() - started
                if finding and finding not in findings[target.name]:
                    findings[target.name].append(finding)
                    print(f"\n--- finding in {target.name} ---\n{finding}", flush=True)
            if time.monotonic() >= end:
                break
        report(tallies, findings, spent, args.minutes, args.corpus)
        return 1 if any(findings.values()) else 0
    finally:
        harness.close()
        tmp.cleanup()


def report(
    tallies: dict[str, collections.Counter[str]],
    findings: dict[str, list[str]],
    spent: dict[str, float],
    minutes: float,
    corpus: Path = CORPUS,
) -> None:
    print(f"\nfuzz run: {minutes:g} min on {platform.node()} ({platform.machine()}, "
          f"Python {platform.python_version()}), corpus {corpus}")  # fmt: skip
    print(f"{'target':<10} {'examples':>9} {'seconds':>8} {'findings':>8}  top outcomes")
    for name, tally in tallies.items():
        top = ", ".join(f"{label} x{n}" for label, n in tally.most_common(4))
        print(f"{name:<10} {sum(tally.values()):>9} {spent[name]:>8.0f} "
              f"{len(findings[name]):>8}  {top}")  # fmt: skip


if __name__ == "__main__":
    raise SystemExit(main())
