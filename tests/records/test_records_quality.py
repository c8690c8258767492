"""Matching quality on the labeled set of same-person / same-shipment variants."""

from __future__ import annotations

import json
from pathlib import Path

from records_helpers import DATA

from node.records.io import read_records
from spoor_dev.quality import evaluate, load_pairs, score, sides

LABELED = DATA / "labeled_pairs.jsonl"


class TestLabeledSet:
    def test_recall_and_false_matches_meet_the_bar(self) -> None:
        """Keys find at least 95% of same pairs and never match a hard negative."""
        report = evaluate(LABELED)
        assert report.recall >= 0.95, report.table()
        assert report.false_matches == 0, report.table()
        assert report.negatives >= 20

    def test_every_required_script_is_covered(self) -> None:
        """The set holds variants in Latin with diacritics, Han, Cyrillic, Arabic and Thai."""
        scripts = {p.script for p in load_pairs(LABELED) if p.label == "same"}
        assert {"latin-vi", "latin-pt", "han", "cyrillic", "arabic", "thai"} <= scripts
        report = evaluate(LABELED)
        for script in ("latin-vi", "latin-pt", "han", "thai"):
            matched, total = report.by_script[script]
            assert matched == total, (script, report.table())

    def test_known_misses_are_the_documented_ones(self) -> None:
        """Only the documented limits (translation, patronymic) are missed."""
        assert evaluate(LABELED).missed == ["miss-01"]


class TestScoring:
    def test_score_counts_hits_against_labels(self) -> None:
        """A hit on a 'different' pair is a false match; no hit on a 'same' pair a miss."""
        pairs = load_pairs(LABELED)
        same = next(p for p in pairs if p.label == "same")
        diff = next(p for p in pairs if p.label == "different")
        report = score([same, diff], {f"{diff.pair_id}-a": ["name_dob"]})
        assert (report.true_matches, report.false_matches) == (0, 1)
        assert report.missed == [same.pair_id]

    def test_sides_write_importable_files(self, tmp_path: Path) -> None:
        """The two sides of the set are written as JSON Lines files for a two-node run."""
        a, b = sides(LABELED, tmp_path)
        for path in (a, b):
            result = read_records(path)
            assert result.ok, [str(e) for e in result.errors]
            assert len(result.records) == len(load_pairs(LABELED))
        first = json.loads(a.read_text(encoding="utf-8").splitlines()[0])
        assert first["record_id"].endswith("-a")
