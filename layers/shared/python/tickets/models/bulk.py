"""Bulk and batch request/response models."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field, field_validator

from tickets.models.common import InputModel, OutputModel
from tickets.models.tickets import Category, Id, PriorityIn, StatusIn, Tag

MAX_BULK_IDS = 100
Ids = Annotated[list[Id], Field(min_length=1, max_length=MAX_BULK_IDS)]


class BulkStatus(InputModel):
    ids: Ids
    status: StatusIn


class BulkPriority(InputModel):
    ids: Ids
    priority: PriorityIn


class BulkDelete(InputModel):
    ids: Ids


class SetStatus(InputModel):
    type: Literal["set_status"]
    value: StatusIn


class SetPriority(InputModel):
    type: Literal["set_priority"]
    value: PriorityIn


class Assign(InputModel):
    type: Literal["assign"]
    value: Id


class Unassign(InputModel):
    type: Literal["unassign"]
    value: None = None


class AddTags(InputModel):
    type: Literal["add_tags"]
    value: Annotated[list[Tag], Field(min_length=1, max_length=20)]


class RemoveTags(InputModel):
    type: Literal["remove_tags"]
    value: Annotated[list[Tag], Field(min_length=1, max_length=20)]


class SetCategory(InputModel):
    type: Literal["set_category"]
    value: Category | None = None


class SetGroup(InputModel):
    """A group id (an unassigned ticket is then routed by the group's rules), or null for no group."""

    type: Literal["set_group"]
    value: Id | None = None


Action = Annotated[
    SetStatus | SetPriority | Assign | Unassign | AddTags | RemoveTags | SetCategory | SetGroup,
    Field(discriminator="type"),
]


def _lower_type(value: Any) -> Any:
    if isinstance(value, list):
        return [{**a, "type": a["type"].lower()} if isinstance(a, dict) and isinstance(a.get("type"), str) else a
                for a in value]  # fmt: skip
    return value


class Batch(InputModel):
    ids: Ids
    actions: Annotated[list[Action], Field(min_length=1, max_length=10)]

    _types = field_validator("actions", mode="before")(_lower_type)


class SolveUnfinished(InputModel):
    customerId: Id | None = None


class ItemError(OutputModel):
    code: str
    detail: str


class ItemResult(OutputModel):
    id: str
    status: int
    error: ItemError | None = None


class BulkResult(OutputModel):
    results: list[ItemResult]
    succeeded: int
    failed: int


class SolveResult(OutputModel):
    resolved: int
    remaining: int
