"""Business hours: CRUD of a tenant's calendars (validated by Calendar.of, in the input models)."""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from tickets import ids
from tickets.dal import business_hours as dal
from tickets.dal import keys
from tickets.dal import tenants as tenants_dal
from tickets.dal.query import QueryPlan
from tickets.errors import NotFound, ValidationFailed
from tickets.logic import paging, sla_setup
from tickets.models.business_hours import (
    BusinessHoursCreate,
    BusinessHoursListQuery,
    BusinessHoursPatch,
    Interval,
    check_calendar,
)
from tickets.timeutil import now, to_ms


def create_business_hours(tenant_id: str, body: BusinessHoursCreate) -> dict[str, Any]:
    bh = {"id": ids.new_id(to_ms(now())), **body.model_dump(mode="json")}
    dal.create(tenant_id, bh)
    return bh


def get_business_hours(tenant_id: str, business_hours_id: str) -> dict[str, Any]:
    found = dal.get(tenant_id, business_hours_id) if ids.is_ulid(business_hours_id) else None
    if not found:
        raise NotFound(f"no business hours {business_hours_id}")
    return found


def update_business_hours(tenant_id: str, business_hours_id: str, patch: BusinessHoursPatch) -> dict[str, Any]:
    old = get_business_hours(tenant_id, business_hours_id)
    new = {**old, **patch.model_dump(mode="json", include=patch.model_fields_set)}
    # The calendar that results is checked whole: a new time zone with the stored intervals, and so on.
    try:
        check_calendar(new["timeZone"], [Interval.model_validate(w) for w in new["weekly"]], new["holidays"])
    except ValidationError as exc:
        error = exc.errors()[0]
        message = str((error.get("ctx") or {}).get("error") or error["msg"])
        raise ValidationFailed.of(".".join(str(p) for p in error["loc"]), message) from None
    if new != old:
        dal.update(tenant_id, new)
        sla_setup.forget(tenant_id)
    return new


def delete_business_hours(tenant_id: str, business_hours_id: str) -> None:
    if not ids.is_ulid(business_hours_id):
        raise NotFound(f"no business hours {business_hours_id}")
    dal.delete(tenant_id, business_hours_id)
    sla_setup.forget(tenant_id)


def list_business_hours(tenant_id: str, q: BusinessHoursListQuery) -> dict[str, Any]:
    """Oldest first."""
    plan = QueryPlan(
        None, keys.tenant_pk(tenant_id), keys.BUSINESS_HOURS_PREFIX, keys.BUSINESS_HOURS_PREFIX + "~", True
    )
    result = paging.page(tenant_id, plan, q)
    result["data"] = [dal.public(i) for i in result["data"]]
    result["total"] = int(tenants_dal.get_counts(tenant_id).get("businessHours", 0))
    return result
