"""Participation decisions are the same for records with the same signature."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

import policy
from node.records.facts import facts as record_facts
from node.records.parse import parse_row
from spoor_dev.generate import rows

ROOT = Path(__file__).resolve().parents[2]
REQUESTS = [
    ("vn-customs", "criminal_investigation", "KE-VN-MoU-2024"),
    ("vn-customs", "customs_enforcement", "CITES-Art-VIII"),
    ("mz-pgr", "prosecution", "UNTOC-Art-18"),
    ("mz-pgr", "criminal_investigation", "KE-VN-MoU-2024"),
]


def _facts() -> list[dict[str, object]]:
    out = []
    for i, row in enumerate(rows(600, seed=11, agency="KWS", country="KE")):
        if i % 7 == 0 and row.get("kind") == "person":
            row["subject_category"] = "witness"
        if i % 11 == 0:
            row["review_date"] = "2020-01-01"
        if i % 13 == 0:
            row["handling_restrictions"] = "interpol_art3"
        out.append(dict(record_facts(parse_row({k: v for k, v in row.items() if v}))))
    return out


class TestParticipationSignature:
    @pytest.mark.parametrize(("requester", "purpose", "basis"), REQUESTS)
    def test_memoized_decisions_equal_direct_decisions(
        self, requester: str, purpose: str, basis: str
    ) -> None:
        """Deciding once per signature gives every record the decision it would get alone."""
        pol = policy.load_policy(ROOT / "deploy/policies/ke-kws")
        ctx = policy.RequestContext(
            requester=requester,
            purpose=purpose,
            legal_basis=basis,
            case_reference="C",
            officer="O",
            now=datetime(2026, 11, 22, 12, tzinfo=UTC),
        )
        today = ctx.now.date()
        by_signature: dict[object, str] = {}
        outcomes: set[str] = set()
        for facts in _facts():
            direct = policy.evaluate_participation(pol, ctx, facts).outcome
            signature = policy.participation_signature(facts, today)
            remembered = by_signature.setdefault(signature, direct)
            assert remembered == direct, facts["record_id"]
            outcomes.add(direct.value)
        # The check is meaningful: signatures are shared and both outcomes occur.
        assert len(by_signature) < 600
        if requester == "mz-pgr" and purpose == "prosecution":
            assert {"RELEASE", "DENY"} <= outcomes

    def test_review_date_counts_only_as_passed_or_due(self) -> None:
        """Two review dates on the same side of today share a signature; across it they do not."""
        today = datetime(2026, 11, 22, tzinfo=UTC).date()
        base = {"record_id": "a", "kind": "shipment", "fields": {}}
        sig = policy.participation_signature
        assert sig({**base, "review_date": "2030-01-01"}, today) == sig(
            {**base, "review_date": "2031-06-30", "record_id": "b"}, today
        )
        assert sig({**base, "review_date": "2020-01-01"}, today) != sig(
            {**base, "review_date": "2030-01-01"}, today
        )
        assert sig({**base, "review_date": "not-a-date"}, today) != sig(
            {**base, "review_date": "2030-01-01"}, today
        )
