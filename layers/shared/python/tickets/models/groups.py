"""Group input and output models: agents who share a queue, and how its tickets are routed to them."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any

from pydantic import Field, field_validator, model_validator

from tickets.models.common import CaseInsensitive, DateTime, InputModel, OutputModel, PageQuery, Text, refuse_nulls
from tickets.models.tickets import Id


class Routing(StrEnum):
    LEAST_LOADED = "least_loaded"  # fewest open tickets; ties: least recently assigned, then id
    ROUND_ROBIN = "round_robin"  # least recently assigned
    MANUAL = "manual"  # never assigned automatically


# One transaction writes the group and every agent that joins or leaves it (each agent lists its groups): a PATCH
# that swaps all members is 1 + 2 x 48 items, within DynamoDB's 100 per transaction.
MAX_GROUP_AGENTS = 48

RoutingIn = Annotated[Routing, CaseInsensitive]
GroupName = Annotated[Text, Field(min_length=1, max_length=100)]
Description = Annotated[Text, Field(max_length=1000)]
AgentIds = Annotated[
    list[Id],
    Field(max_length=MAX_GROUP_AGENTS, description=f"Agents of this tenant, at most {MAX_GROUP_AGENTS}, no repeats"),
]


def _distinct(value: list[str] | None) -> list[str] | None:
    if value is not None and len(set(value)) != len(value):
        raise ValueError("agentIds must not repeat")
    return value


class GroupCreate(InputModel):
    name: GroupName
    description: Description | None = None
    agentIds: AgentIds = []
    routing: RoutingIn = Routing.LEAST_LOADED
    businessHoursId: Id | None = Field(
        default=None, description="Routing assigns only while these business hours are open (null: always)"
    )

    _agents = field_validator("agentIds")(_distinct)


class GroupPatch(InputModel):
    name: GroupName | None = None
    description: Description | None = None
    agentIds: AgentIds | None = None
    routing: RoutingIn | None = None
    businessHoursId: Id | None = None

    _agents = field_validator("agentIds")(_distinct)

    @model_validator(mode="after")
    def _non_nullable(self) -> GroupPatch:
        refuse_nulls(self, ("name", "agentIds", "routing"))
        return self

    def changes(self) -> dict[str, Any]:
        return self.model_dump(mode="json", include=self.model_fields_set)


class Group(OutputModel):
    id: str
    name: str
    description: str | None = None
    agentIds: list[str] = []
    routing: Routing
    businessHoursId: str | None = None
    createdAt: DateTime
    updatedAt: DateTime


class GroupPage(OutputModel):
    data: list[Group]
    total: int
    limit: int
    offset: int
    nextCursor: str | None = None


class GroupListQuery(PageQuery):
    pass
