"""Tags, with a name pointer that keeps names unique per tenant (case-insensitive)."""

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


def _item(tenant_id: str, t: dict[str, Any]) -> dict[str, Any]:
    return {**keys.tag(tenant_id, t["id"]), "type": "tag", "tenantId": tenant_id, **t}


def _name_put(tenant_id: str, t: dict[str, Any]) -> dict[str, Any]:
    return {
        "Put": {
            "TableName": table(),
            "Item": serialize({**keys.tag_name(tenant_id, t["name"]), "type": "tagname", "tagId": t["id"]}),
            "ConditionExpression": "attribute_not_exists(PK)",
        }
    }


def _transact(items: list[dict[str, Any]], name_at: int | None, missing_at: int | None, tag_id: str) -> None:
    try:
        transact_write(items)
    except ClientError as exc:
        if exc.response["Error"]["Code"] != "TransactionCanceledException":
            raise
        reasons = condition_failed_reasons(exc)
        if name_at is not None and reasons[name_at] == "ConditionalCheckFailed":
            raise Conflict("a tag with this name already exists") from exc
        if missing_at is not None and reasons[missing_at] == "ConditionalCheckFailed":
            raise NotFound(f"no tag {tag_id}") from exc
        raise


def create(tenant_id: str, t: dict[str, Any]) -> None:
    put = {
        "Put": {
            "TableName": table(),
            "Item": serialize(_item(tenant_id, t)),
            "ConditionExpression": "attribute_not_exists(PK)",
        }
    }
    _transact(
        [put, _name_put(tenant_id, t), counters.add(tenant_id, {"tags": 1})], name_at=1, missing_at=None, tag_id=t["id"]
    )


def get(tenant_id: str, tag_id: str) -> dict[str, Any] | None:
    resp = ddb().get_item(TableName=table(), Key=serialize(keys.tag(tenant_id, tag_id)), ConsistentRead=True)
    return strip_keys(deserialize(resp["Item"])) if "Item" in resp else None


def rename(tenant_id: str, old: dict[str, Any], new: dict[str, Any]) -> None:
    put = {
        "Put": {
            "TableName": table(),
            "Item": serialize(_item(tenant_id, new)),
            "ConditionExpression": "attribute_exists(PK) AND #n = :old",
            "ExpressionAttributeNames": {"#n": "name"},
            "ExpressionAttributeValues": {":old": value(old["name"])},
        }
    }
    items = [put]
    name_at = None
    if new["name"].casefold() != old["name"].casefold():
        items += [
            {"Delete": {"TableName": table(), "Key": serialize(keys.tag_name(tenant_id, old["name"]))}},
            _name_put(tenant_id, new),
        ]
        name_at = 2
    _transact(items, name_at=name_at, missing_at=0, tag_id=old["id"])


def delete(tenant_id: str, old: dict[str, Any]) -> None:
    _transact(
        [
            {
                "Delete": {
                    "TableName": table(),
                    "Key": serialize(keys.tag(tenant_id, old["id"])),
                    "ConditionExpression": "attribute_exists(PK)",
                }
            },
            {"Delete": {"TableName": table(), "Key": serialize(keys.tag_name(tenant_id, old["name"]))}},
            counters.add(tenant_id, {"tags": -1}),
        ],
        name_at=None,
        missing_at=0,
        tag_id=old["id"],
    )
