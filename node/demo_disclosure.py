"""Step 8 of the demo: the governed follow-up after a hit."""

from __future__ import annotations

from typing import Any


def disclosure_step(demo: Any) -> None:
    demo.step("8. Governed follow-up", "(disclosure step)")
