"""Helpers shared by the policy tests: paths, a valid request and record, file writing."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from policy import RequestContext

HERE = Path(__file__).parent
ROOT = HERE.parents[1]
AGENCY_DIR = HERE / "data" / "agency"
BASELINE_CASES = HERE / "cases" / "baseline.cases.yaml"
DEPLOY = ROOT / "deploy" / "policies"
AGENCIES = ("ke-kws", "vn-customs", "mz-pgr")
NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def make_ctx(**overrides: Any) -> RequestContext:
    """A valid request from za-police to the test agency, with overrides."""
    values: dict[str, Any] = {
        "requester": "za-police",
        "purpose": "criminal_investigation",
        "legal_basis": "UNTOC-Art-27",
        "case_reference": "SAPS-2026-1",
        "officer": "officer-1",
        "now": NOW,
        "requested_fields": ("identity", "date_of_birth"),
    }
    values.update(overrides)
    return RequestContext(**values)


def make_facts(**overrides: Any) -> dict[str, Any]:
    """A suspect record the test agency may release, with overrides."""
    facts: dict[str, Any] = {
        "record_id": "rec-1",
        "kind": "person",
        "subject_category": "suspect",
        "case_reference": "KE-1",
        "source": None,
        "review_date": "2027-01-01",
        "handling_restrictions": [],
        "offence_classes": ["wildlife_trafficking"],
        "species": [],
        "fields": {"names": ["Jane Doe"], "date_of_birth": "1980-05-06"},
    }
    facts.update(overrides)
    return facts


def write(tmp_path: Path, name: str, text: str) -> Path:
    """Write a file under ``tmp_path`` and return its path."""
    path = tmp_path / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path
