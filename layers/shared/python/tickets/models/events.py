"""Stream records in, domain events out: the typed shapes the stream consumers work with."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

EventType = Literal[
    "ticket.created",
    "ticket.updated",
    "ticket.deleted",
    "ticket.status_changed",
    "ticket.assigned",
    "ticket.sla_warning",
    "ticket.sla_breached",
    "comment.created",
    "webhook.test",
]
EVENT_TYPES: tuple[str, ...] = (
    "ticket.created",
    "ticket.updated",
    "ticket.deleted",
    "ticket.status_changed",
    "ticket.assigned",
    "ticket.sla_warning",
    "ticket.sla_breached",
    "comment.created",
)


class StreamChange(BaseModel):
    """The `dynamodb` part of a DynamoDB Streams record; images stay in AttributeValue form."""

    model_config = ConfigDict(extra="ignore", defer_build=True)

    ApproximateCreationDateTime: float | None = None
    SequenceNumber: str = ""
    Keys: dict[str, Any] = {}
    NewImage: dict[str, Any] | None = None
    OldImage: dict[str, Any] | None = None


class StreamRecord(BaseModel):
    model_config = ConfigDict(extra="ignore", defer_build=True)

    eventID: str
    eventName: Literal["INSERT", "MODIFY", "REMOVE"]
    dynamodb: StreamChange


class DomainEvent(BaseModel):
    """The event envelope that webhooks, EventBridge and history share: {id, type, createdAt, data}."""

    model_config = ConfigDict(defer_build=True)

    id: str = Field(pattern=r"^evt_[0-9A-Z]{26}$")
    type: EventType
    createdAt: str
    data: dict[str, Any]
    tenantId: str = Field(exclude=True)
    actor: str | None = Field(default=None, exclude=True)  # the API key id that made the change
