"""Matching quality through a real two-node match.

The labeled set's ``b`` rows go into one node (the holder), its ``a`` rows are
matched from another node (the asker) over mutual TLS with PSI, and the hits
the asker learns are scored against the labels: recall on "same" pairs and
false matches on "different" pairs.
"""

from __future__ import annotations

import json
from pathlib import Path

from spoor_dev.federation import Agency, Federation, run_spoor
from spoor_dev.quality import QualityReport, load_pairs, score, sides

ROOT = Path(__file__).resolve().parent.parent
HOLDER = Agency("qa-holder", "KE", "Quality run — holding agency")
ASKER = Agency("qa-asker", "VN", "Quality run — asking agency")


def run_quality(labeled: Path, workdir: Path) -> QualityReport:
    """Run the labeled set through two real nodes and score what the asker learned."""
    side_a, side_b = sides(labeled, workdir / "sides")
    federation = Federation(workdir / "nodes", (HOLDER, ASKER))
    federation.create()
    federation.install_policy(HOLDER.agency_id, ROOT / "deploy" / "quality" / "policy.yaml")
    holder = str(federation.home(HOLDER.agency_id))
    run_spoor(["records", "import", "--home", holder, str(side_b)])
    federation.start()
    try:
        out = run_spoor(
            [
                "match",
                "--home",
                str(federation.home(ASKER.agency_id)),
                str(side_a),
                "--peer",
                HOLDER.agency_id,
                "--json",
                "--purpose",
                "criminal_investigation",
                "--legal-basis",
                "CITES-Art-VIII",
                "--case",
                "QUALITY-RUN",
                "--officer",
                "quality run",
            ]
        )
    finally:
        federation.stop()
    result = json.loads(out)
    errors = [c["error"] for c in result["counterparts"] if c["error"]]
    if errors:
        raise RuntimeError(f"the match failed: {errors}")
    hits = {row["record_id"]: row["hits"].get(HOLDER.agency_id, []) for row in result["rows"]}
    return score(load_pairs(labeled), hits)
