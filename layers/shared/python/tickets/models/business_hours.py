"""Business hours (calendars): input and output models."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, field_validator, model_validator

from tickets.logic.calendar import Calendar
from tickets.models.common import InputModel, OutputModel, PageQuery, Text, field_error, refuse_nulls

Name = Annotated[Text, Field(min_length=1, max_length=100)]
Day = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
Clock = Annotated[str, Field(pattern=r"^\d{2}:\d{2}$", examples=["09:00"])]
Zone = Annotated[Text, Field(min_length=1, max_length=64, examples=["Europe/Paris"])]
Holiday = Annotated[str, Field(pattern=r"^\d{4}-\d{2}-\d{2}$", examples=["2026-12-25"])]
Id = Annotated[Text, Field(min_length=1, max_length=64)]


class Interval(InputModel):
    day: Annotated[Day, Field(description="mon..sun")]
    start: Clock
    end: Annotated[Clock, Field(description="After start; 24:00 is the end of the day")]

    @field_validator("day", mode="before")
    @classmethod
    def _lower(cls, value: Any) -> Any:
        return value.lower() if isinstance(value, str) else value


Weekly = Annotated[list[Interval], Field(min_length=1, max_length=50)]
Holidays = Annotated[list[Holiday], Field(max_length=200)]


def check_calendar(zone: str, weekly: list[Interval], holidays: list[str]) -> None:
    """Calendar.of accepts it, or the error names the field at fault (timeZone, holidays.<i> or weekly)."""
    try:
        ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError):  # ValueError: not a zone key at all ("../x", "")
        raise field_error("timeZone", "not an IANA time zone, e.g. Europe/Paris", zone) from None
    for i, day in enumerate(holidays):
        try:
            date.fromisoformat(day)
        except ValueError:
            raise field_error(f"holidays.{i}", "not a date (YYYY-MM-DD)", day) from None
    try:
        Calendar.of(zone, [w.model_dump() for w in weekly], holidays)
    except ValueError as exc:
        raise field_error("weekly", str(exc), None) from None


class BusinessHoursCreate(InputModel):
    name: Name
    timeZone: Zone
    weekly: Weekly
    holidays: Holidays = []

    @model_validator(mode="after")
    def _calendar(self) -> BusinessHoursCreate:
        check_calendar(self.timeZone, self.weekly, self.holidays)
        return self


class BusinessHoursPatch(InputModel):
    """Partial update: the calendar that results (stored fields with these over them) is checked whole."""

    name: Name | None = None
    timeZone: Zone | None = None
    weekly: Weekly | None = None
    holidays: Holidays | None = None

    @model_validator(mode="after")
    def _non_nullable(self) -> BusinessHoursPatch:
        refuse_nulls(self, ("name", "timeZone", "weekly", "holidays"))
        return self


class IntervalOut(OutputModel):
    day: str
    start: str
    end: str


class BusinessHours(OutputModel):
    id: str
    name: str
    timeZone: str
    weekly: list[IntervalOut]
    holidays: list[str] = []


class BusinessHoursPage(OutputModel):
    data: list[BusinessHours]
    total: int
    limit: int
    offset: int
    nextCursor: str | None = None


class BusinessHoursListQuery(PageQuery):
    pass
