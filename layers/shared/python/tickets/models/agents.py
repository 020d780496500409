"""Agent input and output models."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any

from pydantic import BeforeValidator, Field

from tickets.models.common import Email, InputModel, OutputModel, PageQuery, Text


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

    def changes(self) -> dict[str, Any]:
        data = self.model_dump(mode="json", include=self.model_fields_set)
        nulls = [k for k, v in data.items() if v is None]
        if nulls:
            raise ValueError(f"{nulls[0]} cannot be null")
        return data


class Agent(OutputModel):
    id: str
    name: str
    email: str
    level: Level
    available: bool
    openTickets: int = 0
    createdAt: str
    updatedAt: str


class AgentPage(OutputModel):
    data: list[Agent]
    total: int
    limit: int
    offset: int
    nextCursor: str | None = None


class AgentListQuery(PageQuery):
    pass
