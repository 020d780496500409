"""What a key can learn about itself: who it is (GET /v1/me) and its tenant's usage (GET /v1/usage)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from tickets.config import settings
from tickets.dal import keys
from tickets.dal import tenants as tenants_dal
from tickets.dal.client import get_many
from tickets.errors import Unauthorized
from tickets.logic import agents
from tickets.models.tenants import Principal
from tickets.timeutil import iso, month_key, now


def me(caller: Principal) -> dict[str, Any]:
    """The tenant (with its inbound address), the key (never its value or hash) and the agent it acts as, in one
    BatchGetItem."""
    tid = caller.tenantId
    refs = [("tenant", keys.tenant(tid)), ("key", keys.api_key_meta(tid, caller.keyId))]
    if caller.agentId:
        refs.append(("agent", keys.agent(tid, caller.agentId)))
    found = get_many(refs)
    tenant, key = found.get("tenant"), found.get("key")
    if tenant is None or key is None or key.get("revokedAt"):  # gone since the (cached) authentication
        raise Unauthorized("the API key is unknown or revoked")
    agent = found.get("agent")
    return {
        "tenant": {k: tenant.get(k) for k in ("id", "name", "ticketPrefix")} | {"inboundEmail": inbound_email(tenant)},
        "key": {k: key.get(k) for k in ("id", "name", "agentId")} | {"scopes": key.get("scopes", [])},
        "agent": agents.public(agent) if agent else None,
    }


def inbound_email(tenant: dict[str, Any]) -> str | None:
    """The tenant's address, `<ticket prefix, lowercase>@<InboundEmailDomain>`: None when this deployment receives
    no email, or the tenant's address is not indexed yet (a tenant made before inbound email: tools.admin
    `tenant reindex`)."""
    domain, local = settings().inbound_email_domain, tenant.get("inboundAddress")
    return f"{local}@{domain}" if domain and local else None


def next_month(moment: datetime) -> datetime:
    """The first instant of the calendar month (UTC) after `moment`'s: when a monthly quota resets."""
    moment = moment.astimezone(UTC)
    year, month = (moment.year + 1, 1) if moment.month == 12 else (moment.year, moment.month + 1)
    return datetime(year, month, 1, tzinfo=UTC)


def usage(tenant_id: str, moment: datetime | None = None) -> dict[str, Any]:
    moment = moment or now()
    tenant = tenants_dal.get_tenant(tenant_id)
    if tenant is None:
        raise Unauthorized("the API key's tenant no longer exists")
    month = month_key(moment)
    used = int(tenant.get(keys.month_usage_attr(month), 0))
    quota = tenant.get("monthlyTicketQuota")
    return {
        "month": month,
        "ticketsCreated": used,
        "monthlyTicketQuota": None if quota is None else int(quota),
        "remaining": None if quota is None else max(int(quota) - used, 0),
        "resetsAt": iso(next_month(moment)),
    }
