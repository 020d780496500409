"""Group rules: members are agents of the tenant, business hours must exist, a group with unfinished tickets stays.

Members are checked twice: read first (a clear 400 naming `agentIds` before anything is written), then inside the
group's transaction, where every joining agent's item is updated (it lists its groups) on condition that it
exists, so an agent deleted meanwhile cannot end up as a member. The business hours are checked the same way, and
the group takes a use of them in its transaction (their `useCount`: business hours in use cannot be deleted).
"""

from __future__ import annotations

from typing import Any

from tickets import ids
from tickets.dal import groups as dal
from tickets.dal import keys
from tickets.dal import routing as routing_dal
from tickets.dal import tenants as tenants_dal
from tickets.dal.query import QueryPlan
from tickets.errors import FieldError, InvalidBusinessHours, NotFound, PreconditionFailed, ValidationFailed
from tickets.logic import paging
from tickets.models.groups import GroupCreate, GroupListQuery, GroupPatch
from tickets.timeutil import from_ms, iso, now_iso

_PUBLIC = ("id", "name", "description", "agentIds", "routing", "businessHoursId", "createdAt", "updatedAt")
WRITE_RETRIES = 5


def public(g: dict[str, Any]) -> dict[str, Any]:
    return {k: g.get(k) for k in _PUBLIC} | {"agentIds": list(g.get("agentIds") or [])}


def _check_members(tenant_id: str, agent_ids: list[str]) -> None:
    if not agent_ids:
        return
    known = [a for a in agent_ids if ids.is_ulid(a)]  # anything else is no agent id: no read needed
    found = {a["id"]: a for a in routing_dal.agents(tenant_id, known)} if known else {}
    for agent_id in agent_ids:
        agent = found.get(agent_id)
        if agent is None:
            raise ValidationFailed.of("agentIds", f"agent {agent_id} is not an agent of this tenant")
        if len(agent.get("groupIds") or []) >= dal.MAX_AGENT_GROUPS:
            raise ValidationFailed.of("agentIds", f"agent {agent_id} is in {dal.MAX_AGENT_GROUPS} groups already")


def _check_business_hours(tenant_id: str, hours_id: str | None) -> None:
    if hours_id and (not ids.is_ulid(hours_id) or dal.business_hours(tenant_id, hours_id) is None):
        raise InvalidBusinessHours(
            f"business hours {hours_id} do not exist", [FieldError("businessHoursId", "unknown")]
        )


def create_group(tenant_id: str, body: GroupCreate) -> dict[str, Any]:
    group_id = ids.new_id()
    at = iso(from_ms(ids.timestamp_ms(group_id)))
    group = {**body.model_dump(mode="json"), "id": group_id, "createdAt": at, "updatedAt": at, "version": 1}
    _check_members(tenant_id, group["agentIds"])
    _check_business_hours(tenant_id, group["businessHoursId"])
    dal.create(tenant_id, group)
    return public(group)


def _load(tenant_id: str, group_id: str) -> dict[str, Any]:
    found = dal.get(tenant_id, group_id) if ids.is_ulid(group_id) else None
    if not found:
        raise NotFound(f"no group {group_id}")
    return found


def get_group(tenant_id: str, group_id: str) -> dict[str, Any]:
    return public(_load(tenant_id, group_id))


def update_group(tenant_id: str, group_id: str, patch: GroupPatch) -> dict[str, Any]:
    changes = patch.changes()
    for _ in range(WRITE_RETRIES):
        old = _load(tenant_id, group_id)
        if all(public(old).get(k) == v for k, v in changes.items()):
            return public(old)
        new = {**old, **changes, "updatedAt": now_iso(), "version": int(old["version"]) + 1}
        _check_members(tenant_id, sorted(set(new["agentIds"]) - set(old.get("agentIds") or [])))
        if new.get("businessHoursId") != old.get("businessHoursId"):
            _check_business_hours(tenant_id, new.get("businessHoursId"))
        try:
            dal.replace(tenant_id, old, new)
        except dal.VersionConflict:
            continue
        return public(new)
    raise PreconditionFailed("the group is being changed concurrently; retry")


def delete_group(tenant_id: str, group_id: str) -> None:
    """Delete a group without unfinished tickets (409 otherwise); its members leave it in the same transaction."""
    for _ in range(WRITE_RETRIES):
        old = _load(tenant_id, group_id)
        try:
            dal.delete(tenant_id, old, now_iso())
        except dal.VersionConflict:
            continue
        return
    raise PreconditionFailed("the group is being changed concurrently; retry")


def list_groups(tenant_id: str, q: GroupListQuery) -> dict[str, Any]:
    plan = QueryPlan(None, keys.tenant_pk(tenant_id), keys.GROUP_PREFIX, keys.GROUP_PREFIX + "~")
    result = paging.page(tenant_id, plan, q)
    result["data"] = [public(g) for g in result["data"]]
    result["total"] = int(tenants_dal.get_counts(tenant_id).get("groups", 0))
    return result
