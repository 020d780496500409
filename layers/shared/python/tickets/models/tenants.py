"""Tenant and API key models (administration)."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from tickets.models.common import InputModel, OutputModel

SCOPES = (
    "tickets:read",
    "tickets:write",
    "tickets:delete",
    "tickets:status",
    "tickets:bulk",
    "customers:read",
    "customers:write",
    "agents:read",
    "agents:write",
    "webhooks:manage",
    "keys:manage",
)


class TenantCreate(InputModel):
    name: Annotated[str, Field(min_length=1, max_length=200)]
    ticketPrefix: Annotated[str, Field(pattern=r"^[A-Z][A-Z0-9]{0,9}$")]
    monthlyTicketQuota: Annotated[int, Field(ge=0)] | None = None
    autoAssign: bool = True


class Tenant(OutputModel):
    id: str
    name: str
    ticketPrefix: str
    monthlyTicketQuota: int | None = None
    autoAssign: bool = True


class Principal(OutputModel):
    """Who is calling: resolved from the API key, cached per container."""

    tenantId: str
    keyId: str
    scopes: frozenset[str]
