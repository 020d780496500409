"""Agent input and output models."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any

from pydantic import BeforeValidator, Field, model_validator

from tickets.models.common import DateTime, Email, InputModel, OutputModel, Page, PageQuery, Text, refuse_nulls


class Level(StrEnum):
    N1 = "N1"
    N2 = "N2"
    N3 = "N3"


def _upper(value: Any) -> Any:
    return value.upper() if isinstance(value, str) else value


LevelIn = Annotated[Level, BeforeValidator(_upper)]
Name = Annotated[Text, Field(min_length=1, max_length=200)]


class AgentCreate(InputModel):
    name: Name
    email: Email
    level: LevelIn = Level.N1
    available: bool = True


class AgentPatch(InputModel):
    name: Name | None = None
    email: Email | None = None
    level: LevelIn | None = None
    available: bool | None = None

    @model_validator(mode="after")
    def _non_nullable(self) -> AgentPatch:
        refuse_nulls(self, tuple(type(self).model_fields))
        return self

    def changes(self) -> dict[str, Any]:
        return self.model_dump(mode="json", include=self.model_fields_set)


class Agent(OutputModel):
    id: str
    name: str
    email: str
    level: Level
    available: bool
    openTickets: int = 0
    createdAt: DateTime
    updatedAt: DateTime


class AgentPage(Page[Agent]):
    pass


class AgentListQuery(PageQuery):
    pass
