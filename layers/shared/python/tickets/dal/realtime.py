"""Real-time tokens and WebSocket connections.

A token is stored only as its SHA-256, under a global lookup item (the WebSocket's $connect carries nothing else),
with a 60 s `expiresAt`. A connection is two items: the tenant's (`TENANT#<t>` / `CONN#<id>`, what the push
consumer Queries) and a global lookup by connection id (what $disconnect and $default get). Both expire with the
table's TTL a little after API Gateway's 2-hour limit, so a connection whose $disconnect never came does not live on.
"""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from tickets.dal import keys
from tickets.dal.client import (
    condition_failed_reasons,
    ddb,
    deserialize,
    get_many,
    serialize,
    table,
    transact_write,
    value,
)
from tickets.errors import Forbidden, Unauthorized

_TOKEN_UNUSABLE = "the token is unknown, used or expired: get a new one (POST /v1/realtime/tokens)"  # noqa: S105


def put_token(token_hash: str, *, tenant_id: str, key_id: str, agent_id: str | None, expires_at: int) -> None:
    item = {
        **keys.realtime_token(token_hash),
        "type": "rttoken",
        "tenantId": tenant_id,
        "keyId": key_id,
        "agentId": agent_id,
        "expiresAt": expires_at,
    }
    ddb().put_item(TableName=table(), Item=serialize(item), ConditionExpression="attribute_not_exists(PK)")


def get_token(token_hash: str) -> dict[str, Any] | None:
    resp = ddb().get_item(TableName=table(), Key=serialize(keys.realtime_token(token_hash)), ConsistentRead=True)
    return deserialize(resp["Item"]) if "Item" in resp else None


def open_connection(token_hash: str, token: dict[str, Any], connection_id: str, *, now: int, expires_at: int,
                    connected_at: str) -> None:  # fmt: skip
    """Consume the token and register the connection, in one transaction: the token goes only if it is still
    there and unexpired (so it works once, even for two $connects at the same moment) and its key is not revoked.

    Unauthorized if the token is gone or expired meanwhile; Forbidden if its key was revoked.
    """
    tenant_id, key_id = token["tenantId"], token["keyId"]
    conn = {
        "type": "connection",
        "tenantId": tenant_id,
        "connectionId": connection_id,
        "keyId": key_id,
        "agentId": token.get("agentId"),
        "connectedAt": connected_at,
        "expiresAt": expires_at,
    }
    items = [
        {
            "Delete": {
                "TableName": table(),
                "Key": serialize(keys.realtime_token(token_hash)),
                "ConditionExpression": "attribute_exists(PK) AND expiresAt > :now AND keyId = :key",
                "ExpressionAttributeValues": {":now": value(now), ":key": value(key_id)},
            }
        },
        {
            "ConditionCheck": {
                "TableName": table(),
                "Key": serialize(keys.api_key_meta(tenant_id, key_id)),
                "ConditionExpression": "attribute_exists(PK) AND attribute_not_exists(revokedAt)",
            }
        },
        {"Put": {"TableName": table(), "Item": serialize({**keys.connection(tenant_id, connection_id), **conn})}},
        {"Put": {"TableName": table(), "Item": serialize({**keys.connection_lookup(connection_id), **conn})}},
    ]
    try:
        transact_write(items)
    except ClientError as exc:
        cancelled = exc.response["Error"]["Code"] == "TransactionCanceledException"
        reasons = condition_failed_reasons(exc) if cancelled else []
        if reasons[:1] == ["ConditionalCheckFailed"]:
            raise Unauthorized(_TOKEN_UNUSABLE) from exc
        if reasons[1:2] == ["ConditionalCheckFailed"]:
            raise Forbidden("the API key this token was made with is revoked") from exc
        raise


def token_unusable() -> Unauthorized:
    return Unauthorized(_TOKEN_UNUSABLE)


def get_connection(connection_id: str) -> dict[str, Any] | None:
    """The connection's lookup item (tenant, key, agent), or None once it is closed or gone."""
    resp = ddb().get_item(TableName=table(), Key=serialize(keys.connection_lookup(connection_id)), ConsistentRead=True)
    return deserialize(resp["Item"]) if "Item" in resp else None


def close_connection(connection_id: str) -> str | None:
    """Forget a connection by its id alone ($disconnect): the lookup says the tenant. Returns it, None if unknown."""
    resp = ddb().delete_item(
        TableName=table(), Key=serialize(keys.connection_lookup(connection_id)), ReturnValues="ALL_OLD"
    )
    if "Attributes" not in resp:
        return None
    tenant_id = str(deserialize(resp["Attributes"])["tenantId"])
    ddb().delete_item(TableName=table(), Key=serialize(keys.connection(tenant_id, connection_id)))
    return tenant_id


def delete_connection(tenant_id: str, connection_id: str) -> None:
    """Forget a connection the push consumer found gone (410) or whose key is revoked: both items at once."""
    transact_write(
        [
            {"Delete": {"TableName": table(), "Key": serialize(keys.connection(tenant_id, connection_id))}},
            {"Delete": {"TableName": table(), "Key": serialize(keys.connection_lookup(connection_id))}},
        ]
    )


def tenant_connections(tenant_id: str) -> list[dict[str, Any]]:
    """Every connection item of the tenant: one Query on its partition (strongly consistent, so a client that has
    just connected is there), `CONN#` prefix only. A tenant has as many as it has consoles open."""
    params: dict[str, Any] = {
        "TableName": table(),
        "KeyConditionExpression": "PK = :pk AND begins_with(SK, :prefix)",
        "ExpressionAttributeValues": {
            ":pk": value(keys.tenant_pk(tenant_id)),
            ":prefix": value(keys.CONNECTION_PREFIX),
        },
        "ProjectionExpression": "connectionId, keyId, agentId, expiresAt",
        "ConsistentRead": True,
    }
    found: list[dict[str, Any]] = []
    while True:
        resp = ddb().query(**params)
        found += [deserialize(i) for i in resp["Items"]]
        if "LastEvaluatedKey" not in resp:
            return found
        params["ExclusiveStartKey"] = resp["LastEvaluatedKey"]


def live_keys(tenant_id: str, key_ids: list[str]) -> dict[str, bool]:
    """Whether each API key still works: its metadata exists without `revokedAt` (one BatchGetItem per 100)."""
    alive: dict[str, bool] = {}
    for start in range(0, len(key_ids), 100):
        chunk = key_ids[start : start + 100]
        found = get_many([(key_id, keys.api_key_meta(tenant_id, key_id)) for key_id in chunk])
        alive |= {key_id: key_id in found and not found[key_id].get("revokedAt") for key_id in chunk}
    return alive
