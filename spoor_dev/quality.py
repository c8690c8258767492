"""Matching quality on a labeled set of record pairs.

Each line of a labeled file holds one pair: two rows (``a`` and ``b``) that
describe the same person, company or shipment written by two agencies
(``"label": "same"``), or two different ones that look alike
(``"label": "different"``: same name, another person). Rows need only the facts;
record ids, review dates and subject categories are filled in.

:func:`evaluate` scores the keys the way a real two-node match does: side A
holds every ``a`` row, side B every ``b`` row, and an ``a`` row *hits* when any
of its matchable keys is among side B's keys. A hit on a "same" pair is a true
match, a hit on a "different" pair is a false match, and a "same" pair without
a hit is a miss. :func:`sides` writes the two sides as files so the same set can
be run through two real nodes and scored with :func:`score`.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from node.records.keys import derive_keys
from node.records.parse import InvalidRowError, parse_row

_DEFAULTS = {"review_date": "2030-12-31", "source": "labeled-set"}


@dataclass(frozen=True, slots=True)
class LabeledPair:
    """One labeled pair: id, ``same`` or ``different``, script family, note and the two rows."""

    pair_id: str
    label: str
    script: str
    note: str
    a: dict[str, Any]
    b: dict[str, Any]


@dataclass(slots=True)
class QualityReport:
    """Recall and false matches of the key scheme on a labeled set."""

    positives: int = 0
    true_matches: int = 0
    negatives: int = 0
    false_matches: int = 0
    missed: list[str] = field(default_factory=list)
    false: list[str] = field(default_factory=list)
    by_script: dict[str, tuple[int, int]] = field(default_factory=dict)
    by_key_type: Counter[str] = field(default_factory=Counter)
    #: Pairs whose ``a`` row also hit the ``b`` row of another pair (labeled-set hygiene).
    cross_hits: list[str] = field(default_factory=list)

    @property
    def recall(self) -> float:
        return self.true_matches / self.positives if self.positives else 0.0

    def table(self) -> str:
        """A plain-text summary a person can read."""
        lines = [
            f"pairs: {self.positives} same, {self.negatives} different",
            f"recall: {self.true_matches}/{self.positives} = {self.recall:.1%}",
            f"false matches: {self.false_matches}",
            "by script (matched/same):",
        ]
        lines += [f"  {s:<10} {m}/{n}" for s, (m, n) in sorted(self.by_script.items())]
        lines.append(
            "hits by key type: " + ", ".join(f"{k} {v}" for k, v in self.by_key_type.most_common())
        )
        if self.missed:
            lines.append("missed: " + ", ".join(self.missed))
        if self.false:
            lines.append("false matches: " + ", ".join(self.false))
        if self.cross_hits:
            lines.append("hits on another pair's record: " + ", ".join(self.cross_hits))
        return "\n".join(lines)


def load_pairs(path: str | Path) -> list[LabeledPair]:
    """Read a labeled file (JSON Lines)."""
    out = []
    with Path(path).open(encoding="utf-8") as fh:
        for line in fh:
            if line.strip():
                d = json.loads(line)
                out.append(
                    LabeledPair(
                        d["id"], d["label"], d.get("script", ""), d.get("note", ""), d["a"], d["b"]
                    )
                )
    return out


def write_pairs(path: str | Path, pairs: Iterable[LabeledPair]) -> None:
    """Write labeled pairs as JSON Lines, in the format :func:`load_pairs` reads."""
    with Path(path).open("w", encoding="utf-8") as fh:
        for p in pairs:
            d = {"id": p.pair_id, "label": p.label, "script": p.script, "note": p.note}
            fh.write(json.dumps({**d, "a": p.a, "b": p.b}, ensure_ascii=False) + "\n")


def side_row(pair: LabeledPair, side: str) -> dict[str, Any]:
    """The full import row for one side of a pair (ids and required fields filled in)."""
    row = dict(pair.a if side == "a" else pair.b)
    row.setdefault("record_id", f"{pair.pair_id}-{side}")
    for key, value in _DEFAULTS.items():
        row.setdefault(key, value)
    if row.get("kind") == "person":
        row.setdefault("subject_category", "suspect")
    return row


def _keys(row: Mapping[str, Any]) -> list[str]:
    try:
        return derive_keys(parse_row(row)).matchable()
    except InvalidRowError as exc:
        raise ValueError(f"labeled row {row.get('record_id')}: {exc}") from exc


def score(pairs: Iterable[LabeledPair], hits: Mapping[str, Iterable[str]]) -> QualityReport:
    """Score hits (``a`` record id → key types that hit) against the labels."""
    report = QualityReport()
    scripts: dict[str, list[int]] = {}
    for pair in pairs:
        hit_types = list(hits.get(f"{pair.pair_id}-a", ()))
        if pair.label == "same":
            report.positives += 1
            counts = scripts.setdefault(pair.script, [0, 0])
            counts[1] += 1
            if hit_types:
                report.true_matches += 1
                counts[0] += 1
                report.by_key_type.update(set(hit_types))
            else:
                report.missed.append(pair.pair_id)
        else:
            report.negatives += 1
            if hit_types:
                report.false_matches += 1
                report.false.append(pair.pair_id)
    report.by_script = {s: (m, n) for s, (m, n) in scripts.items()}
    return report


def evaluate(labeled_path: str | Path) -> QualityReport:
    """Recall and false matches of the current key scheme, by key equality across two sides."""
    pairs = load_pairs(labeled_path)
    b_keys = {pair.pair_id: set(_keys(side_row(pair, "b"))) for pair in pairs}
    holders: dict[str, set[str]] = {}
    for pair_id, keys in b_keys.items():
        for key in keys:
            holders.setdefault(key, set()).add(pair_id)
    hits: dict[str, list[str]] = {}
    cross: list[str] = []
    for pair in pairs:
        row = side_row(pair, "a")
        hit = [k for k in _keys(row) if k in holders]
        if any(holders[k] - {pair.pair_id} for k in hit):
            cross.append(pair.pair_id)
        if pair.label == "same":
            # A "same" pair counts only when it hits its own counterpart record.
            hit = [k for k in hit if k in b_keys[pair.pair_id]]
        hits[row["record_id"]] = [k.split("|")[1] for k in hit]
    report = score(pairs, hits)
    report.cross_hits = cross
    return report


def sides(labeled_path: str | Path, out_dir: str | Path) -> tuple[Path, Path]:
    """Write the ``a`` rows and the ``b`` rows as two JSON Lines files for a two-node run."""
    pairs = load_pairs(labeled_path)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = (out / "side_a.jsonl", out / "side_b.jsonl")
    for path, side in zip(paths, ("a", "b"), strict=True):
        with path.open("w", encoding="utf-8") as fh:
            for pair in pairs:
                fh.write(json.dumps(side_row(pair, side), ensure_ascii=False) + "\n")
    return paths
