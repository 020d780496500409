"""Webhook subscription, delivery log and ticket history models."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field, field_validator, model_validator

from tickets.models.common import DateTime, InputModel, OutputModel, Page, PageQuery, Text, refuse_nulls
from tickets.models.events import EVENT_TYPES

EventName = Annotated[Text, Field(min_length=1, max_length=64)]
Url = Annotated[Text, Field(min_length=1, max_length=2048)]
Description = Annotated[Text, Field(max_length=500)]


def _events(value: list[str] | None) -> list[str] | None:
    if value is None:
        return None
    names = [v.strip().lower() for v in value]
    if len(set(names)) != len(names):
        raise ValueError("events must not contain duplicates")
    if "*" in names and len(names) > 1:
        raise ValueError('"*" subscribes to every event and stands alone')
    unknown = sorted(set(names) - {"*", *EVENT_TYPES})
    if unknown:
        raise ValueError(f"unknown event types: {', '.join(unknown)} (allowed: *, {', '.join(EVENT_TYPES)})")
    return names


class WebhookCreate(InputModel):
    url: Url
    events: Annotated[list[EventName], Field(min_length=1, max_length=10)] = ["*"]
    description: Description | None = None
    enabled: bool = True

    _check_events = field_validator("events")(_events)


class WebhookPatch(InputModel):
    url: Url | None = None
    events: Annotated[list[EventName], Field(min_length=1, max_length=10)] | None = None
    description: Description | None = None
    enabled: bool | None = None

    _check_events = field_validator("events")(_events)

    @model_validator(mode="after")
    def _non_nullable(self) -> WebhookPatch:
        refuse_nulls(self, ("url", "events", "enabled"))
        return self

    def changes(self) -> dict[str, Any]:
        return self.model_dump(mode="json", include=self.model_fields_set)


class Webhook(OutputModel):
    id: str
    url: str
    events: list[str]
    description: str | None = None
    enabled: bool
    disabledReason: str | None = None
    createdAt: DateTime
    updatedAt: DateTime | None = None


class WebhookWithSecret(Webhook):
    """Only POST /v1/webhooks and rotate-secret return the secret."""

    # null when an Idempotency-Key replays the answer: the stored answer never holds the secret.
    secret: str | None


class WebhookPage(Page[Webhook]):
    pass


class WebhookListQuery(PageQuery):
    pass


DeliveryState = Literal["pending", "succeeded", "failed"]


class DeliveryAttempt(OutputModel):
    id: str
    eventId: str
    eventType: str
    attempt: int
    state: DeliveryState
    responseStatus: int | None = None
    durationMs: int | None = None
    error: str | None = None
    nextAttemptAt: DateTime | None = None
    createdAt: DateTime


class DeliveryPage(Page[DeliveryAttempt]):
    pass


class DeliveryListQuery(PageQuery):
    pass


class RetryAccepted(OutputModel):
    id: str
    state: DeliveryState
    attempt: int


class HistoryEntry(OutputModel):
    at: DateTime
    type: Literal["created", "status_changed", "assigned", "updated", "commented", "sla_warning", "sla_breached"]
    # "from" is a Python keyword: the field is named from_ and serialised as "from".
    from_: Any = Field(default=None, alias="from", serialization_alias="from")
    to: Any = None
    actor: str | None = None


class HistoryPage(Page[HistoryEntry]):
    pass


class HistoryQuery(PageQuery):
    pass
