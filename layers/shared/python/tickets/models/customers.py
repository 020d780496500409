"""Customer input and output models."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import Field, field_validator, model_validator

from tickets.models.common import (
    DateTime,
    Email,
    InputModel,
    OutputModel,
    Page,
    PageQuery,
    Text,
    check_json_object,
    refuse_nulls,
)

ExternalId = Annotated[Text, Field(min_length=1, max_length=200)]
Name = Annotated[Text, Field(min_length=1, max_length=200)]
Phone = Annotated[Text, Field(min_length=1, max_length=50)]


class _CustomerFields(InputModel):
    _metadata = field_validator("metadata", check_fields=False)(check_json_object)


class CustomerCreate(_CustomerFields):
    externalId: ExternalId
    name: Name | None = None
    email: Email | None = None
    phone: Phone | None = None
    metadata: dict[str, Any] = {}


class CustomerPatch(_CustomerFields):
    externalId: ExternalId | None = None
    name: Name | None = None
    email: Email | None = None
    phone: Phone | None = None
    metadata: dict[str, Any] | None = None

    @model_validator(mode="after")
    def _non_nullable(self) -> CustomerPatch:
        refuse_nulls(self, ("externalId",))
        return self

    def changes(self) -> dict[str, Any]:
        data = self.model_dump(mode="json", include=self.model_fields_set)
        if "metadata" in data and data["metadata"] is None:
            data["metadata"] = {}  # a customer always has metadata: `null` clears it to {}
        return data


class Customer(OutputModel):
    id: str
    externalId: str
    name: str | None = None
    email: str | None = None
    phone: str | None = None
    metadata: dict[str, Any] = {}
    createdAt: DateTime
    updatedAt: DateTime


class CustomerPage(Page[Customer]):
    pass


class CustomerListQuery(PageQuery):
    externalId: ExternalId | None = None
