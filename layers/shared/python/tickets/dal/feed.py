"""The change feed's items: the only code that writes or reads them (why they are shaped so: tickets.logic.feed)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from tickets.aws import client
from tickets.dal import keys
from tickets.dal.client import condition_failed_reasons, ddb, deserialize, serialize, table, value


@dataclass(frozen=True)
class Entry:
    """One event as the feed stores it: its envelope is JSON (UTF-8), zlib-compressed."""

    event_id: str
    event_type: str
    body: bytes


@dataclass(frozen=True)
class Row:
    position: str
    body: bytes


def stored(tenant_id: str, entry: Entry, at: str, expires_at: int) -> tuple[dict[str, Any], dict[str, Any]]:
    """The marker and the feed item of `entry` written at time `at` (the bench seeds these very items)."""
    position = keys.feed_position(at, entry.event_id)
    marker = {**keys.feed_marker(tenant_id, entry.event_id), "type": "feedMarker", "tenantId": tenant_id,
              "position": position, "expiresAt": expires_at}  # fmt: skip
    item = {**keys.feed_item(tenant_id, position), "type": "feedEvent", "tenantId": tenant_id,
            "eventId": entry.event_id, "eventType": entry.event_type, "event": entry.body,
            "expiresAt": expires_at}  # fmt: skip
    return marker, item


def append(tenant_id: str, entries: list[Entry], at: str, expires_at: int) -> set[str]:
    """Put every entry at `<at>#<event id>`, each with its marker, in one transaction.

    The transaction is sent by the prompt client (one attempt that has finished or been abandoned within
    aws.PROMPT_SECONDS). Returns the ids of entries whose marker exists already: then nothing was written, and the
    caller appends the others again. Any other failure raises.
    """
    items: list[dict[str, Any]] = []
    for entry in entries:
        marker, item = stored(tenant_id, entry, at, expires_at)
        only_once = "attribute_not_exists(PK)"
        items.append({"Put": {"TableName": table(), "Item": serialize(marker), "ConditionExpression": only_once}})
        items.append({"Put": {"TableName": table(), "Item": serialize(item)}})
    try:
        client("dynamodb", prompt=True).transact_write_items(TransactItems=items)
    except ClientError as exc:
        if exc.response["Error"]["Code"] != "TransactionCanceledException":
            raise
        reasons = condition_failed_reasons(exc)
        present = {
            entries[i // 2].event_id
            for i, reason in enumerate(reasons)
            if i % 2 == 0 and reason == "ConditionalCheckFailed"
        }
        if not present:
            raise  # cancelled for another reason (throttled, another transaction on an item): the caller decides
        return present
    return set()


def page(
    tenant_id: str, after: str, upto: str, *, limit: int, types: frozenset[str] | None
) -> tuple[list[Row], str | None, int]:
    """One strongly consistent Query of the feed, oldest first: the items after position `after` and before `upto`
    (a bare time, which sorts before every item of its millisecond), at most `limit` of them examined, those of
    `types` returned. Returns (rows, where the Query stopped if it did before `upto`, items examined).
    """
    names = {"#pk": keys.PK, "#sk": keys.SK}
    values = {
        ":pk": value(keys.feed_partition(tenant_id)),
        ":lo": value(after),
        ":hi": value(upto),
    }
    params: dict[str, Any] = {
        "TableName": table(),
        "KeyConditionExpression": "#pk = :pk AND #sk BETWEEN :lo AND :hi",
        # `after` is inside the key condition (its lower bound), as DynamoDB requires of a start key; an item
        # there, if any, is one the previous page returned.
        "ExclusiveStartKey": serialize(keys.feed_item(tenant_id, after)),
        "ConsistentRead": True,
        "ScanIndexForward": True,
        "Limit": limit,
        "ProjectionExpression": "#sk, #event",
    }
    names["#event"] = "event"
    if types:
        names["#type"] = "eventType"
        kinds = {f":t{i}": value(t) for i, t in enumerate(sorted(types))}
        values |= kinds
        params["FilterExpression"] = f"#type IN ({', '.join(kinds)})"
    params["ExpressionAttributeNames"] = names
    params["ExpressionAttributeValues"] = values
    resp = ddb().query(**params)
    rows = [Row(item["SK"], item["event"]) for item in map(deserialize, resp["Items"])]
    last = resp.get("LastEvaluatedKey")
    return rows, (deserialize(last)[keys.SK] if last else None), int(resp.get("ScannedCount", 0))
