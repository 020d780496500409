"""Tenants, their counters, and API keys."""

from __future__ import annotations

import time
from typing import Any

from botocore.exceptions import ClientError

from tickets.dal import keys
from tickets.dal.client import condition_failed_reasons, ddb, deserialize, serialize, table, transact_write, value
from tickets.errors import Conflict, NotFound, PlanLimitReached, ValidationFailed


def _cancelled(exc: ClientError) -> list[str]:
    """Per-item reasons of a cancelled transaction (empty for any other error)."""
    return condition_failed_reasons(exc) if exc.response["Error"]["Code"] == "TransactionCanceledException" else []


def _address_item(tenant_id: str, prefix: str) -> dict[str, Any]:
    return {**keys.inbound_address(prefix), "type": "inboundaddr", "tenantId": tenant_id, "ticketPrefix": prefix}


def put_tenant(tenant: dict[str, Any]) -> None:
    """The tenant, its counters and its inbound address lookup; a ticket prefix another tenant has is a 409."""
    tid = tenant["id"]
    item = {**keys.tenant(tid), "type": "tenant", "tenantId": tid, "seq": 0, **tenant}
    item["inboundAddress"] = tenant["ticketPrefix"].lower()  # the local part its address lookup gives it
    if item.get("monthlyTicketQuota") is None:
        item.pop("monthlyTicketQuota", None)
    try:
        transact_write(
            [
                {
                    "Put": {
                        "TableName": table(),
                        "Item": serialize(item),
                        "ConditionExpression": "attribute_not_exists(PK)",
                    }
                },
                {
                    "Put": {
                        "TableName": table(),
                        "Item": serialize({**keys.counts(tid), "type": "counts", "tenantId": tid}),
                        "ConditionExpression": "attribute_not_exists(PK)",
                    }
                },
                {
                    "Put": {
                        "TableName": table(),
                        "Item": serialize(counters_item(tid)),
                        "ConditionExpression": "attribute_not_exists(PK)",
                    }
                },
                {
                    "Put": {
                        "TableName": table(),
                        "Item": serialize(_address_item(tid, tenant["ticketPrefix"])),
                        "ConditionExpression": "attribute_not_exists(PK)",
                    }
                },
            ]
        )
    except ClientError as exc:
        reasons = _cancelled(exc)
        if len(reasons) > 3 and reasons[3] == "ConditionalCheckFailed":
            raise Conflict(f"the ticket prefix {tenant['ticketPrefix']} belongs to another tenant") from exc
        raise


def index_address(tenant_id: str, prefix: str) -> bool:
    """Give an existing tenant (made before addresses were indexed) its inbound address lookup: idempotent.

    True if the lookup was written now, False if the tenant had it already; 409 if another tenant has the prefix.
    The tenant item records the address it owns (`inboundAddress`, what GET /v1/me shows) in the same write."""
    mark = {
        "Update": {
            "TableName": table(),
            "Key": serialize(keys.tenant(tenant_id)),
            "UpdateExpression": "SET inboundAddress = :local",
            "ConditionExpression": "attribute_exists(PK)",
            "ExpressionAttributeValues": {":local": value(prefix.lower())},
        }
    }
    claim = {
        "Put": {
            "TableName": table(),
            "Item": serialize(_address_item(tenant_id, prefix)),
            "ConditionExpression": "attribute_not_exists(PK) OR tenantId = :me",
            "ExpressionAttributeValues": {":me": value(tenant_id)},
        }
    }
    had = tenant_id_by_address(prefix) == tenant_id
    try:
        transact_write([claim, mark])
    except ClientError as exc:
        reasons = _cancelled(exc)
        if reasons and reasons[0] == "ConditionalCheckFailed":
            owner = tenant_id_by_address(prefix)
            raise Conflict(f"the ticket prefix {prefix} belongs to another tenant ({owner})") from exc
        if len(reasons) > 1 and reasons[1] == "ConditionalCheckFailed":
            raise NotFound(f"no tenant {tenant_id}") from exc
        raise
    return not had


def tenant_id_by_address(local_part: str) -> str | None:
    """The tenant whose inbound address has this local part (its ticket prefix, any letter case), if any."""
    resp = ddb().get_item(TableName=table(), Key=serialize(keys.inbound_address(local_part)), ConsistentRead=True)
    return deserialize(resp["Item"]).get("tenantId") if "Item" in resp else None


def get_tenant(tenant_id: str) -> dict[str, Any] | None:
    resp = ddb().get_item(TableName=table(), Key=serialize(keys.tenant(tenant_id)), ConsistentRead=True)
    return deserialize(resp["Item"]) if "Item" in resp else None


def counters_item(tenant_id: str, counts: dict[str, int] | None = None) -> dict[str, Any]:
    """The tenant's COUNTS#TICKETS item as a new tenant (or a reindex) writes it: marked as counting every ticket."""
    since = {keys.COUNTERS_SINCE: int(time.time())}
    return {**keys.ticket_counts(tenant_id), "type": "ticketcounts", **since, **(counts or {})}


def get_counts(tenant_id: str) -> dict[str, Any]:
    # Consistent: list totals must include a write that has just been acknowledged.
    resp = ddb().get_item(TableName=table(), Key=serialize(keys.counts(tenant_id)), ConsistentRead=True)
    return deserialize(resp.get("Item", {}))


def sla_rev_op(tenant_id: str) -> dict[str, Any]:
    """A transaction item that moves the tenant's `slaRev`: every write that changes what an SLA is computed from
    (a policy, business hours) carries it, so a ticket's creation, which reads the tenant item anyway, knows
    whether the policies it has cached are current (logic/sla_setup.py)."""
    return {
        "Update": {
            "TableName": table(),
            "Key": serialize(keys.tenant(tenant_id)),
            "UpdateExpression": "ADD slaRev :one",
            "ExpressionAttributeValues": {":one": value(1)},
        }
    }


def allocate_ticket_number(tenant_id: str, month: str) -> dict[str, Any]:
    """Advance the tenant's ticket sequence and this month's usage in one conditional update.

    The condition keeps usage at or below `monthlyTicketQuota` however many creates race.
    Returns the tenant item after the update (its `seq` is the new ticket's number).
    """
    try:
        resp = ddb().update_item(
            TableName=table(),
            Key=serialize(keys.tenant(tenant_id)),
            UpdateExpression="SET seq = seq + :one, #used = if_not_exists(#used, :zero) + :one",
            ConditionExpression=(
                "attribute_exists(PK) AND (attribute_not_exists(monthlyTicketQuota) OR "
                "(monthlyTicketQuota > :zero AND (attribute_not_exists(#used) OR #used < monthlyTicketQuota)))"
            ),
            ExpressionAttributeNames={"#used": keys.month_usage_attr(month)},
            ExpressionAttributeValues={":one": value(1), ":zero": value(0)},
            ReturnValues="ALL_NEW",
            ReturnValuesOnConditionCheckFailure="ALL_OLD",
        )
    except ClientError as exc:
        if exc.response["Error"]["Code"] != "ConditionalCheckFailedException":
            raise
        if "Item" not in exc.response:
            raise NotFound("tenant does not exist") from exc
        raise PlanLimitReached("the monthly ticket quota of this plan is used up") from exc
    return deserialize(resp["Attributes"])


def release_quota(tenant_id: str, month: str) -> None:
    """Give back one unit of this month's usage after a create that allocated a number but did not commit."""
    ddb().update_item(
        TableName=table(),
        Key=serialize(keys.tenant(tenant_id)),
        UpdateExpression="SET #used = #used - :one",
        ConditionExpression="#used > :zero",
        ExpressionAttributeNames={"#used": keys.month_usage_attr(month)},
        ExpressionAttributeValues={":one": value(1), ":zero": value(0)},
    )


def put_api_key(
    tenant_id: str,
    key_id: str,
    key_hash: str,
    scopes: list[str],
    created_at: str,
    hint: str,
    name: str | None = None,
    agent_id: str | None = None,
) -> None:
    """Store a key's lookup item and its metadata; the tenant (and the agent it is bound to) must exist."""
    lookup: dict[str, Any] = {**keys.api_key_lookup(key_hash), "type": "apikey", "tenantId": tenant_id, "keyId": key_id}
    meta: dict[str, Any] = {
        **keys.api_key_meta(tenant_id, key_id),
        "type": "apikeymeta",
        "tenantId": tenant_id,
        "id": key_id,
        "keyHash": key_hash,
        "hint": hint,
        "createdAt": created_at,
    }
    if name is not None:
        meta["name"] = name
    if agent_id is not None:
        lookup["agentId"] = meta["agentId"] = agent_id
    lookup["scopes"] = meta["scopes"] = scopes
    items = [
        {
            "ConditionCheck": {
                "TableName": table(),
                "Key": serialize(keys.tenant(tenant_id)),
                "ConditionExpression": "attribute_exists(PK)",
            }
        },
        {
            "Put": {
                "TableName": table(),
                "Item": serialize(lookup),
                "ConditionExpression": "attribute_not_exists(PK)",
            }
        },
        {"Put": {"TableName": table(), "Item": serialize(meta), "ConditionExpression": "attribute_not_exists(PK)"}},
    ]
    if agent_id is not None:  # a concurrent delete of the agent cannot leave a key acting as nobody
        items.append(
            {
                "ConditionCheck": {
                    "TableName": table(),
                    "Key": serialize(keys.agent(tenant_id, agent_id)),
                    "ConditionExpression": "attribute_exists(PK)",
                }
            }
        )
    try:
        transact_write(items)
    except ClientError as exc:
        if exc.response["Error"]["Code"] == "TransactionCanceledException":
            reasons = condition_failed_reasons(exc)
            if reasons and reasons[0] == "ConditionalCheckFailed":
                raise NotFound(f"no tenant {tenant_id}") from exc
            if len(reasons) > 3 and reasons[3] == "ConditionalCheckFailed":
                raise ValidationFailed.of("agentId", "no such agent in this tenant") from exc
            raise Conflict("this API key already exists") from exc
        raise


def get_api_key_by_hash(key_hash: str, *, consistent: bool = False) -> dict[str, Any] | None:
    resp = ddb().get_item(TableName=table(), Key=serialize(keys.api_key_lookup(key_hash)), ConsistentRead=consistent)
    return deserialize(resp["Item"]) if "Item" in resp else None


def revoke_api_key(tenant_id: str, key_id: str, revoked_at: str) -> None:
    resp = ddb().get_item(TableName=table(), Key=serialize(keys.api_key_meta(tenant_id, key_id)), ConsistentRead=True)
    if "Item" not in resp:
        raise NotFound(f"no API key {key_id}")
    meta = deserialize(resp["Item"])
    if meta.get("revokedAt"):
        raise Conflict(f"API key {key_id} is already revoked")
    transact_write(
        [
            {"Delete": {"TableName": table(), "Key": serialize(keys.api_key_lookup(meta["keyHash"]))}},
            {
                "Update": {
                    "TableName": table(),
                    "Key": serialize(keys.api_key_meta(tenant_id, key_id)),
                    "UpdateExpression": "SET revokedAt = :at",
                    "ConditionExpression": "attribute_not_exists(revokedAt)",
                    "ExpressionAttributeValues": {":at": value(revoked_at)},
                }
            },
        ]
    )
