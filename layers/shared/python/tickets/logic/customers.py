"""Customer rules: externalId unique per tenant, no delete while tickets still reference the customer."""

from __future__ import annotations

from typing import Any

from tickets import ids
from tickets.dal import customers as dal
from tickets.dal import keys
from tickets.dal import tenants as tenants_dal
from tickets.dal.query import QueryPlan
from tickets.errors import NotFound, PreconditionFailed
from tickets.logic import paging
from tickets.models.customers import CustomerCreate, CustomerListQuery, CustomerPatch
from tickets.timeutil import from_ms, iso, now

WRITE_RETRIES = 5
_NULLABLE = ("name", "email", "phone")


def _shape(stored: dict[str, Any]) -> dict[str, Any]:
    return {**dict.fromkeys(_NULLABLE), "metadata": {}, **stored}


def create_customer(tenant_id: str, body: CustomerCreate) -> dict[str, Any]:
    new_id = ids.new_id()
    moment = from_ms(ids.timestamp_ms(new_id))
    customer = {
        **body.model_dump(mode="json"),
        "id": new_id,
        "createdAt": iso(moment),
        "updatedAt": iso(moment),
    }
    dal.create(tenant_id, customer)
    return customer


def get_customer(tenant_id: str, customer_id: str) -> dict[str, Any]:
    found = dal.get(tenant_id, customer_id) if ids.is_ulid(customer_id) else None
    if not found:
        raise NotFound(f"no customer {customer_id}")
    return _shape(found)


def update_customer(tenant_id: str, customer_id: str, patch: CustomerPatch) -> dict[str, Any]:
    changes = patch.changes()
    for _ in range(WRITE_RETRIES):
        old = get_customer(tenant_id, customer_id)
        new = {**old, **changes}
        if new == old:
            return old
        new["updatedAt"] = iso(now())
        if new["updatedAt"] == old["updatedAt"]:
            continue
        try:
            dal.replace(tenant_id, old, new)
        except dal.VersionConflict:
            continue
        return new
    raise PreconditionFailed("the customer is being changed concurrently; retry")


def delete_customer(tenant_id: str, customer_id: str) -> None:
    for _ in range(WRITE_RETRIES):
        old = get_customer(tenant_id, customer_id)
        try:
            dal.delete(tenant_id, old)
        except dal.VersionConflict:
            continue
        return
    raise PreconditionFailed("the customer is being changed concurrently; retry")


def list_customers(tenant_id: str, q: CustomerListQuery) -> dict[str, Any]:
    if q.externalId is not None:
        snap = dal.get_by_external_id(tenant_id, q.externalId)
        found = dal.get(tenant_id, snap["id"]) if snap else None
        rows = [_shape(found)] if found else []
        return {
            "data": rows[q.offset : q.offset + q.limit],
            "total": len(rows),
            "totalExact": True,
            "limit": q.limit,
            "offset": q.offset,
            "nextCursor": None,
        }
    plan = QueryPlan(None, keys.tenant_pk(tenant_id), keys.CUSTOMER_PREFIX, keys.CUSTOMER_PREFIX + "~")
    result = paging.page(tenant_id, plan, q, total=int(tenants_dal.get_counts(tenant_id).get("customers", 0)))
    result["data"] = [_shape(c) for c in result["data"]]
    return result
