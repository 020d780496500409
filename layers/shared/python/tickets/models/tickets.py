"""Ticket input and output models."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, Field, WithJsonSchema, field_validator, model_validator

from tickets.models.common import (
    CaseInsensitive,
    DateTime,
    InputModel,
    OutputModel,
    Page,
    PageQuery,
    Scalar,
    Text,
    Timestamp,
    check_json_object,
    field_error,
    refuse_nulls,
)


class Status(StrEnum):
    NEW = "new"
    OPEN = "open"
    IN_PROGRESS = "in_progress"
    PENDING = "pending"
    ON_HOLD = "on_hold"
    RESOLVED = "resolved"
    CLOSED = "closed"


UNFINISHED = (Status.NEW, Status.OPEN, Status.IN_PROGRESS, Status.PENDING, Status.ON_HOLD)


class Priority(StrEnum):
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    URGENT = "urgent"
    CRITICAL = "critical"


class Channel(StrEnum):
    API = "api"
    EMAIL = "email"
    WEB = "web"
    PHONE = "phone"
    CHAT = "chat"


# Seed 003 and Zendesk spell two statuses differently: accepted on input, never written back.
STATUS_SYNONYMS = {"solved": Status.RESOLVED, "holding": Status.ON_HOLD, "hold": Status.ON_HOLD}


def _status_in(value: Any) -> Any:
    if isinstance(value, str):
        value = value.lower()
        return STATUS_SYNONYMS.get(value, value)
    return value


StatusIn = Annotated[
    Status,
    BeforeValidator(_status_in),
    WithJsonSchema({"type": "string", "enum": [*Status, *STATUS_SYNONYMS], "description": "Any letter case; "
                    "`solved` means `resolved`, `holding` and `hold` mean `on_hold`."}),
]  # fmt: skip
PriorityIn = Annotated[Priority, CaseInsensitive]
ChannelIn = Annotated[Channel, CaseInsensitive]
Subject = Annotated[Text, Field(min_length=1, max_length=250)]
Description = Annotated[Text, Field(max_length=50_000)]
Category = Annotated[Text, Field(min_length=1, max_length=64)]
Id = Annotated[Text, Field(min_length=1, max_length=64)]
ExternalId = Annotated[Text, Field(min_length=1, max_length=200)]
TagIds = Annotated[list[Id], Field(max_length=20)]
Tag = Annotated[Text, Field(min_length=1, max_length=50)]
RequiredSkills = Annotated[
    list[Annotated[Text, Field(min_length=1, max_length=50)]],
    Field(max_length=10, description="Skills an agent needs (all of them, case-insensitively) to be routed the ticket"),
]
CustomValue = Annotated[
    Annotated[Text, Field(max_length=1000)] | Annotated[int, Field(ge=-(2**63), le=2**63 - 1)] | float | bool | None,
    Scalar,
]


class Requester(InputModel):
    name: Annotated[Text, Field(max_length=200)] | None = None
    email: Annotated[Text, Field(max_length=320)] | None = None
    phone: Annotated[Text, Field(max_length=50)] | None = None


class _TicketFields(InputModel):
    """Validators shared by create and patch."""

    @field_validator("subject", check_fields=False)
    @classmethod
    def _subject_not_blank(cls, value: str | None) -> str | None:
        if value is not None and not value.strip():
            raise ValueError("must not be blank")
        return value

    @field_validator("tags", check_fields=False)
    @classmethod
    def _unique_tags(cls, value: list[str] | None) -> list[str] | None:
        if value is not None and len(set(value)) != len(value):
            raise ValueError("tags must not contain duplicates")
        return value

    @field_validator("customFields", check_fields=False)
    @classmethod
    def _custom_fields(cls, value: dict[str, Any] | None) -> dict[str, Any] | None:
        if value is not None and len(value) > 50:
            raise ValueError("at most 50 keys")
        return value

    _metadata = field_validator("metadata", check_fields=False)(check_json_object)

    @field_validator("requiredSkills", check_fields=False)
    @classmethod
    def _unique_skills(cls, value: list[str] | None) -> list[str] | None:
        if value is not None and len({s.casefold() for s in value}) != len(value):
            raise ValueError("requiredSkills must not repeat (case-insensitively)")
        return value

    @model_validator(mode="after")
    def _one_customer_reference(self) -> Any:
        if {"customerId", "customerExternalId"} <= self.model_fields_set:
            message = "give customerId or customerExternalId, not both"
            raise field_error("customerExternalId", message, getattr(self, "customerExternalId", None))
        return self


class TicketCreate(_TicketFields):
    subject: Subject
    description: Description | None = None
    status: StatusIn = Status.NEW
    priority: PriorityIn = Priority.MEDIUM
    category: Category | None = None
    channel: ChannelIn = Channel.API
    customerId: Id | None = None
    customerExternalId: ExternalId | None = None
    requester: Requester | None = None
    assigneeId: Id | None = None
    tags: Annotated[list[Tag], Field(max_length=20)] = []
    tagIds: TagIds = []
    parentId: Id | None = None
    customFields: dict[Annotated[str, Field(min_length=1, max_length=100)], CustomValue] = {}
    metadata: dict[str, Any] = {}
    dedupeKey: Annotated[Text, Field(min_length=1, max_length=200)] | None = None
    dueAt: Timestamp | None = None
    groupId: Id | None = Field(default=None, description="With no assigneeId, the group's routing assigns the ticket")
    requiredSkills: RequiredSkills = []


class TicketPatch(_TicketFields):
    """Partial update: only fields present in the body change; `null` clears a nullable field."""

    subject: Subject | None = None
    description: Description | None = None
    status: StatusIn | None = None
    priority: PriorityIn | None = None
    category: Category | None = None
    channel: ChannelIn | None = None
    customerId: Id | None = None
    customerExternalId: ExternalId | None = None
    requester: Requester | None = None
    assigneeId: Id | None = None
    tags: Annotated[list[Tag], Field(max_length=20)] | None = None
    tagIds: TagIds | None = None
    parentId: Id | None = None
    customFields: dict[Annotated[str, Field(min_length=1, max_length=100)], CustomValue] | None = None
    metadata: dict[str, Any] | None = None
    dedupeKey: Annotated[Text, Field(min_length=1, max_length=200)] | None = None
    dueAt: Timestamp | None = None
    groupId: Id | None = Field(
        default=None, description="Setting a group on an unassigned ticket routes it by the group's rules"
    )
    requiredSkills: RequiredSkills | None = None

    @model_validator(mode="after")
    def _non_nullable(self) -> TicketPatch:
        refuse_nulls(self, ("subject", "status", "priority", "channel", "customerExternalId", "tagIds"))
        return self

    def changes(self) -> dict[str, Any]:
        """The stored fields this patch sets (references by external id or tag id are resolved by the logic)."""
        data = self.model_dump(mode="json", include=self.model_fields_set - {"customerExternalId", "tagIds"})
        # A ticket always has these (possibly empty): `null` clears them to empty, it does not store a null.
        for name, empty in (("tags", []), ("customFields", {}), ("metadata", {}), ("requiredSkills", [])):
            if name in data and data[name] is None:
                data[name] = empty
        return data


class CustomerRef(OutputModel):
    id: str
    externalId: str
    name: str | None = None
    email: str | None = None


class AgentRef(OutputModel):
    id: str
    name: str | None = None
    email: str | None = None


class RequesterOut(OutputModel):
    name: str | None = None
    email: str | None = None
    phone: str | None = None


class TicketSla(OutputModel):
    """The ticket's SLA, computed by the API (read-only): the first matching policy's targets for its priority."""

    policyId: str | None = Field(default=None, description="null: no policy matches the ticket any more")
    firstReplyDueAt: DateTime | None = None
    resolutionDueAt: DateTime | None = Field(
        default=None,
        description="Moves on by the business minutes the ticket spends pending or on_hold (pausedAt) or resolved",
    )
    firstReplyBreachedAt: DateTime | None = None
    resolutionBreachedAt: DateTime | None = None
    pausedAt: DateTime | None = Field(default=None, description="Set while pending or on_hold")


class Ticket(OutputModel):
    id: str
    number: int
    reference: str
    subject: str
    description: str | None = None
    status: Status
    priority: Priority
    category: str | None = None
    channel: Channel
    customerId: str | None = None
    customer: CustomerRef | None = None
    requester: RequesterOut | None = None
    assigneeId: str | None = None
    assignee: AgentRef | None = None
    groupId: str | None = None
    requiredSkills: list[str] = []
    tags: list[str] = []
    parentId: str | None = None
    customFields: dict[str, CustomValue] = {}
    metadata: dict[str, Any] = {}
    dedupeKey: str | None = None
    occurrences: int = 1
    dueAt: DateTime | None = None
    createdAt: DateTime
    updatedAt: DateTime
    resolvedAt: DateTime | None = None
    closedAt: DateTime | None = None
    commentCount: int = 0
    lastCommentAt: DateTime | None = None
    firstRespondedAt: DateTime | None = Field(default=None, description="The first public comment by an agent")
    sla: TicketSla | None = None
    version: int


class TicketPage(Page[Ticket]):
    pass


SortKey = Literal["-createdAt", "createdAt", "-updatedAt", "updatedAt", "dueAt", "-dueAt"]


def _split_csv(value: Any) -> Any:
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    return value


class TicketListQuery(PageQuery):
    status: Annotated[list[StatusIn], Field(min_length=1)] | None = None
    priority: Annotated[list[PriorityIn], Field(min_length=1)] | None = None
    customerId: Id | None = None
    assigneeId: Id | None = Field(default=None, description="An agent id, `none` or `me` (the key's own agent)")
    groupId: Id | None = Field(default=None, description="A group id, or `none` (tickets without a group)")
    tag: Tag | None = None
    category: Category | None = None
    createdAfter: Timestamp | None = None
    createdBefore: Timestamp | None = None
    updatedSince: Timestamp | None = None
    q: Annotated[Text, Field(min_length=1, max_length=200)] | None = None
    dueBefore: Timestamp | None = Field(default=None, description="Tickets due before this time (overdue: now)")
    dueAfter: Timestamp | None = Field(default=None, description="Tickets due at or after this time")
    slaBreached: bool | None = Field(default=None, description="true: an SLA target of the ticket is breached")
    sort: SortKey = Field(
        default="-createdAt",
        description="`dueAt` / `-dueAt` list the unfinished tickets that have a due time, soonest (latest) first",
    )

    _csv = field_validator("status", "priority", mode="before")(_split_csv)


class TicketIntake(_TicketFields):
    """POST /v1/tickets/api-create: a business event from the tenant's back-end, naming its customer."""

    customerExternalId: ExternalId
    subject: Subject
    description: Description | None = None
    priority: PriorityIn = Priority.MEDIUM
    category: Category | None = None
    metadata: dict[str, Any] = {}
    tags: Annotated[list[Tag], Field(max_length=20)] = []
    tagIds: TagIds = []
    dedupeKey: Annotated[Text, Field(min_length=1, max_length=200)] | None = None
    groupId: Id | None = Field(default=None, description="Route the ticket by this group's rules (not the N1 rule)")
    requiredSkills: RequiredSkills = []
