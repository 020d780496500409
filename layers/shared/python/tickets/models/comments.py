"""The conversation on a ticket: comments (public replies and internal notes), as input and as output."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import Field, field_validator

from tickets.models.common import DateTime, InputModel, OutputModel, Page, PageQuery, Text
from tickets.models.tickets import Id, StatusIn

MAX_BODY = 65_536
MAX_ATTACHMENTS = 10
MAX_COMMENTS_PER_TICKET = 5_000
REDACTED = "[redacted]"


class Visibility(StrEnum):
    PUBLIC = "public"
    INTERNAL = "internal"


def _lower(value: object) -> object:
    return value.lower() if isinstance(value, str) else value


class CommentCreate(InputModel):
    body: Annotated[Text, Field(min_length=1, max_length=MAX_BODY, description="Markdown")]
    visibility: Visibility = Visibility.PUBLIC
    attachmentIds: Annotated[list[Id], Field(max_length=MAX_ATTACHMENTS)] = []
    status: StatusIn | None = Field(
        default=None, description="Set the ticket's status in the same write (needs tickets:status)"
    )

    _visibility = field_validator("visibility", mode="before")(_lower)

    @field_validator("body")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("must not be blank")
        return value

    @field_validator("attachmentIds")
    @classmethod
    def _unique(cls, value: list[str]) -> list[str]:
        if len(set(value)) != len(value):
            raise ValueError("must not repeat an attachment")
        return value


class Author(OutputModel):
    type: Literal["agent", "customer", "requester", "api", "system"]
    id: str | None = None
    name: str | None = None
    email: str | None = None


class AttachmentRef(OutputModel):
    id: str
    filename: str
    contentType: str
    size: int


class Comment(OutputModel):
    id: str
    ticketId: str
    body: str
    visibility: Visibility
    channel: Literal["api", "email", "web"]
    direction: Literal["inbound", "outbound"] | None = None
    author: Author
    from_: str | None = Field(default=None, alias="from", serialization_alias="from")
    fromName: str | None = None
    to: list[str] = []
    cc: list[str] = []
    attachments: list[AttachmentRef] = []
    messageId: str | None = None
    createdAt: DateTime
    redactedAt: DateTime | None = None


def public_comment(stored: dict[str, Any]) -> dict[str, Any]:
    """A stored comment as the API (and comment.created) shows it: no ticket snapshot, no email bookkeeping."""
    return Comment.model_validate(stored).model_dump(mode="json", by_alias=True)


class CommentPage(Page[Comment]):
    pass


class CommentListQuery(PageQuery):
    visibility: Visibility | None = None

    _visibility = field_validator("visibility", mode="before")(_lower)
