"""Dedupe pointers for business events: dedupeKey -> the unfinished ticket it belongs to.

A pointer is claimed (a token with a time) before a ticket is created, and the create transaction
swaps the claim for the ticket id, so concurrent identical events make one ticket, not one each.
"""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from tickets.dal import keys
from tickets.dal.client import ddb, deserialize, serialize, table, update_or_none, value


def get(tenant_id: str, dedupe_key: str) -> dict[str, Any] | None:
    resp = ddb().get_item(TableName=table(), Key=serialize(keys.dedupe(tenant_id, dedupe_key)), ConsistentRead=True)
    return deserialize(resp["Item"]) if "Item" in resp else None


def claim(tenant_id: str, dedupe_key: str, token: str, at: float, *, replace: dict[str, Any] | None) -> bool:
    """Claim the pointer: a new one, or take over `replace` (a stale pointer or an expired claim) exactly."""
    item = {**keys.dedupe(tenant_id, dedupe_key), "type": "dedupe", "tenantId": tenant_id, "claim": token,
            "claimedAt": at}  # fmt: skip
    if replace is None:
        condition, values = "attribute_not_exists(PK)", {}
    elif "ticketId" in replace:
        condition, values = "ticketId = :old", {":old": value(replace["ticketId"])}
    else:
        condition, values = "claim = :old", {":old": value(replace.get("claim", ""))}
    params: dict[str, Any] = {"TableName": table(), "Item": serialize(item), "ConditionExpression": condition}
    if values:
        params["ExpressionAttributeValues"] = values
    try:
        ddb().put_item(**params)
    except ClientError as exc:
        if exc.response["Error"]["Code"] == "ConditionalCheckFailedException":
            return False
        raise
    return True


def release(tenant_id: str, dedupe_key: str, token: str) -> None:
    """Give up a claim (the create failed), so the next event does not wait for it to expire."""
    try:
        ddb().delete_item(
            TableName=table(),
            Key=serialize(keys.dedupe(tenant_id, dedupe_key)),
            ConditionExpression="claim = :c",
            ExpressionAttributeValues={":c": value(token)},
        )
    except ClientError as exc:
        if exc.response["Error"]["Code"] != "ConditionalCheckFailedException":
            raise


def count_occurrence(tenant_id: str, ticket_id: str, dedupe_key: str, at: str) -> dict[str, Any] | None:
    """One more occurrence on the ticket, if it is still unfinished and still carries this dedupeKey."""
    return update_or_none(
        keys.ticket(tenant_id, ticket_id),
        UpdateExpression=(
            "ADD occurrences :one SET #v = #v + :one, updatedAt = :at, GSI4SK = :g"
            " REMOVE statusChanged, assigneeChanged, slaChanged, routingChanged, updatedBy"
        ),
        ConditionExpression="attribute_exists(PK) AND dedupeKey = :k AND NOT (#s IN (:resolved, :closed))",
        ExpressionAttributeNames={"#v": "version", "#s": "status"},
        ExpressionAttributeValues={
            ":one": value(1),
            ":at": value(at),
            ":g": value(f"{at}#{ticket_id}"),
            ":k": value(dedupe_key),
            ":resolved": value("resolved"),
            ":closed": value("closed"),
        },
    )
