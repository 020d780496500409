"""SLA policies: CRUD; tickets take the first matching one by position (logic/sla.py applies it)."""

from __future__ import annotations

from typing import Any

from tickets import ids
from tickets.dal import business_hours as business_hours_dal
from tickets.dal import keys
from tickets.dal import sla_policies as dal
from tickets.dal import tenants as tenants_dal
from tickets.dal.query import QueryPlan
from tickets.errors import FieldError, InvalidBusinessHours, NotFound
from tickets.logic import paging, sla_setup
from tickets.models.sla_policies import SlaPolicyCreate, SlaPolicyListQuery, SlaPolicyPatch
from tickets.timeutil import now, to_ms


def _stored(data: dict[str, Any]) -> dict[str, Any]:
    """The policy as stored: conditions without the absent ones."""
    data["conditions"] = {k: v for k, v in (data.get("conditions") or {}).items() if v is not None}
    return data


def _unknown_business_hours(business_hours_id: str) -> InvalidBusinessHours:
    return InvalidBusinessHours(
        f"business hours {business_hours_id} do not exist", [FieldError("businessHoursId", "unknown")]
    )


def _check_business_hours(tenant_id: str, business_hours_id: str | None) -> None:
    """Checked here for the error's words; the write re-checks it in its transaction (a concurrent delete)."""
    if business_hours_id and not (
        ids.is_ulid(business_hours_id) and business_hours_dal.get(tenant_id, business_hours_id)
    ):
        raise _unknown_business_hours(business_hours_id)


def create_policy(tenant_id: str, body: SlaPolicyCreate) -> dict[str, Any]:
    policy = _stored({"id": ids.new_id(to_ms(now())), **body.model_dump(mode="json")})
    _check_business_hours(tenant_id, policy["businessHoursId"])
    try:
        dal.create(tenant_id, policy)
    except InvalidBusinessHours:
        raise _unknown_business_hours(policy["businessHoursId"]) from None
    sla_setup.forget(tenant_id)
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
    if new["businessHoursId"] != old["businessHoursId"]:
        _check_business_hours(tenant_id, new["businessHoursId"])
    if new != old:
        try:
            dal.replace(tenant_id, old, new, rev)
        except InvalidBusinessHours:
            raise _unknown_business_hours(new["businessHoursId"]) from None
        sla_setup.forget(tenant_id)
    return new


def delete_policy(tenant_id: str, policy_id: str) -> None:
    old, rev = _get(tenant_id, policy_id)
    dal.delete(tenant_id, old, rev)
    sla_setup.forget(tenant_id)


def list_policies(tenant_id: str, q: SlaPolicyListQuery) -> dict[str, Any]:
    """In matching order: position, then id."""
    plan = QueryPlan(None, keys.tenant_pk(tenant_id), keys.SLA_POLICY_PREFIX, keys.SLA_POLICY_PREFIX + "~", True)
    result = paging.page(tenant_id, plan, q)
    result["data"] = [dal.from_item(i) for i in result["data"]]
    result["total"] = int(tenants_dal.get_counts(tenant_id).get(dal.COUNT_ATTR, 0))
    return result
