"""Matching quality on the labeled set through two real nodes."""

from __future__ import annotations

from pathlib import Path

import pytest

from spoor_dev.quality_run import ROOT, run_quality

pytestmark = pytest.mark.e2e


class TestMatchQuality:
    def test_recall_and_no_false_match_through_psi(self, tmp_path: Path) -> None:
        """Over mutual TLS and PSI, recall is at least 95% and no look-alike pair matches."""
        report = run_quality(ROOT / "tests/records/data/labeled_pairs.jsonl", tmp_path)
        assert report.positives >= 50
        assert report.negatives >= 10
        assert report.false_matches == 0, report.false
        assert report.recall >= 0.95, report.table()
        # Every script family of the set is represented and mostly matched.
        for script in ("latin-vi", "han", "cyrillic", "arabic", "thai"):
            matched, total = report.by_script[script]
            assert total > 0
            assert matched / total >= 0.9, (script, matched, total)
