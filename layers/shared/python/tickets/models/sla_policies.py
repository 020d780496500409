"""SLA policy input and output models."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, model_validator

from tickets.models.common import InputModel, OutputModel, PageQuery, Text, refuse_nulls
from tickets.models.tickets import Channel, ChannelIn, Priority, PriorityIn

Name = Annotated[Text, Field(min_length=1, max_length=100)]
Id = Annotated[Text, Field(min_length=1, max_length=64)]

Minutes = Annotated[int, Field(ge=1, le=366 * 24 * 60)]
MAX_POSITION = 999_999


class TargetIn(InputModel):
    firstReplyMinutes: Minutes
    resolutionMinutes: Minutes


class Conditions(InputModel):
    """All given conditions must hold (each: the ticket's value is one of the list); none given: every ticket."""

    priority: Annotated[list[PriorityIn], Field(min_length=1, max_length=5)] | None = None
    groupId: Annotated[list[Id], Field(min_length=1, max_length=50)] | None = None
    channel: Annotated[list[ChannelIn], Field(min_length=1, max_length=5)] | None = None


Targets = Annotated[dict[PriorityIn, TargetIn], Field(min_length=1, description="Targets by ticket priority")]
Position = Annotated[int, Field(ge=0, le=MAX_POSITION, description="Lowest first; ties by id")]


class SlaPolicyCreate(InputModel):
    name: Name
    position: Position
    conditions: Conditions = Conditions()
    targets: Targets
    businessHoursId: Id | None = None


class SlaPolicyPatch(InputModel):
    name: Name | None = None
    position: Position | None = None
    conditions: Conditions | None = None
    targets: Targets | None = None
    businessHoursId: Id | None = None

    @model_validator(mode="after")
    def _non_nullable(self) -> SlaPolicyPatch:
        refuse_nulls(self, ("name", "position", "conditions", "targets"))
        return self


class ConditionsOut(OutputModel):
    priority: list[Priority] | None = None
    groupId: list[str] | None = None
    channel: list[Channel] | None = None


class TargetOut(OutputModel):
    firstReplyMinutes: int
    resolutionMinutes: int


class SlaPolicy(OutputModel):
    id: str
    name: str
    position: int
    conditions: ConditionsOut
    targets: dict[Priority, TargetOut]
    businessHoursId: str | None = None


class SlaPolicyPage(OutputModel):
    data: list[SlaPolicy]
    total: int
    limit: int
    offset: int
    nextCursor: str | None = None


class SlaPolicyListQuery(PageQuery):
    pass
