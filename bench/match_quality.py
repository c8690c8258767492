"""Matching quality through a real two-node match: recall and false matches.

Run: ``.venv/bin/python bench/match_quality.py [--labeled FILE] [--smoke]``

Starts two real nodes on 127.0.0.1 (mutual TLS, PSI), loads one side of each
labeled pair into one node, matches the other side from the second node, and
prints recall on same-entity pairs and the number of false matches on
look-alike pairs, by script and by key type. Exit status 1 if recall is below
98% or any false match occurs. ``--smoke`` runs one same-entity pair per script
and two look-alike pairs, to check the command works in seconds.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from spoor_dev.quality import load_pairs, write_pairs
from spoor_dev.quality_run import ROOT, run_quality

DEFAULT_SET = ROOT / "tests" / "records" / "data" / "labeled_pairs.jsonl"
RECALL_BAR = 0.98
SMOKE_NEGATIVES = 2


def smoke_set(labeled: Path, out: Path) -> Path:
    """A tiny labeled set: the first same-entity pair of each script and two look-alikes."""
    chosen, scripts, negatives = [], set(), 0
    for pair in load_pairs(labeled):
        if pair.label == "same" and pair.script not in scripts:
            scripts.add(pair.script)
            chosen.append(pair)
        elif pair.label == "different" and negatives < SMOKE_NEGATIVES:
            negatives += 1
            chosen.append(pair)
    write_pairs(out, chosen)
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--labeled", type=Path, default=DEFAULT_SET)
    parser.add_argument("--smoke", action="store_true", help="a tiny subset: checks it runs")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="spoor-quality-") as tmp:
        labeled = smoke_set(args.labeled, Path(tmp) / "smoke.jsonl") if args.smoke else args.labeled
        report = run_quality(labeled, Path(tmp))
    print(f"labeled set: {args.labeled}" + (" (smoke subset)" if args.smoke else ""))
    print(report.table())
    ok = report.recall >= RECALL_BAR and report.false_matches == 0
    print(f"bar (recall >= {RECALL_BAR:.0%}, no false match):", "met" if ok else "NOT met")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
