"""Matching quality through a real two-node match: recall and false matches.

Run: ``.venv/bin/python bench/match_quality.py [--labeled FILE]``

Starts two real nodes on 127.0.0.1 (mutual TLS, PSI), loads one side of each
labeled pair into one node, matches the other side from the second node, and
prints recall on same-entity pairs and the number of false matches on
look-alike pairs, by script and by key type. Exit status 1 if recall is below
95% or any false match occurs.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from spoor_dev.quality_run import ROOT, run_quality

DEFAULT_SET = ROOT / "tests" / "records" / "data" / "labeled_pairs.jsonl"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--labeled", type=Path, default=DEFAULT_SET)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="spoor-quality-") as tmp:
        report = run_quality(args.labeled, Path(tmp))
    print(f"labeled set: {args.labeled}")
    print(report.table())
    ok = report.recall >= 0.95 and report.false_matches == 0
    print("bar (recall >= 95%, no false match):", "met" if ok else "NOT met")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
