"""One timestamp form in the store, and every older form still readable."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from node.store.timecodec import format_ts, parse_ts

MOMENT = datetime(2026, 12, 1, 19, 35, 19, 123456, tzinfo=UTC)


class TestTimestamps:
    def test_written_in_utc_with_offset_and_fixed_width(self) -> None:
        """A moment in any zone is written as UTC ISO 8601 with its offset, to the microsecond."""
        nairobi = MOMENT.astimezone(timezone(timedelta(hours=3)))
        assert format_ts(nairobi) == "2026-12-01T19:35:19.123456+00:00"
        assert len(format_ts(MOMENT.replace(microsecond=0))) == len(format_ts(MOMENT))

    def test_text_order_is_time_order(self) -> None:
        """Stored text sorts as the moments do, so SQL range queries compare text."""
        moments = [MOMENT + timedelta(microseconds=n * 999_983) for n in range(50)]
        assert sorted(map(format_ts, moments)) == [format_ts(m) for m in moments]

    @pytest.mark.parametrize(
        "text",
        [
            "2026-12-01T19:35:19.123456+00:00",  # the one form written now
            "2026-12-01T19:35:19.123456Z",  # audit entries of earlier releases
            "2026-12-01T19:35:19Z",  # disclosures of earlier releases
            "2026-12-01T19:35:19+00:00",  # officers, peers and records of earlier releases
            "2026-12-01T22:35:19.123456+03:00",  # any zone
        ],
    )
    def test_every_earlier_form_reads_back(self, text: str) -> None:
        """Timestamps written by earlier releases are read as the same UTC moment."""
        expected = MOMENT if "." in text else MOMENT.replace(microsecond=0)
        assert parse_ts(text) == expected

    def test_naive_moments_are_refused(self) -> None:
        """A moment without a zone cannot be stored (it would be ambiguous)."""
        with pytest.raises(ValueError, match="timezone-aware"):
            format_ts(datetime(2026, 12, 1, 19, 35))
