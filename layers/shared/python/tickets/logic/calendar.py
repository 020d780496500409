"""Business hours as a calendar: "is it open at t" and "when have N business minutes passed" (a pure module).

A calendar is an IANA time zone, weekly opening intervals in that zone's local time, and holidays (local dates
on which it stays closed). A business minute is a real minute during which the calendar is open, so across a
DST change an interval lasts as long as the wall clock says it does that day (09:00-17:00 is 8 hours either
way; 00:00-06:00 lasts 5 hours on a spring-forward night and 7 on a fall-back one). A local time is read as
Python's zoneinfo reads it by default (fold=0): one that happens twice (a fall-back hour) is its first
occurrence, and one that does not exist (inside a spring-forward gap) takes the offset from before the change,
so a 02:30 opening on that night opens at 03:30 summer time.

Everything takes and returns aware datetimes; results are in UTC.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from itertools import pairwise
from zoneinfo import ZoneInfo

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
# How far ahead an answer is looked for: a calendar open one day a year, with that day a holiday for years on end,
# has no answer worth waiting for.
HORIZON_DAYS = 3 * 366


@dataclass(frozen=True)
class Opening:
    """One weekly interval: `day` 0 (Monday) to 6, from `start` to `end` local time (`end` None: midnight)."""

    day: int
    start: time
    end: time | None = None


def parse_clock(text: str) -> time | None:
    """ "09:00" -> 09:00; "24:00" -> None (the end of the day)."""
    hours, _, minutes = text.partition(":")
    if len(hours) != 2 or len(minutes) != 2 or not (hours + minutes).isdigit():
        raise ValueError(f"{text!r} is not HH:MM")
    h, m = int(hours), int(minutes)
    if (h, m) == (24, 0):
        return None
    if h > 23 or m > 59:
        raise ValueError(f"{text!r} is not a time of day")
    return time(h, m)


class Calendar:
    """Opening hours in a time zone. Build it from the API's shape with `Calendar.of(...)`."""

    def __init__(self, zone: str, openings: Iterable[Opening], holidays: Iterable[date] = ()) -> None:
        self.zone = ZoneInfo(zone)
        self.week: dict[int, list[tuple[time, time | None]]] = {d: [] for d in range(7)}
        for o in openings:
            if o.end is not None and o.end <= o.start:
                raise ValueError(f"{DAYS[o.day]} {o.start:%H:%M}-{o.end:%H:%M}: the end must come after the start")
            self.week[o.day].append((o.start, o.end))
        for intervals in self.week.values():
            intervals.sort(key=lambda i: i[0])
            for (_, end), (start, _) in pairwise(intervals):
                if end is None or end > start:
                    raise ValueError("opening intervals of one day must not overlap")
        if not any(self.week.values()):
            raise ValueError("a calendar needs at least one opening interval")
        self.holidays = frozenset(holidays)

    @classmethod
    def of(cls, zone: str, weekly: Iterable[dict[str, str]], holidays: Iterable[str] = ()) -> Calendar:
        """From `{timeZone, weekly: [{day: mon..sun, start: "09:00", end: "17:30"}], holidays: ["2026-12-25"]}`."""
        openings = []
        for w in weekly:
            start = parse_clock(w["start"])
            if start is None:
                raise ValueError("an interval cannot start at 24:00")
            openings.append(Opening(DAYS.index(w["day"]), start, parse_clock(w["end"])))
        return cls(zone, openings, (date.fromisoformat(h) for h in holidays))

    def _local(self, day: date, clock: time | None) -> datetime:
        """The instant a local date and time name (None: the next midnight), in UTC."""
        if clock is None:
            return self._local(day + timedelta(days=1), time(0))
        return datetime.combine(day, clock, tzinfo=self.zone).astimezone(UTC)  # fold=0: see the module's doc

    def periods(self, since: datetime) -> Iterator[tuple[datetime, datetime]]:
        """Open periods (UTC start, end), in order, from the one that contains `since` (clipped to it) onwards."""
        _aware(since)
        day = since.astimezone(self.zone).date() - timedelta(days=1)  # yesterday's late interval may still run
        last = day + timedelta(days=HORIZON_DAYS)
        while day <= last:
            if day not in self.holidays:
                for start, end in self.week[day.weekday()]:
                    a, b = self._local(day, start), self._local(day, end)
                    if b > since and b > a:
                        yield max(a, since), b
            day += timedelta(days=1)

    def is_open(self, at: datetime) -> bool:
        first = next(self.periods(at), None)
        return first is not None and first[0] <= at < first[1]

    def next_open(self, at: datetime) -> datetime:
        """`at` if open then, else when it next opens."""
        for start, _ in self.periods(at):
            return start
        raise ValueError(f"closed for the next {HORIZON_DAYS} days")

    def add_minutes(self, start: datetime, minutes: float) -> datetime:
        """The instant at which `minutes` business minutes have passed since `start` (UTC).

        0 minutes from a closed moment is that moment itself: nothing has to pass.
        """
        if minutes < 0:
            raise ValueError("minutes must not be negative")
        left = timedelta(minutes=minutes)
        if not left:
            return start.astimezone(UTC)
        for a, b in self.periods(start):
            if b - a >= left:
                return a + left
            left -= b - a
        raise ValueError(f"fewer than {minutes} business minutes in the next {HORIZON_DAYS} days")

    def minutes_between(self, start: datetime, end: datetime) -> float:
        """Business minutes in [start, end) (0 if end is not after start)."""
        total = timedelta()
        if end <= start:
            return 0.0
        for a, b in self.periods(start):
            if a >= end:
                break
            total += min(b, end) - a
        return total.total_seconds() / 60


def _aware(t: datetime) -> None:
    if t.tzinfo is None:
        raise ValueError("times must be aware (carry a time zone)")
