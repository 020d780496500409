"""The /v1/api-keys routes: a tenant rotates its own keys (scope keys:manage).

A key can only grant scopes that the calling key holds itself, so keys:manage alone is no way to a wider
key. Revocation deletes the hash lookup at once; warm containers may still accept the key for up to
API_KEY_CACHE_SECONDS (60 s), see tickets.api.auth. A key may revoke itself.
"""

from __future__ import annotations

from typing import Any

from tickets import ids
from tickets.dal import keys
from tickets.dal.query import QueryPlan, query
from tickets.errors import Conflict, InsufficientScope, NotFound
from tickets.logic import admin, paging
from tickets.models.tenants import ApiKeyCreate, ApiKeyListQuery, Principal

_PUBLIC = ("id", "name", "scopes", "agentId", "hint", "createdAt", "revokedAt")


def _public(meta: dict[str, Any]) -> dict[str, Any]:
    return {k: meta.get(k) for k in _PUBLIC}


def create_api_key(caller: Principal, body: ApiKeyCreate) -> dict[str, Any]:
    wider = sorted(set(body.scopes) - caller.scopes)
    if wider:
        raise InsufficientScope(f"a key can only grant scopes it holds; this key lacks {', '.join(wider)}")
    created = admin.create_api_key(caller.tenantId, body.scopes, name=body.name, agent_id=body.agentId)
    return {**_public({**created, "name": body.name, "hint": created["key"][:7]}), "key": created["key"]}


def list_api_keys(tenant_id: str, q: ApiKeyListQuery) -> dict[str, Any]:
    """Newest first (key ids are time-ordered), revoked keys included with their revokedAt."""
    prefix = keys.APIKEY_META_PREFIX
    plan = QueryPlan(None, keys.tenant_pk(tenant_id), prefix, prefix + "~")
    result = paging.page(tenant_id, plan, q, count_rest=True)
    result["data"] = [_public(k) for k in result["data"]]
    return result


def revoke_agent_keys(tenant_id: str, agent_id: str) -> int:
    """Revoke every unrevoked key bound to an agent (its deletion); returns how many. Safe to run again."""
    prefix = keys.APIKEY_META_PREFIX
    plan = QueryPlan(None, keys.tenant_pk(tenant_id), prefix, prefix + "~")
    revoked, start = 0, None
    while True:
        items, start = query(plan, limit=1000, start_key=start, projection=["id", "agentId", "revokedAt"])
        for meta in items:
            if meta.get("agentId") == agent_id and not meta.get("revokedAt"):
                try:
                    admin.revoke_api_key(tenant_id, meta["id"])
                    revoked += 1
                except Conflict:
                    pass  # revoked by someone else meanwhile
        if start is None:
            return revoked


def revoke_api_key(tenant_id: str, key_id: str) -> None:
    if not (key_id.startswith("key_") and ids.is_ulid(key_id.removeprefix("key_"))):
        raise NotFound(f"no API key {key_id}")
    admin.revoke_api_key(tenant_id, key_id)
