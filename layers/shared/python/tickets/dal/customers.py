"""Customers, the externalId pointer that makes externalId unique per tenant, and the email lookups that let
inbound mail find its sender's customer."""

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


def normalise_email(email: str) -> str:
    """How an email address is compared: trimmed and lowercased (every mail system we meet ignores case)."""
    return email.strip().lower()


def _email_key(tenant_id: str, c: dict[str, Any]) -> dict[str, str] | None:
    email = normalise_email(c.get("email") or "")
    return keys.customer_email(tenant_id, email, c["id"]) if email else None


def _email_put(tenant_id: str, c: dict[str, Any]) -> list[dict[str, Any]]:
    """The customer's email lookup (holding its snapshot), or nothing for a customer without an email."""
    key = _email_key(tenant_id, c)
    if key is None:
        return []
    item = {**key, "type": "customeremail", "tenantId": tenant_id, "customer": snapshot(c)}
    return [{"Put": {"TableName": table(), "Item": serialize(item)}}]


def _email_delete(tenant_id: str, c: dict[str, Any]) -> list[dict[str, Any]]:
    key = _email_key(tenant_id, c)
    return [{"Delete": {"TableName": table(), "Key": serialize(key)}}] if key else []


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
            *_email_put(tenant_id, c),
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
    if _email_key(tenant_id, new) != _email_key(tenant_id, old):
        items += _email_delete(tenant_id, old)
    if snapshot(new) != snapshot(old):
        items += _email_put(tenant_id, new)  # a new address, or a new snapshot under the same one
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
                *_email_delete(tenant_id, old),
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


def find_by_email(tenant_id: str, email: str) -> dict[str, Any] | None:
    """The snapshot of the tenant's oldest customer with this email (ids are time-ordered), in one Query."""
    email = normalise_email(email)
    if not email:
        return None
    resp = ddb().query(
        TableName=table(),
        KeyConditionExpression="PK = :pk AND begins_with(SK, :prefix)",
        ExpressionAttributeValues={
            ":pk": value(keys.tenant_pk(tenant_id)),
            ":prefix": value(keys.customer_email_prefix(email)),
        },
        Limit=1,
        ConsistentRead=True,
    )
    items = resp.get("Items") or []
    return deserialize(items[0])["customer"] if items else None


def index_emails(tenant_id: str) -> int:
    """Write the email lookup of every customer of the tenant that has an email (customers made before the lookups
    existed); idempotent. Returns how many were written."""
    written, start = 0, None
    while True:
        page = ddb().query(
            TableName=table(),
            KeyConditionExpression="PK = :pk AND SK BETWEEN :lo AND :hi",
            ExpressionAttributeValues={
                ":pk": value(keys.tenant_pk(tenant_id)),
                ":lo": value(keys.CUSTOMER_PREFIX),
                ":hi": value(keys.CUSTOMER_PREFIX + "~"),
            },
            ConsistentRead=True,
            **({"ExclusiveStartKey": start} if start else {}),
        )
        for raw in page.get("Items") or []:
            for put in _email_put(tenant_id, strip_keys(deserialize(raw))):
                ddb().put_item(**put["Put"])
                written += 1
        start = page.get("LastEvaluatedKey")
        if not start:
            return written
