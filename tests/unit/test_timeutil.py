"""Timestamps are ISO 8601 UTC with milliseconds, whatever the year."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from tickets.timeutil import iso


def test_given_a_year_before_1000_when_formatting_then_the_year_has_four_digits() -> None:
    assert iso(datetime(233, 1, 26, 16, 20, 54, tzinfo=UTC)) == "0233-01-26T16:20:54.000Z"


def test_given_an_offset_and_microseconds_when_formatting_then_utc_with_milliseconds_truncated() -> None:
    when = datetime(2026, 4, 25, 12, 0, 0, 123999, tzinfo=timezone(timedelta(hours=2)))

    assert iso(when) == "2026-04-25T10:00:00.123Z"
