"""Tag input and output models."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from tickets.models.common import InputModel, OutputModel, Page, PageQuery, Text

TagName = Annotated[Text, Field(min_length=1, max_length=50)]


class TagCreate(InputModel):
    name: TagName


class TagPatch(InputModel):
    name: TagName


class Tag(OutputModel):
    id: str
    name: str


class TagPage(Page[Tag]):
    pass


class TagListQuery(PageQuery):
    pass
