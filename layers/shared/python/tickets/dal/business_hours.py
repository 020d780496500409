"""Business hours (calendars). Each keeps `useCount`: how many SLA policies (and groups) name it, moved in their
own transactions, so a calendar in use cannot be deleted."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from tickets.dal import counters, keys, tenants
from tickets.dal.client import condition_failed_reasons, ddb, deserialize, serialize, table, transact_write, value
from tickets.errors import Conflict, InvalidBusinessHours, NotFound

FIELDS = ("id", "name", "timeZone", "weekly", "holidays")
UNUSED = "attribute_exists(PK) AND (attribute_not_exists(useCount) OR useCount = :zero)"


def public(item: dict[str, Any]) -> dict[str, Any]:
    return {"holidays": [], **{k: item[k] for k in FIELDS if k in item}}


def get(tenant_id: str, business_hours_id: str) -> dict[str, Any] | None:
    """`{id, name, timeZone, weekly, holidays}`, or None if the tenant has no such business hours."""
    resp = ddb().get_item(
        TableName=table(), Key=serialize(keys.business_hours(tenant_id, business_hours_id)), ConsistentRead=True
    )
    return public(deserialize(resp["Item"])) if "Item" in resp else None


def create(tenant_id: str, bh: dict[str, Any]) -> None:
    item = {**keys.business_hours(tenant_id, bh["id"]), "type": "businesshours", "tenantId": tenant_id, **bh}
    transact_write(
        [
            {"Put": {"TableName": table(), "Item": serialize(item), "ConditionExpression": "attribute_not_exists(PK)"}},
            counters.add(tenant_id, {"businessHours": 1}),
        ]
    )


def update(tenant_id: str, bh: dict[str, Any]) -> None:
    """Overwrite the calendar's fields (its useCount stays) and move the tenant's SLA revision (tickets count in
    it); NotFound if it is gone."""
    fields = {k: bh[k] for k in FIELDS if k != "id"}
    names = {f"#f{i}": k for i, k in enumerate(fields)}
    values = {f":f{i}": value(v) for i, v in enumerate(fields.values())}
    update = {
        "TableName": table(),
        "Key": serialize(keys.business_hours(tenant_id, bh["id"])),
        "UpdateExpression": "SET " + ", ".join(f"#f{i} = :f{i}" for i in range(len(fields))),
        "ConditionExpression": "attribute_exists(PK)",
        "ExpressionAttributeNames": names,
        "ExpressionAttributeValues": values,
    }
    try:
        transact_write([{"Update": update}, tenants.sla_rev_op(tenant_id)])
    except ClientError as exc:
        if exc.response["Error"]["Code"] != "TransactionCanceledException":
            raise
        if condition_failed_reasons(exc)[:1] == ["ConditionalCheckFailed"]:
            raise NotFound(f"no business hours {bh['id']}") from exc
        raise


def delete(tenant_id: str, business_hours_id: str) -> None:
    """Delete unused business hours: NotFound if there are none, Conflict while a policy or group names them."""
    key = keys.business_hours(tenant_id, business_hours_id)
    try:
        transact_write(
            [
                {
                    "Delete": {
                        "TableName": table(),
                        "Key": serialize(key),
                        "ConditionExpression": UNUSED,
                        "ExpressionAttributeValues": {":zero": value(0)},
                    }
                },
                counters.add(tenant_id, {"businessHours": -1}),
                tenants.sla_rev_op(tenant_id),
            ]
        )
    except ClientError as exc:
        if exc.response["Error"]["Code"] != "TransactionCanceledException":
            raise
        if condition_failed_reasons(exc)[:1] != ["ConditionalCheckFailed"]:
            raise
        if get(tenant_id, business_hours_id) is None:
            raise NotFound(f"no business hours {business_hours_id}") from exc
        raise Conflict(f"business hours {business_hours_id} are used by an SLA policy or a group") from exc


def use_op(tenant_id: str, business_hours_id: str, delta: int) -> tuple[dict[str, Any], type[Exception] | None]:
    """A transaction item that moves the calendar's useCount; taking a use (delta > 0) requires it to exist
    (InvalidBusinessHours otherwise)."""
    update: dict[str, Any] = {
        "TableName": table(),
        "Key": serialize(keys.business_hours(tenant_id, business_hours_id)),
        "UpdateExpression": "ADD useCount :d",
        "ExpressionAttributeValues": {":d": value(delta)},
        "ConditionExpression": "attribute_exists(PK)",
    }
    return {"Update": update}, (InvalidBusinessHours if delta > 0 else None)
