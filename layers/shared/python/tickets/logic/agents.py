"""Agent rules. openTickets is read-only here: ticket writes keep it exact in their own transactions."""

from __future__ import annotations

from typing import Any

from tickets import ids
from tickets.dal import agents as dal
from tickets.dal import keys
from tickets.dal import tenants as tenants_dal
from tickets.dal.query import QueryPlan
from tickets.errors import Conflict, NotFound
from tickets.logic import api_keys, paging
from tickets.models.agents import AgentCreate, AgentListQuery, AgentPatch
from tickets.timeutil import from_ms, iso, now_iso

_PUBLIC = ("id", "name", "email", "level", "available", "openTickets", "createdAt", "updatedAt")


def public(a: dict[str, Any]) -> dict[str, Any]:
    return {k: a.get(k, 0 if k == "openTickets" else None) for k in _PUBLIC}


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
    changes = patch.changes()
    current = get_agent(tenant_id, agent_id)
    if all(current.get(k) == v for k, v in changes.items()):
        return current
    return public(dal.update(tenant_id, agent_id, {**changes, "updatedAt": now_iso()}))


def delete_agent(tenant_id: str, agent_id: str) -> None:
    """Delete an agent without open tickets, and revoke the keys bound to it.

    The keys go first: were the agent deleted first and the revocation then fail, a retry would find no agent
    (404) and the keys would live on acting as nobody. The agent's deletion is still conditional on it having
    no open tickets; a ticket assigned in between leaves a 409 with the keys already revoked (re-issue them).
    """
    agent = get_agent(tenant_id, agent_id)
    if agent["openTickets"]:
        raise Conflict(f"agent {agent_id} has {agent['openTickets']} open tickets; reassign them first")
    api_keys.revoke_agent_keys(tenant_id, agent_id)
    dal.delete(tenant_id, agent_id)


def list_agents(tenant_id: str, q: AgentListQuery) -> dict[str, Any]:
    plan = QueryPlan(None, keys.tenant_pk(tenant_id), keys.AGENT_PREFIX, keys.AGENT_PREFIX + "~")
    result = paging.page(tenant_id, plan, q, total=int(tenants_dal.get_counts(tenant_id).get("agents", 0)))
    result["data"] = [public(a) for a in result["data"]]
    return result


def choose_assignee(agents: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The available N1 agent with the fewest open tickets; ties go to whoever was assigned least recently."""
    candidates = [a for a in agents if a.get("available") and a.get("level") == "N1"]
    if not candidates:
        return None
    return min(candidates, key=lambda a: (int(a.get("openTickets", 0)), a.get("lastAssignedAt") or "", a["id"]))
