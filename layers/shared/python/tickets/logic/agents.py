"""Agent rules. openTickets is read-only here: ticket writes keep it exact in their own transactions."""

from __future__ import annotations

from typing import Any

from tickets import ids
from tickets.dal import agents as dal
from tickets.dal import keys
from tickets.dal import routing as routing_dal
from tickets.dal import tenants as tenants_dal
from tickets.dal.query import QueryPlan
from tickets.errors import Conflict, NotFound, ServiceUnavailable
from tickets.logic import api_keys, paging, routing
from tickets.models.agents import AgentCreate, AgentListQuery, AgentPatch
from tickets.timeutil import from_ms, iso, now_iso

_PUBLIC = ("id", "name", "email", "level", "available", "openTickets", "skills", "capacity", "createdAt", "updatedAt")
MEMBERSHIP_RETRIES = 5


def public(a: dict[str, Any]) -> dict[str, Any]:
    out = {k: a.get(k, 0 if k == "openTickets" else None) for k in _PUBLIC}
    return out | {"skills": list(a.get("skills") or []), "groupIds": sorted(a.get("groupIds") or [])}


def create_agent(tenant_id: str, body: AgentCreate) -> dict[str, Any]:
    agent_id = ids.new_id()
    at = iso(from_ms(ids.timestamp_ms(agent_id)))
    agent = {**body.model_dump(mode="json"), "id": agent_id, "openTickets": 0, "createdAt": at, "updatedAt": at}
    dal.create(tenant_id, agent)
    return public(agent)


def get_agent(tenant_id: str, agent_id: str) -> dict[str, Any]:
    found = dal.get(tenant_id, agent_id) if ids.is_ulid(agent_id) else None
    if not found:
        raise NotFound(f"no agent {agent_id}")
    return public(found)


def update_agent(tenant_id: str, agent_id: str, patch: AgentPatch) -> dict[str, Any]:
    """Profile, availability, skills and capacity. A change that lets routing give the agent more (available
    again, more capacity, a new skill) is marked for the waiting-tickets consumer, which then assigns it waiting
    tickets of its groups (logic/waiting.py)."""
    changes = patch.changes()
    current = get_agent(tenant_id, agent_id)
    if all(current.get(k) == v for k, v in changes.items()):
        return current
    more = routing.may_take_more(current, {**current, **changes})
    return public(dal.update(tenant_id, agent_id, {**changes, "updatedAt": now_iso()}, may_take_more=more))


def delete_agent(tenant_id: str, agent_id: str) -> None:
    """Delete an agent without open tickets, revoke the keys bound to it, and take it out of its groups.

    The keys go first: were the agent deleted first and the revocation then fail, a retry would find no agent
    (404) and the keys would live on acting as nobody. The agent's deletion is still conditional on it having
    no open tickets; a ticket assigned in between leaves a 409 with the keys already revoked (re-issue them).
    The groups lose the agent in the deletion's own transaction (each conditional on the group as read, and the
    agent on its number of groups), so no group keeps the id of an agent that is gone.
    """
    agent = get_agent(tenant_id, agent_id)
    if agent["openTickets"]:
        raise Conflict(f"agent {agent_id} has {agent['openTickets']} open tickets; reassign them first")
    api_keys.revoke_agent_keys(tenant_id, agent_id)
    for _ in range(MEMBERSHIP_RETRIES):
        stored = dal.get(tenant_id, agent_id)
        if stored is None:
            raise NotFound(f"no agent {agent_id}")
        groups = routing_dal.groups(tenant_id, sorted(stored.get("groupIds") or []))
        try:
            dal.delete(tenant_id, stored, groups, now_iso())
        except dal.MembershipRaced:
            continue
        return
    raise ServiceUnavailable("the agent's groups are being changed concurrently; retry")


def list_agents(tenant_id: str, q: AgentListQuery) -> dict[str, Any]:
    plan = QueryPlan(None, keys.tenant_pk(tenant_id), keys.AGENT_PREFIX, keys.AGENT_PREFIX + "~")
    result = paging.page(tenant_id, plan, q, total=int(tenants_dal.get_counts(tenant_id).get("agents", 0)))
    result["data"] = [public(a) for a in result["data"]]
    return result
