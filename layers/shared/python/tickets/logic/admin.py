"""Tenant and API key administration (admin CLI and the /v1/api-keys routes, see logic/api_keys.py)."""

from __future__ import annotations

import hashlib
import re
import secrets
from typing import Any

from tickets import ids
from tickets.config import settings
from tickets.dal import customers as customers_dal
from tickets.dal import tenants as dal
from tickets.dal import tickets as tickets_dal
from tickets.errors import FieldError, NotFound, ValidationFailed
from tickets.models.tenants import SCOPES, TenantCreate
from tickets.timeutil import now_iso

KEY_PREFIX = "tk_"
KEY_RE = re.compile(r"^tk_[A-Za-z0-9_-]{32,128}$")


def hash_key(raw_key: str) -> str:
    return hashlib.sha256(raw_key.encode()).hexdigest()


def create_tenant(body: TenantCreate) -> dict[str, Any]:
    tenant = {"id": ids.new_id(), **body.model_dump()}
    dal.put_tenant(tenant)
    return tenant


def show_tenant(tenant_id: str) -> dict[str, Any]:
    found = dal.get_tenant(tenant_id)
    if not found:
        raise NotFound(f"no tenant {tenant_id}")
    return {k: found.get(k) for k in ("id", "name", "ticketPrefix", "monthlyTicketQuota", "autoAssign")}


def reindex_tenant(tenant_id: str) -> dict[str, Any]:
    """Bring a tenant made by an older release up to date (idempotent, safe to run again): the lookups it lacks from
    before inbound email (its inbound address `<prefix>@<InboundEmailDomain>`, 409 if another tenant took the
    prefix; its customers' emails), and its tickets' index keys and counters as issue 15 shaped them (dal/tickets.py
    reindex: status x priority and assignee x status partitions, the per-dimension counter items)."""
    tenant = show_tenant(tenant_id)
    created = dal.index_address(tenant_id, tenant["ticketPrefix"])
    customers = customers_dal.index_emails(tenant_id)
    tickets = tickets_dal.reindex(tenant_id)
    domain = settings().inbound_email_domain
    return {
        **tickets,
        "tenantId": tenant_id,
        "ticketPrefix": tenant["ticketPrefix"],
        "inboundEmail": f"{tenant['ticketPrefix'].lower()}@{domain}" if domain else None,
        "addressIndexed": "created" if created else "already",
        "customerEmailsIndexed": customers,
    }


def create_api_key(
    tenant_id: str,
    scopes: list[str],
    raw_key: str | None = None,
    name: str | None = None,
    agent_id: str | None = None,
) -> dict[str, Any]:
    """A new key (shown once, stored as a hash). With `agent_id` it acts as that agent of the tenant."""
    unknown = sorted(set(scopes) - set(SCOPES))
    if unknown or not scopes:
        raise ValidationFailed(
            f"unknown scopes: {', '.join(unknown)}" if unknown else "at least one scope is required",
            [FieldError("scopes", f"allowed: {', '.join(SCOPES)}")],
        )
    key = raw_key or KEY_PREFIX + secrets.token_urlsafe(32)
    if not KEY_RE.match(key):
        raise ValidationFailed("an API key is tk_ followed by at least 32 characters", [FieldError("key", "format")])
    key_id = "key_" + ids.new_id()
    created = now_iso()
    scopes = sorted(set(scopes))
    if agent_id is not None and not ids.is_ulid(agent_id):
        raise ValidationFailed.of("agentId", "no such agent in this tenant")
    dal.put_api_key(tenant_id, key_id, hash_key(key), scopes, created, hint=key[:7], name=name, agent_id=agent_id)
    return {
        "id": key_id, "tenantId": tenant_id, "key": key, "scopes": scopes, "agentId": agent_id, "createdAt": created,
    }  # fmt: skip


def revoke_api_key(tenant_id: str, key_id: str) -> dict[str, Any]:
    dal.revoke_api_key(tenant_id, key_id, now_iso())
    return {"id": key_id, "tenantId": tenant_id, "revoked": True}
