"""The change feed's query and page (GET /v1/events, tickets.logic.feed)."""

from __future__ import annotations

from typing import Any

from pydantic import Field, ValidationInfo, field_validator

from tickets.models.common import DateTime, InputModel, OutputModel, Timestamp, whole_number
from tickets.models.events import EVENT_TYPES


def _types(value: Any) -> Any:
    """`types=a,b` (or repeated, which API Gateway joins with commas): the event types, any letter case."""
    if isinstance(value, str):
        value = [part for part in value.split(",") if part.strip()]
    if not isinstance(value, list):
        return value
    names = list(dict.fromkeys(str(v).strip().lower() for v in value))
    unknown = [n for n in names if n not in EVENT_TYPES]
    if unknown:
        raise ValueError(f"unknown event types: {', '.join(unknown)} (allowed: {', '.join(EVENT_TYPES)})")
    if not names:
        raise ValueError(f"name at least one event type ({', '.join(EVENT_TYPES)}), or leave types out")
    return names


class EventFeedQuery(InputModel):
    limit: int = Field(default=50, ge=1, le=100)
    after: str | None = Field(
        default=None, max_length=2048, description="A `nextCursor` of an earlier page: continue right after it."
    )
    since: Timestamp | None = Field(
        default=None,
        description="Start at the events the feed recorded at or after this time (not with `after`). Without "
        "either, the feed starts at its oldest event (30 days are kept).",
    )
    types: list[str] | None = Field(
        default=None,
        description=f"Only these event types (comma list): {', '.join(EVENT_TYPES)}. A page still examines at most "
        "1,000 events, so a rare type can give short or empty pages: follow `nextCursor` until `endOfFeed`.",
    )

    _limit = field_validator("limit", mode="before")(whole_number)
    _types = field_validator("types", mode="before")(_types)

    @field_validator("since")
    @classmethod
    def _not_with_after(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is not None and info.data.get("after") is not None:
            raise ValueError("`after` continues from a cursor, `since` starts at a time: give one of them")
        return value


class FeedEvent(OutputModel):
    """The envelope webhooks deliver, as they deliver it."""

    id: str
    type: str
    createdAt: DateTime
    data: dict[str, Any]


class EventFeedPage(OutputModel):
    data: list[FeedEvent]
    nextCursor: str = Field(description="Where to continue; at the end of the feed, where to resume later.")
    endOfFeed: bool = Field(description="The page read up to the newest event that may be read now.")
