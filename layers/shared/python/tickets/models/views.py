"""Views: saved ticket lists (conditions and a sort), shared or an agent's own."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import Field, field_validator, model_validator

from tickets.models.common import (
    DateTime,
    InputModel,
    OutputModel,
    Page,
    PageQuery,
    Text,
    field_error,
    refuse_nulls,
    text_problem,
    to_iso,
)
from tickets.models.tickets import STATUS_SYNONYMS, Channel, Priority, SortKey, Status

# field -> (operators it takes, kind of value). Every field is one the list planner can read or check.
ENUMS: dict[str, tuple[str, ...]] = {
    "status": tuple(Status),
    "priority": tuple(Priority),
    "channel": tuple(Channel),
}
IDS = ("assigneeId", "groupId", "customerId")  # an id, or `none` (and for assigneeId `me`)
TEXTS = {"tag": 50, "category": 64}
TIMES = ("createdAt", "updatedAt", "dueAt")
BOOLS = ("slaBreached",)
FIELDS = (*ENUMS, *IDS, *TEXTS, *BOOLS, *TIMES)
SET_OPERATORS = ("is", "is_not", "in", "not_in")
TIME_OPERATORS = ("before", "after")
OPERATORS = (*SET_OPERATORS, *TIME_OPERATORS)
MAX_CONDITIONS = 20  # in `all`, and in `any`
MAX_VALUES = 100  # in the list of an `in` / `not_in`


class Condition(InputModel):
    """`{field, operator, value}`: `is`, `is_not` take one value, `in`, `not_in` a list, `before`, `after` a
    timestamp (createdAt, updatedAt, dueAt only). assigneeId takes an agent id, `me` (the calling key's agent) or
    `none`; groupId and customerId an id or `none`; slaBreached `true` or `false` (`is`, `is_not`)."""

    field: Annotated[Text, Field(max_length=64, json_schema_extra={"enum": list(FIELDS)})]
    operator: Annotated[Text, Field(max_length=64, json_schema_extra={"enum": list(OPERATORS)})]
    value: Any = None

    @field_validator("value")
    @classmethod
    def _text(cls, value: Any) -> Any:
        """Strings must be text (no NUL, no lone surrogate), named where they are; the rest is checked per field."""
        for i, item in enumerate(value if isinstance(value, list) else [value]):
            if isinstance(item, str) and (problem := text_problem(item)):
                if isinstance(value, list):
                    raise field_error(str(i), problem, item)
                raise ValueError(problem)
        return value


class Conditions(InputModel):
    """A ticket matches when it meets every condition of `all` and, if `any` has conditions, at least one of them."""

    all: Annotated[list[Condition], Field(max_length=MAX_CONDITIONS)] = []
    any: Annotated[list[Condition], Field(max_length=MAX_CONDITIONS)] = []

    @model_validator(mode="after")
    def _valid(self) -> Conditions:
        for group in ("all", "any"):
            conditions: list[Condition] = getattr(self, group)
            for i, condition in enumerate(conditions):
                where = f"{group}[{i}]"  # under `conditions`: every refusal names the condition itself
                conditions[i] = Condition(
                    field=condition.field, operator=condition.operator, value=_value(where, condition)
                )
        return self


def _refuse(where: str, message: str, value: Any = None) -> Exception:
    return field_error(where, message, value)


def _one(where: str, field: str, value: Any) -> Any:
    """One value of `field`, normalised (enums lowercase, status synonyms canonical)."""
    if field in BOOLS:
        if not isinstance(value, bool):
            raise _refuse(where, f"{field} takes true or false", value)
        return value
    if field in TEXTS and value is None:
        return None  # category is none (no category)
    if not isinstance(value, str) or not value:
        raise _refuse(where, f"{field} takes a non-empty string", value)
    if problem := text_problem(value):
        raise _refuse(where, problem)
    if field in ENUMS:
        lowered = value.lower()
        lowered = STATUS_SYNONYMS.get(lowered, lowered) if field == "status" else lowered
        if lowered not in ENUMS[field]:
            raise _refuse(where, f"{field} is one of {', '.join(ENUMS[field])}", value)
        return str(lowered)
    limit = TEXTS.get(field, 64)
    if len(value) > limit:
        raise _refuse(where, f"{field} values are at most {limit} characters", value)
    return value


def _value(where: str, c: Condition) -> Any:
    if c.field not in FIELDS:
        raise _refuse(where, f"unknown field {c.field!r}; conditions take {', '.join(FIELDS)}", c.field)
    if c.operator not in OPERATORS:
        raise _refuse(where, f"unknown operator {c.operator!r}; one of {', '.join(OPERATORS)}", c.operator)
    if c.field in TIMES:
        if c.operator not in TIME_OPERATORS:
            raise _refuse(where, f"{c.field} takes the operators before and after", c.operator)
        try:
            return to_iso(c.value)
        except ValueError as exc:
            raise _refuse(where, str(exc), c.value) from None
    if c.operator in TIME_OPERATORS:
        raise _refuse(where, f"{c.operator} is only for createdAt, updatedAt and dueAt", c.operator)
    if c.field in BOOLS and c.operator not in ("is", "is_not"):
        raise _refuse(where, f"{c.field} takes the operators is and is_not", c.operator)
    if c.operator in ("in", "not_in"):
        if not isinstance(c.value, list) or not c.value or len(c.value) > MAX_VALUES:
            raise _refuse(where, f"{c.operator} takes a list of 1 to {MAX_VALUES} values", c.value)
        values = [_one(where, c.field, v) for v in c.value]
        return list(dict.fromkeys(values))
    if isinstance(c.value, list):
        raise _refuse(where, f"{c.operator} takes one value (in and not_in take a list)", c.value)
    return _one(where, c.field, c.value)


ViewName = Annotated[Text, Field(min_length=1, max_length=200)]
AgentRef = Annotated[
    Text,
    Field(
        min_length=1,
        max_length=64,
        description="null: a shared view (needs settings:manage); `me` or an agent id: that agent's own view "
        "(another agent's needs settings:manage)",
    ),
]


class ViewCreate(InputModel):
    name: ViewName
    agentId: AgentRef | None = None
    conditions: Conditions = Conditions()
    sort: SortKey = "-createdAt"


class ViewPatch(InputModel):
    """Partial update; `conditions` and `sort` are replaced whole."""

    name: ViewName | None = None
    agentId: AgentRef | None = None
    conditions: Conditions | None = None
    sort: SortKey | None = None

    @model_validator(mode="after")
    def _non_nullable(self) -> ViewPatch:
        refuse_nulls(self, ("name", "conditions", "sort"))
        return self


class ConditionOut(OutputModel):
    field: str
    operator: str
    value: Any = None


class ConditionsOut(OutputModel):
    all: list[ConditionOut] = []
    any: list[ConditionOut] = []


class View(OutputModel):
    id: str
    name: str
    agentId: str | None = Field(default=None, description="null: shared; else the agent whose own view it is")
    conditions: ConditionsOut
    sort: str
    createdAt: DateTime
    updatedAt: DateTime


class ViewPage(Page[View]):
    pass


class ViewCount(OutputModel):
    viewId: str
    total: int = Field(description="Exact when totalExact is true; otherwise the matches counted within the budget")
    totalExact: bool


class ViewListQuery(PageQuery):
    pass


class ViewTicketsQuery(PageQuery):
    pass
