"""Webhook subscriptions, deliveries (one per event and endpoint) and the delivery attempt log."""

from __future__ import annotations

import contextlib
from typing import Any

from botocore.exceptions import ClientError

from tickets.dal import keys
from tickets.dal.client import (
    condition_failed_reasons,
    ddb,
    deserialize,
    serialize,
    strip_keys,
    table,
    transact_write,
    update_existing,
    update_or_none,
    value,
)
from tickets.errors import NotFound


def _item(tenant_id: str, w: dict[str, Any]) -> dict[str, Any]:
    return {
        **keys.webhook(tenant_id, w["id"]),
        "type": "webhook",
        "tenantId": tenant_id,
        **{k: v for k, v in w.items() if v is not None},
    }


def create(tenant_id: str, w: dict[str, Any]) -> None:
    ddb().put_item(
        TableName=table(), Item=serialize(_item(tenant_id, w)), ConditionExpression="attribute_not_exists(PK)"
    )


def get(tenant_id: str, webhook_id: str) -> dict[str, Any] | None:
    resp = ddb().get_item(TableName=table(), Key=serialize(keys.webhook(tenant_id, webhook_id)), ConsistentRead=True)
    return strip_keys(deserialize(resp["Item"])) if "Item" in resp else None


def list_all(tenant_id: str) -> list[dict[str, Any]]:
    """Every subscription of a tenant: one Query (a tenant has a handful; pages are followed anyway)."""
    out: list[dict[str, Any]] = []
    start = None
    while True:
        params: dict[str, Any] = {
            "TableName": table(),
            "KeyConditionExpression": "PK = :pk AND begins_with(SK, :p)",
            "ExpressionAttributeValues": {":pk": value(keys.tenant_pk(tenant_id)), ":p": value(keys.WEBHOOK_PREFIX)},
        }
        if start:
            params["ExclusiveStartKey"] = start
        resp = ddb().query(**params)
        out.extend(strip_keys(deserialize(i)) for i in resp["Items"])
        start = resp.get("LastEvaluatedKey")
        if not start:
            return out


def update(tenant_id: str, webhook_id: str, fields: dict[str, Any], remove: tuple[str, ...] = ()) -> dict[str, Any]:
    """Set (and remove) fields of an existing subscription; 404 if it is gone."""
    return update_existing(keys.webhook(tenant_id, webhook_id), fields, remove, missing=f"no webhook {webhook_id}")


def delete(tenant_id: str, webhook_id: str) -> None:
    try:
        ddb().delete_item(
            TableName=table(),
            Key=serialize(keys.webhook(tenant_id, webhook_id)),
            ConditionExpression="attribute_exists(PK)",
        )
    except ClientError as exc:
        if exc.response["Error"]["Code"] == "ConditionalCheckFailedException":
            raise NotFound(f"no webhook {webhook_id}") from exc
        raise


def note_failure(tenant_id: str, webhook_id: str, at: str) -> dict[str, Any] | None:
    """Remember when the current run of failures began (kept on later failures); the subscription after."""
    return update_or_none(
        keys.webhook(tenant_id, webhook_id),
        UpdateExpression="SET failingSince = if_not_exists(failingSince, :at)",
        ConditionExpression="attribute_exists(PK)",
        ExpressionAttributeValues={":at": value(at)},
    )


def note_success(tenant_id: str, webhook_id: str) -> None:
    try:
        ddb().update_item(
            TableName=table(),
            Key=serialize(keys.webhook(tenant_id, webhook_id)),
            UpdateExpression="REMOVE failingSince",
            ConditionExpression="attribute_exists(failingSince)",
        )
    except ClientError as exc:
        if exc.response["Error"]["Code"] != "ConditionalCheckFailedException":
            raise


def disable(tenant_id: str, webhook_id: str, reason: str, at: str) -> None:
    with contextlib.suppress(NotFound):  # deleted meanwhile
        update(tenant_id, webhook_id, {"enabled": False, "disabledReason": reason, "updatedAt": at})


# ---------------------------------------------------------------- deliveries


def create_delivery(tenant_id: str, d: dict[str, Any], ttl: int) -> bool:
    """Record a delivery if this (endpoint, event) has none yet. False if it already exists."""
    item = {
        **keys.delivery(tenant_id, d["webhookId"], d["id"]),
        "type": "delivery",
        "tenantId": tenant_id,
        "expiresAt": ttl,
        **{k: v for k, v in d.items() if v is not None},
    }
    try:
        ddb().put_item(TableName=table(), Item=serialize(item), ConditionExpression="attribute_not_exists(PK)")
    except ClientError as exc:
        if exc.response["Error"]["Code"] == "ConditionalCheckFailedException":
            return False
        raise
    return True


def get_delivery(tenant_id: str, webhook_id: str, delivery_id: str) -> dict[str, Any] | None:
    resp = ddb().get_item(
        TableName=table(), Key=serialize(keys.delivery(tenant_id, webhook_id, delivery_id)), ConsistentRead=True
    )
    return strip_keys(deserialize(resp["Item"])) if "Item" in resp else None


def mark_enqueued(tenant_id: str, webhook_id: str, delivery_id: str, at: str) -> None:
    ddb().update_item(
        TableName=table(),
        Key=serialize(keys.delivery(tenant_id, webhook_id, delivery_id)),
        UpdateExpression="SET enqueuedAt = :at",
        ExpressionAttributeValues={":at": value(at)},
    )


def record_attempt(
    tenant_id: str, delivery: dict[str, Any], fields: dict[str, Any], attempt_row: dict[str, Any], ttl: int
) -> bool:
    """Count one attempt (only if nobody counted it first) and append its line to the log, atomically.

    False when the delivery's attempt counter had already moved: a duplicate message did this attempt.
    """
    names = {f"#f{i}": k for i, k in enumerate(fields)}
    values = {f":f{i}": value(v) for i, v in enumerate(fields.values())}
    values[":prev"] = value(delivery["attempt"])
    row = {
        **keys.delivery_attempt(tenant_id, delivery["webhookId"], delivery["id"], attempt_row["attempt"]),
        "type": "deliveryattempt",
        "tenantId": tenant_id,
        "expiresAt": ttl,
        **{k: v for k, v in attempt_row.items() if v is not None},
    }
    try:
        transact_write(
            [
                {
                    "Update": {
                        "TableName": table(),
                        "Key": serialize(keys.delivery(tenant_id, delivery["webhookId"], delivery["id"])),
                        "UpdateExpression": "SET " + ", ".join(f"#f{i} = :f{i}" for i in range(len(fields))),
                        "ConditionExpression": "attempt = :prev",
                        "ExpressionAttributeNames": names,
                        "ExpressionAttributeValues": values,
                    }
                },
                {"Put": {"TableName": table(), "Item": serialize(row)}},
            ]
        )
    except ClientError as exc:
        # Only a failed `attempt = :prev` means another message counted this attempt; a cancellation for
        # throttling or a conflicting transaction wrote nothing and must fail the message, so it is retried.
        if "ConditionalCheckFailed" in condition_failed_reasons(exc):
            return False
        raise
    return True


def reopen_delivery(tenant_id: str, webhook_id: str, delivery_id: str, at: str) -> dict[str, Any]:
    """Put a delivery back to pending for a manual retry; 404 if there is no such delivery."""
    try:
        resp = ddb().update_item(
            TableName=table(),
            Key=serialize(keys.delivery(tenant_id, webhook_id, delivery_id)),
            UpdateExpression="SET #s = :pending, retryRequestedAt = :at, maxAttempts = attempt + :one",
            ConditionExpression="attribute_exists(PK)",
            ExpressionAttributeNames={"#s": "state"},
            ExpressionAttributeValues={":pending": value("pending"), ":at": value(at), ":one": value(1)},
            ReturnValues="ALL_NEW",
        )
    except ClientError as exc:
        if exc.response["Error"]["Code"] == "ConditionalCheckFailedException":
            raise NotFound(f"no delivery {delivery_id}") from exc
        raise
    return strip_keys(deserialize(resp["Attributes"]))
