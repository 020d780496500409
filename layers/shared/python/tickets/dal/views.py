"""Saved views: one item each under the tenant (`VIEW#<ulid>`)."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from tickets.dal import keys
from tickets.dal.client import ddb, deserialize, serialize, strip_keys, table, value
from tickets.errors import Conflict, NotFound


def _item(tenant_id: str, v: dict[str, Any]) -> dict[str, Any]:
    return {**keys.view(tenant_id, v["id"]), "type": "view", "tenantId": tenant_id, **v}


def create(tenant_id: str, v: dict[str, Any]) -> None:
    ddb().put_item(
        TableName=table(), Item=serialize(_item(tenant_id, v)), ConditionExpression="attribute_not_exists(PK)"
    )


def get(tenant_id: str, view_id: str) -> dict[str, Any] | None:
    resp = ddb().get_item(TableName=table(), Key=serialize(keys.view(tenant_id, view_id)), ConsistentRead=True)
    return strip_keys(deserialize(resp["Item"])) if "Item" in resp else None


def replace(tenant_id: str, old: dict[str, Any], new: dict[str, Any]) -> None:
    """Write `new` over `old` if it is still what was read: Conflict if it changed meanwhile, NotFound if it went."""
    try:
        ddb().put_item(
            TableName=table(),
            Item=serialize(_item(tenant_id, new)),
            ConditionExpression="attribute_exists(PK) AND updatedAt = :u",
            ExpressionAttributeValues={":u": value(old["updatedAt"])},
            ReturnValuesOnConditionCheckFailure="ALL_OLD",
        )
    except ClientError as exc:
        if exc.response["Error"]["Code"] != "ConditionalCheckFailedException":
            raise
        if exc.response.get("Item"):
            raise Conflict(f"view {old['id']} changed meanwhile; read it again") from exc
        raise NotFound(f"no view {old['id']}") from exc


def delete(tenant_id: str, view_id: str) -> None:
    ddb().delete_item(TableName=table(), Key=serialize(keys.view(tenant_id, view_id)))
