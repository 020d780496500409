"""The DynamoDB client and AttributeValue (de)serialisation, created once per container.

botocore is used directly, not boto3: `import boto3` also imports s3transfer, ~50 ms of every cold
start for nothing the API uses. The codec below covers the types our items hold. The client, and the
botocore machinery behind it (~60 ms), is loaded when first used rather than when a handler module
is imported; see the README's Performance section for both figures.
"""

from __future__ import annotations

import math
import random
import time
from decimal import Decimal
from typing import Any

from botocore.exceptions import ClientError

from tickets import coldstart
from tickets.aws import client, throttled
from tickets.config import settings


def ddb() -> Any:
    return client("dynamodb")


coldstart.on_snapshot(ddb)  # botocore's models and endpoint data into the snapshot (the client is made again after)


# A transaction DynamoDB cancelled only because an item was throttled or held by another transaction wrote
# nothing; botocore does not retry it, so it is sent again here (hot items such as a tenant's counters collide
# under concurrent writes). What is still cancelled after the last attempt reaches the API as a 503.
TXN_ATTEMPTS = 3
TXN_BACKOFF_SECONDS = 0.025


def transact_write(items: list[dict[str, Any]]) -> dict[str, Any]:
    """TransactWriteItems, re-sent (a new call, so a new ClientRequestToken) while it is cancelled only
    transiently; every other outcome, including a failed condition, is the caller's."""
    for attempt in range(1, TXN_ATTEMPTS + 1):
        try:
            result: dict[str, Any] = ddb().transact_write_items(TransactItems=items)
            return result
        except ClientError as exc:
            transient = exc.response["Error"]["Code"] == "TransactionCanceledException" and throttled(exc)
            if not transient or attempt == TXN_ATTEMPTS:
                raise
            time.sleep(random.uniform(0, TXN_BACKOFF_SECONDS * 2**attempt))  # full jitter
    raise AssertionError("unreachable")


def table() -> str:
    return settings().table_name


def value(v: Any) -> dict[str, Any]:
    """One Python value as a DynamoDB AttributeValue."""
    if v is None:
        return {"NULL": True}
    if isinstance(v, bool):
        return {"BOOL": v}
    if isinstance(v, str):
        return {"S": v}
    if isinstance(v, int | Decimal):
        return {"N": str(v)}
    if isinstance(v, float):
        if not math.isfinite(v):
            raise ValueError("DynamoDB numbers must be finite")
        return {"N": repr(v)}
    if isinstance(v, dict):
        return {"M": {str(k): value(x) for k, x in v.items()}}
    if isinstance(v, list | tuple):
        return {"L": [value(x) for x in v]}
    if isinstance(v, bytes):
        return {"B": v}
    raise TypeError(f"cannot store {type(v).__name__} in DynamoDB")


def _number(text: str) -> int | float:
    return int(text) if text.lstrip("-").isdigit() else float(text)


def plain(av: dict[str, Any]) -> Any:
    """One DynamoDB AttributeValue as a plain Python value (numbers as int or float)."""
    ((kind, v),) = av.items()
    if kind == "S":
        return v
    if kind == "N":
        return _number(v)
    if kind == "BOOL":
        return v
    if kind == "NULL":
        return None
    if kind == "M":
        return {k: plain(x) for k, x in v.items()}
    if kind == "L":
        return [plain(x) for x in v]
    if kind == "SS":
        return list(v)
    if kind == "NS":
        return [_number(x) for x in v]
    return v  # B, BS


def serialize(item: dict[str, Any]) -> dict[str, Any]:
    return {k: value(v) for k, v in item.items()}


def deserialize(item: dict[str, Any]) -> dict[str, Any]:
    return {k: plain(v) for k, v in item.items()}


def strip_keys(item: dict[str, Any]) -> dict[str, Any]:
    """Drop storage-only attributes (keys, index keys, entity type) from a deserialised item."""
    return {k: v for k, v in item.items() if k not in _STORAGE_ATTRS}


_STORAGE_ATTRS = frozenset(
    {
        *("PK", "SK", "GSI1PK", "GSI1SK", "GSI2PK", "GSI2SK", "GSI3PK", "GSI3SK", "GSI4PK", "GSI4SK"),
        *("DUEPK", "DUESK", "SLADUEPK", "SLADUESK", "GSI5PK", "GSI5SK"),
        *("type", "tenantId", "expiresAt", "statusChanged", "assigneeChanged", "slaChanged", "routingChanged"),
        "updatedBy",
    }
)


def condition_failed_reasons(exc: Exception) -> list[str]:
    """Per-item cancellation reasons of a TransactWriteItems call ('' where that item did not fail)."""
    reasons = getattr(exc, "response", {}).get("CancellationReasons") or []
    return [r.get("Code", "") if r.get("Code") != "None" else "" for r in reasons]


def update_or_none(key: dict[str, str], **update: Any) -> dict[str, Any] | None:
    """A conditional UpdateItem (`update`: UpdateExpression, ConditionExpression, names, values) that returns the
    new item, or None when its condition fails (the item is missing, or not in the state the condition wants)."""
    from botocore.exceptions import ClientError

    try:
        resp = ddb().update_item(TableName=table(), Key=serialize(key), ReturnValues="ALL_NEW", **update)
    except ClientError as exc:
        if exc.response["Error"]["Code"] == "ConditionalCheckFailedException":
            return None
        raise
    return strip_keys(deserialize(resp["Attributes"]))


def update_existing(
    key: dict[str, str], fields: dict[str, Any], remove: tuple[str, ...] = (), *, missing: str
) -> dict[str, Any]:
    """SET (and REMOVE) attributes of an item that must exist; NotFound(`missing`) otherwise. The new item."""
    from botocore.exceptions import ClientError

    from tickets.errors import NotFound

    names = {f"#f{i}": k for i, k in enumerate(fields)}
    values = {f":f{i}": value(v) for i, v in enumerate(fields.values())}
    expression = "SET " + ", ".join(f"#f{i} = :f{i}" for i in range(len(fields)))
    if remove:
        names |= {f"#r{i}": k for i, k in enumerate(remove)}
        expression += " REMOVE " + ", ".join(f"#r{i}" for i in range(len(remove)))
    try:
        resp = ddb().update_item(
            TableName=table(),
            Key=serialize(key),
            UpdateExpression=expression,
            ConditionExpression="attribute_exists(PK)",
            ExpressionAttributeNames=names,
            ExpressionAttributeValues=values,
            ReturnValues="ALL_NEW",
        )
    except ClientError as exc:
        if exc.response["Error"]["Code"] == "ConditionalCheckFailedException":
            raise NotFound(missing) from exc
        raise
    return strip_keys(deserialize(resp["Attributes"]))


def get_many(refs: list[tuple[str, dict[str, str]]], *, keep: tuple[str, ...] = ()) -> dict[str, dict[str, Any]]:
    """One BatchGetItem for up to 100 keys, by name; a missing item is simply absent from the result.

    Storage-only attributes are dropped, except those in `keep` (e.g. an attachment's `expiresAt`)."""
    if not refs:
        return {}
    by_key = {(k["PK"], k["SK"]): name for name, k in refs}
    request = {table(): {"Keys": [serialize(k) for _, k in refs], "ConsistentRead": True}}
    found: dict[str, dict[str, Any]] = {}
    while request:
        resp = ddb().batch_get_item(RequestItems=request)
        for raw in resp["Responses"].get(table(), []):
            item = deserialize(raw)
            found[by_key[(item["PK"], item["SK"])]] = {**strip_keys(item), **{k: item[k] for k in keep if k in item}}
        request = resp.get("UnprocessedKeys") or {}
    return found
