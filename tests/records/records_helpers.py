"""Shared constants and row builders for the record tests."""

from __future__ import annotations

from pathlib import Path
from typing import Any

DATA = Path(__file__).parent / "data"
EXAMPLES = Path(__file__).parents[2] / "docs" / "examples"


def person_row(**kw: Any) -> dict[str, Any]:
    """A valid person row; keyword arguments override fields."""
    row: dict[str, Any] = {
        "record_id": "P-1",
        "kind": "person",
        "subject_category": "suspect",
        "names": "Nguyễn Văn Hùng",
        "date_of_birth": "1979-03-02",
        "review_date": "2030-01-01",
    }
    row.update(kw)
    return row


def shipment_row(**kw: Any) -> dict[str, Any]:
    """A valid shipment row; keyword arguments override fields."""
    row: dict[str, Any] = {
        "record_id": "S-1",
        "kind": "shipment",
        "containers": "MSCU1234566",
        "review_date": "2030-01-01",
    }
    row.update(kw)
    return row
