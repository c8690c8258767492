"""The labeled quality set: size, coverage and the generated part kept reproducible."""

from __future__ import annotations

import json
from pathlib import Path

from spoor_dev import quality_set
from spoor_dev.quality import evaluate, load_pairs

LABELED = Path(__file__).parent / "data" / "labeled_pairs.jsonl"


class TestQualitySet:
    def test_generated_pairs_are_the_generator_output(self) -> None:
        """The g- pairs of the labeled set are exactly what spoor_dev.quality_set writes."""
        lines = LABELED.read_text(encoding="utf-8").splitlines()
        stored = [json.loads(line) for line in lines if line.startswith('{"id": "g-')]
        assert stored == quality_set.pairs()

    def test_set_covers_every_language_and_kind(self) -> None:
        """At least 300 pairs over the eight languages, companies, shipments and look-alikes."""
        pairs = load_pairs(LABELED)
        assert len(pairs) >= 300
        scripts = {p.script for p in pairs}
        for script in ("latin-vi", "han", "thai", "arabic", "cyrillic", "latin-pt"):
            assert script in scripts
        for script in ("latin-fr", "swahili", "org", "shipment"):
            assert script in scripts
        assert sum(p.label == "different" for p in pairs) >= 50

    def test_scheme_two_meets_the_bar_on_the_whole_set(self) -> None:
        """Recall is at least 98% with no false match, and at least 95% in every language."""
        report = evaluate(LABELED)
        assert report.false_matches == 0, report.false
        assert report.recall >= 0.98, report.table()
        for script, (matched, total) in report.by_script.items():
            assert matched / total >= 0.95, (script, matched, total)
