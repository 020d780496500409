"""SLA policies: CRUD; tickets take the first matching one by position (logic/sla.py applies it)."""

from __future__ import annotations

from typing import Any

from tickets import ids
from tickets.dal import keys
from tickets.dal import sla_policies as dal
from tickets.dal import tenants as tenants_dal
from tickets.dal.query import QueryPlan
from tickets.errors import NotFound
from tickets.logic import paging
from tickets.models.sla_policies import SlaPolicyCreate, SlaPolicyListQuery, SlaPolicyPatch
from tickets.timeutil import now, to_ms


def _stored(data: dict[str, Any]) -> dict[str, Any]:
    """The policy as stored: conditions without the absent ones."""
    data["conditions"] = {k: v for k, v in (data.get("conditions") or {}).items() if v is not None}
    return data


def create_policy(tenant_id: str, body: SlaPolicyCreate) -> dict[str, Any]:
    policy = _stored({"id": ids.new_id(to_ms(now())), **body.model_dump(mode="json")})
    dal.create(tenant_id, policy)
    return policy


def _get(tenant_id: str, policy_id: str) -> tuple[dict[str, Any], int]:
    found = dal.get(tenant_id, policy_id) if ids.is_ulid(policy_id) else None
    if not found:
        raise NotFound(f"no SLA policy {policy_id}")
    return found


def get_policy(tenant_id: str, policy_id: str) -> dict[str, Any]:
    return _get(tenant_id, policy_id)[0]


def update_policy(tenant_id: str, policy_id: str, patch: SlaPolicyPatch) -> dict[str, Any]:
    old, rev = _get(tenant_id, policy_id)
    new = _stored({**old, **patch.model_dump(mode="json", include=patch.model_fields_set)})
    if new != old:
        dal.replace(tenant_id, old, new, rev)
    return new


def delete_policy(tenant_id: str, policy_id: str) -> None:
    old, rev = _get(tenant_id, policy_id)
    dal.delete(tenant_id, old, rev)


def list_policies(tenant_id: str, q: SlaPolicyListQuery) -> dict[str, Any]:
    """In matching order: position, then id."""
    plan = QueryPlan(None, keys.tenant_pk(tenant_id), keys.SLA_POLICY_PREFIX, keys.SLA_POLICY_PREFIX + "~", True)
    result = paging.page(tenant_id, plan, q)
    result["data"] = [dal.from_item(i) for i in result["data"]]
    result["total"] = int(tenants_dal.get_counts(tenant_id).get(dal.COUNT_ATTR, 0))
    return result
