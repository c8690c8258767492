"""Caller and counterpart text: control and invisible characters are refused, the rest kept."""

from __future__ import annotations

import pytest

from node.bounds import has_control, optional_text
from node.errors import InvalidRequest


class TestControlCharacters:
    @pytest.mark.parametrize(
        "value",
        ["CITES-Art-VIII", "criminal_investigation", "Officer A / Case 7", "Nguyễn Văn An", ""],
    )
    def test_ordinary_text_passes(self, value: str) -> None:
        """Printable text in any script passes unchanged."""
        assert not has_control(value)
        assert optional_text("officer", value) == value

    @pytest.mark.parametrize(
        "value",
        ["a\x1b[2Jb", "tab\there", "line\nbreak", "nul\x00", "del\x7f", "rtl\u202eoverride",
         "zero\u200bwidth", "sep\u2028line", "private\ue000use", "c1\x85next"],
    )  # fmt: skip
    def test_control_and_invisible_characters_are_refused(self, value: str) -> None:
        """ASCII controls, C1 controls, bidi overrides, zero-width and separator characters fail."""
        assert has_control(value)
        with pytest.raises(InvalidRequest, match="control or invisible"):
            optional_text("officer", value)

    def test_prose_keeps_newlines_and_tabs_only(self) -> None:
        """Multi-line prose may hold newlines and tabs, never other controls."""
        assert not has_control("first line\n\tsecond", multiline=True)
        assert has_control("first\x1b line", multiline=True)
