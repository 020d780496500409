"""Customers, and the externalId pointer that makes externalId unique per tenant."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from tickets.dal import counters, keys
from tickets.dal.client import (
    condition_failed_reasons,
    ddb,
    deserialize,
    serialize,
    strip_keys,
    table,
    transact_write,
    value,
)
from tickets.errors import Conflict, NotFound


class VersionConflict(Exception):
    pass


def snapshot(customer: dict[str, Any]) -> dict[str, Any]:
    return {k: customer.get(k) for k in ("id", "externalId", "name", "email")}


def _item(tenant_id: str, c: dict[str, Any]) -> dict[str, Any]:
    return {
        **keys.customer(tenant_id, c["id"]),
        "type": "customer",
        "tenantId": tenant_id,
        **{k: v for k, v in c.items() if v is not None},
    }


def _pointer(tenant_id: str, c: dict[str, Any]) -> dict[str, Any]:
    return {
        **keys.customer_external(tenant_id, c["externalId"]),
        "type": "customerext",
        "tenantId": tenant_id,
        "customer": snapshot(c),
    }


def _transact(items: list[dict[str, Any]], duplicate_at: int | None) -> None:
    try:
        transact_write(items)
    except ClientError as exc:
        if exc.response["Error"]["Code"] != "TransactionCanceledException":
            raise
        reasons = condition_failed_reasons(exc)
        if (
            duplicate_at is not None
            and len(reasons) > duplicate_at
            and reasons[duplicate_at] == "ConditionalCheckFailed"
        ):
            raise Conflict("a customer with this externalId already exists") from exc
        if "ConditionalCheckFailed" in reasons:
            raise VersionConflict from exc
        raise


def create(tenant_id: str, c: dict[str, Any]) -> None:
    _transact(
        [
            {
                "Put": {
                    "TableName": table(),
                    "Item": serialize(_item(tenant_id, c)),
                    "ConditionExpression": "attribute_not_exists(PK)",
                }
            },
            {
                "Put": {
                    "TableName": table(),
                    "Item": serialize(_pointer(tenant_id, c)),
                    "ConditionExpression": "attribute_not_exists(PK)",
                }
            },
            counters.add(tenant_id, {"customers": 1}),
        ],
        duplicate_at=1,
    )


def get(tenant_id: str, customer_id: str) -> dict[str, Any] | None:
    resp = ddb().get_item(TableName=table(), Key=serialize(keys.customer(tenant_id, customer_id)), ConsistentRead=True)
    return strip_keys(deserialize(resp["Item"])) if "Item" in resp else None


def ticket_count(tenant_id: str, customer_id: str) -> int:
    found = get(tenant_id, customer_id)
    return int((found or {}).get("ticketCount", 0))


def get_by_external_id(tenant_id: str, external_id: str) -> dict[str, Any] | None:
    """The customer snapshot {id, externalId, name, email} for an externalId, in one GetItem."""
    resp = ddb().get_item(
        TableName=table(), Key=serialize(keys.customer_external(tenant_id, external_id)), ConsistentRead=True
    )
    return deserialize(resp["Item"])["customer"] if "Item" in resp else None


def replace(tenant_id: str, old: dict[str, Any], new: dict[str, Any]) -> None:
    put = {
        "Put": {
            "TableName": table(),
            "Item": serialize(_item(tenant_id, new)),
            "ConditionExpression": "attribute_exists(PK) AND updatedAt = :u",
            "ExpressionAttributeValues": {":u": value(old["updatedAt"])},
        }
    }
    items: list[dict[str, Any]] = [put]
    duplicate_at = None
    if new["externalId"] != old["externalId"]:
        items.append(
            {"Delete": {"TableName": table(), "Key": serialize(keys.customer_external(tenant_id, old["externalId"]))}}
        )
        items.append(
            {
                "Put": {
                    "TableName": table(),
                    "Item": serialize(_pointer(tenant_id, new)),
                    "ConditionExpression": "attribute_not_exists(PK)",
                }
            }
        )
        duplicate_at = 2
    elif snapshot(new) != snapshot(old):
        items.append({"Put": {"TableName": table(), "Item": serialize(_pointer(tenant_id, new))}})
    _transact(items, duplicate_at)


def delete(tenant_id: str, old: dict[str, Any]) -> None:
    try:
        _transact(
            [
                {
                    "Delete": {
                        "TableName": table(),
                        "Key": serialize(keys.customer(tenant_id, old["id"])),
                        "ConditionExpression": (
                            "attribute_exists(PK) AND (attribute_not_exists(ticketCount) OR ticketCount = :z)"
                        ),
                        "ExpressionAttributeValues": {":z": value(0)},
                    }
                },
                {
                    "Delete": {
                        "TableName": table(),
                        "Key": serialize(keys.customer_external(tenant_id, old["externalId"])),
                    }
                },
                counters.add(tenant_id, {"customers": -1}),
            ],
            duplicate_at=None,
        )
    except VersionConflict:
        current = get(tenant_id, old["id"])
        if current is None:
            raise NotFound(f"no customer {old['id']}") from None
        if int(current.get("ticketCount", 0)) > 0:
            raise Conflict(
                f"customer {old['id']} still has {current['ticketCount']} tickets; unlink or delete them first"
            ) from None
        raise
