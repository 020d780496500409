"""Tenant and API key models (administration)."""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, Field

from tickets.models.agents import Agent
from tickets.models.common import DateTime, InputModel, OutputModel, Page, PageQuery, Text

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
    "settings:manage",  # groups, business hours, SLA policies, shared views
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
    agentId: str | None = None  # a key bound to an agent acts as that agent

    @property
    def actor(self) -> str:
        """Who a change is attributed to (history `actor`): the key's agent, else the key itself."""
        return self.agentId or self.keyId


def _known_scopes(value: list[str]) -> list[str]:
    unknown = sorted(set(value) - set(SCOPES))
    if unknown:
        raise ValueError(f"unknown scopes: {', '.join(unknown)} (allowed: {', '.join(SCOPES)})")
    return sorted(set(value))


class ApiKeyCreate(InputModel):
    scopes: Annotated[
        list[Annotated[Text, Field(max_length=64)]], Field(min_length=1, max_length=len(SCOPES)),
        AfterValidator(_known_scopes),
    ]  # fmt: skip
    name: Annotated[Text, Field(min_length=1, max_length=100)] | None = None
    agentId: Annotated[Text, Field(min_length=1, max_length=64)] | None = Field(
        default=None, description="Bind the key to an agent of the tenant: it then acts as that agent."
    )


class ApiKey(OutputModel):
    """An API key's metadata; the key itself and its hash are never listed."""

    id: str
    name: str | None = None
    scopes: list[str]
    agentId: str | None = None
    hint: str
    createdAt: DateTime
    revokedAt: DateTime | None = None


class ApiKeyCreated(OutputModel):
    """Only POST /v1/api-keys returns the key, once."""

    id: str
    name: str | None = None
    scopes: list[str]
    agentId: str | None = None
    hint: str
    createdAt: DateTime
    key: str | None  # null when an Idempotency-Key replays the answer: the stored answer never holds the key


class ApiKeyPage(Page[ApiKey]):
    pass


class ApiKeyListQuery(PageQuery):
    pass


class TenantSummary(OutputModel):
    id: str
    name: str
    ticketPrefix: str
    inboundEmail: str | None = None  # the tenant's address when the deployment receives email


class KeySummary(OutputModel):
    id: str
    name: str | None = None
    scopes: list[str]
    agentId: str | None = None


class Me(OutputModel):
    """GET /v1/me: who the calling key is."""

    tenant: TenantSummary
    key: KeySummary
    agent: Agent | None = None


class Usage(OutputModel):
    """GET /v1/usage: this calendar month's ticket creations (UTC) against the plan's quota."""

    month: str = Field(description="YYYY-MM, UTC", examples=["2026-11"])
    ticketsCreated: int
    monthlyTicketQuota: int | None = Field(description="null: unlimited")
    remaining: int | None = Field(description="null: unlimited")
    resetsAt: DateTime
