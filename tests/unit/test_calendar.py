"""Business-hours calendars (tickets.logic.calendar): open or not, and N business minutes later, across DST
changes and holidays. Times are written in UTC (Z) so that every expectation is one unambiguous instant."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tickets.logic.calendar import Calendar

WEEKDAYS = ["mon", "tue", "wed", "thu", "fri"]


def z(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def office(zone: str, start: str = "09:00", end: str = "17:00", holidays: tuple[str, ...] = ()) -> Calendar:
    return Calendar.of(zone, [{"day": d, "start": start, "end": end} for d in WEEKDAYS], holidays)


PARIS = office("Europe/Paris")
NEW_YORK = office("America/New_York")
NIGHTS = Calendar.of("Europe/Paris", [{"day": d, "start": "00:00", "end": "06:00"} for d in
                                      ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]])  # fmt: skip


@pytest.mark.parametrize(
    ("at", "open_"),
    [
        ("2026-11-30T08:00:00Z", True),  # Monday 09:00 in Paris (CET, UTC+1): opening minute
        ("2026-11-30T07:59:59Z", False),
        ("2026-11-30T15:59:59Z", True),
        ("2026-11-30T16:00:00Z", False),  # 17:00: closed
        ("2026-11-28T12:00:00Z", False),  # Saturday
    ],
)
def test_given_office_hours_then_open_exactly_between_opening_and_closing(at, open_):
    assert PARIS.is_open(z(at)) is open_


def test_given_friday_afternoon_when_an_hour_is_added_then_it_ends_monday_morning():
    assert PARIS.add_minutes(z("2026-11-27T15:30:00Z"), 60) == z("2026-11-30T08:30:00Z")  # Fri 16:30 -> Mon 09:30


def test_given_a_target_that_starts_outside_business_hours_then_the_clock_starts_at_opening():
    assert PARIS.add_minutes(z("2026-11-28T09:00:00Z"), 30) == z("2026-11-30T08:30:00Z")  # Sat 10:00 -> Mon 09:30
    assert PARIS.add_minutes(z("2026-11-30T05:00:00Z"), 30) == z("2026-11-30T08:30:00Z")  # Mon 06:00 -> 09:30
    assert PARIS.next_open(z("2026-11-28T09:00:00Z")) == z("2026-11-30T08:00:00Z")


def test_given_a_holiday_then_the_clock_skips_it_as_a_closed_day():
    christmas = office("Europe/Paris", holidays=("2026-12-25",))  # a Friday
    # Thursday 24th 16:30 + 60 min: 30 that day, Friday is a holiday, then Monday 28th 09:30
    assert christmas.add_minutes(z("2026-12-24T15:30:00Z"), 60) == z("2026-12-28T08:30:00Z")
    assert not christmas.is_open(z("2026-12-25T10:00:00Z")) and PARIS.is_open(z("2026-12-25T10:00:00Z"))


def test_given_office_hours_across_the_us_spring_forward_then_local_opening_hours_move_in_utc():
    # Fri 6 March 16:00 EST (21:00Z) + 120 min: 60 on Friday, then Monday 9 March 09:00 EDT (13:00Z) + 60
    assert NEW_YORK.add_minutes(z("2026-03-06T21:00:00Z"), 120) == z("2026-03-09T14:00:00Z")
    assert NEW_YORK.is_open(z("2026-03-09T13:00:00Z")) and not NEW_YORK.is_open(z("2026-03-06T13:30:00Z"))


def test_given_a_night_interval_on_the_spring_forward_night_then_it_lasts_the_five_real_hours_it_has():
    # Paris, 29 March 2026: 02:00 CET jumps to 03:00 CEST. 00:00-06:00 local is 23:00Z to 04:00Z: 5 hours.
    assert NIGHTS.minutes_between(z("2026-03-28T23:00:00Z"), z("2026-03-29T04:00:00Z")) == 300
    # Saturday 00:00-06:00 (6 h) then 2 more: Sunday 00:00 CET + 2 real hours = 01:00Z (03:00 CEST)
    assert NIGHTS.add_minutes(z("2026-03-27T23:00:00Z"), 8 * 60) == z("2026-03-29T01:00:00Z")


def test_given_a_night_interval_on_the_fall_back_night_then_it_lasts_seven_real_hours():
    # Paris, 25 October 2026: 03:00 CEST falls back to 02:00 CET. 00:00 CEST = 22:00Z; 06:00 CET = 05:00Z.
    assert NIGHTS.minutes_between(z("2026-10-24T22:00:00Z"), z("2026-10-25T05:00:00Z")) == 420
    assert NIGHTS.add_minutes(z("2026-10-24T22:00:00Z"), 420) == z("2026-10-25T05:00:00Z")


def test_given_a_day_with_a_lunch_break_then_minutes_run_through_both_intervals_and_skip_the_break():
    split = Calendar.of("UTC", [{"day": "mon", "start": "09:00", "end": "12:00"},
                                {"day": "mon", "start": "13:00", "end": "17:00"}])  # fmt: skip
    assert split.add_minutes(z("2026-11-30T11:30:00Z"), 60) == z("2026-11-30T13:30:00Z")
    assert split.minutes_between(z("2026-11-30T11:00:00Z"), z("2026-11-30T14:00:00Z")) == 120
    assert not split.is_open(z("2026-11-30T12:30:00Z"))


def test_given_an_interval_to_midnight_then_24_00_closes_it_at_the_next_midnight():
    late = Calendar.of("UTC", [{"day": "mon", "start": "18:00", "end": "24:00"}])
    assert late.is_open(z("2026-11-30T23:59:59Z")) and not late.is_open(z("2026-12-01T00:00:00Z"))
    assert late.add_minutes(z("2026-11-30T23:00:00Z"), 90) == z("2026-12-07T18:30:00Z")


def test_given_zero_minutes_then_the_start_itself_even_when_closed():
    assert PARIS.add_minutes(z("2026-11-28T09:00:00Z"), 0) == z("2026-11-28T09:00:00Z")


def test_given_an_end_before_the_start_then_no_business_minutes():
    assert PARIS.minutes_between(z("2026-11-30T10:00:00Z"), z("2026-11-30T09:00:00Z")) == 0


@pytest.mark.parametrize(
    ("zone", "weekly", "holidays", "message"),
    [
        ("Europe/Paris", [], (), "at least one opening interval"),
        ("Europe/Paris", [{"day": "mon", "start": "17:00", "end": "09:00"}], (), "end must come after"),
        (
            "Europe/Paris",
            [{"day": "mon", "start": "09:00", "end": "12:00"}, {"day": "mon", "start": "11:00", "end": "13:00"}],
            (),
            "must not overlap",
        ),
        ("Europe/Paris", [{"day": "mon", "start": "25:00", "end": "26:00"}], (), "not a time of day"),
        ("Europe/Paris", [{"day": "mon", "start": "9:00", "end": "17:00"}], (), "not HH:MM"),
        ("Europe/Paris", [{"day": "mon", "start": "24:00", "end": "24:00"}], (), "cannot start at 24:00"),
    ],
)
def test_given_an_impossible_calendar_then_it_is_refused_saying_why(zone, weekly, holidays, message):
    with pytest.raises(ValueError, match=message):
        Calendar.of(zone, weekly, holidays)


def test_given_an_unknown_zone_then_refused():
    with pytest.raises(Exception, match="Nowhere"):
        office("Nowhere/Atlantis")


def test_given_a_naive_time_then_refused():
    with pytest.raises(ValueError, match="aware"):
        PARIS.is_open(datetime(2026, 11, 30, 10))


@settings(max_examples=300, deadline=None)
@given(
    start=st.datetimes(min_value=datetime(2026, 1, 1), max_value=datetime(2027, 12, 31), timezones=st.just(UTC)),
    minutes=st.integers(min_value=0, max_value=20 * 24 * 60),
    zone=st.sampled_from(["Europe/Paris", "America/New_York", "Asia/Kolkata", "Australia/Lord_Howe", "UTC"]),
)
def test_given_any_start_and_duration_then_adding_and_measuring_agree(start, minutes, zone):
    cal = office(zone, "08:30", "18:15", holidays=("2026-12-25", "2027-01-01"))
    end = cal.add_minutes(start, minutes)
    assert end >= start
    assert cal.minutes_between(start, end) == pytest.approx(minutes, abs=1e-6)
    if minutes:
        assert cal.is_open(end - timedelta(microseconds=1))  # the last business minute was inside opening hours
