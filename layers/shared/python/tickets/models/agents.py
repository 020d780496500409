"""Agent input and output models."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any

from pydantic import BeforeValidator, Field, field_validator, model_validator

from tickets.models.common import DateTime, Email, InputModel, OutputModel, Page, PageQuery, Text, refuse_nulls


class Level(StrEnum):
    N1 = "N1"
    N2 = "N2"
    N3 = "N3"


def _upper(value: Any) -> Any:
    return value.upper() if isinstance(value, str) else value


LevelIn = Annotated[Level, BeforeValidator(_upper)]
Name = Annotated[Text, Field(min_length=1, max_length=200)]
Skill = Annotated[Text, Field(min_length=1, max_length=50)]
MAX_AGENT_SKILLS = 20
Skills = Annotated[
    list[Skill],
    Field(max_length=MAX_AGENT_SKILLS, description="Matched case-insensitively against tickets' requiredSkills"),
]
Capacity = Annotated[
    int,
    Field(ge=0, le=100_000, description="Most open tickets routing gives the agent; null: no limit"),
]


def unique_skills(value: list[str] | None) -> list[str] | None:
    """Skills match case-insensitively, so two spellings of one skill are one skill given twice."""
    if value is not None and len({s.casefold() for s in value}) != len(value):
        raise ValueError("skills must not repeat (case-insensitively)")
    return value


class AgentCreate(InputModel):
    name: Name
    email: Email
    level: LevelIn = Level.N1
    available: bool = True
    skills: Skills = []
    capacity: Capacity | None = None

    _skills = field_validator("skills")(unique_skills)


class AgentPatch(InputModel):
    name: Name | None = None
    email: Email | None = None
    level: LevelIn | None = None
    available: bool | None = None
    skills: Skills | None = None
    capacity: Capacity | None = None

    _skills = field_validator("skills")(unique_skills)

    @model_validator(mode="after")
    def _non_nullable(self) -> AgentPatch:
        refuse_nulls(self, tuple(name for name in type(self).model_fields if name != "capacity"))
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
    skills: list[str] = []
    capacity: int | None = None
    groupIds: list[str] = Field(default=[], description="The groups the agent is a member of (read-only)")
    createdAt: DateTime
    updatedAt: DateTime


class AgentPage(Page[Agent]):
    pass


class AgentListQuery(PageQuery):
    pass
