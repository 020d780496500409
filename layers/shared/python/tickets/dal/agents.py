"""Agents. `openTickets` is only ever changed inside ticket transactions (dal/tickets.py)."""

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
    update_existing,
    value,
)
from tickets.dal.query import QueryPlan, query
from tickets.errors import Conflict, NotFound


class VersionConflict(Exception):
    pass


def _item(tenant_id: str, a: dict[str, Any]) -> dict[str, Any]:
    return {**keys.agent(tenant_id, a["id"]), "type": "agent", "tenantId": tenant_id, **a}


def create(tenant_id: str, a: dict[str, Any]) -> None:
    put = {
        "TableName": table(),
        "Item": serialize(_item(tenant_id, a)),
        "ConditionExpression": "attribute_not_exists(PK)",
    }
    transact_write([{"Put": put}, counters.add(tenant_id, {"agents": 1})])


def get(tenant_id: str, agent_id: str) -> dict[str, Any] | None:
    resp = ddb().get_item(TableName=table(), Key=serialize(keys.agent(tenant_id, agent_id)), ConsistentRead=True)
    return strip_keys(deserialize(resp["Item"])) if "Item" in resp else None


def update(tenant_id: str, agent_id: str, fields: dict[str, Any]) -> dict[str, Any]:
    """Set profile fields; never touches openTickets (so it cannot race the ticket transactions)."""
    return update_existing(keys.agent(tenant_id, agent_id), fields, missing=f"no agent {agent_id}")


def delete(tenant_id: str, agent_id: str) -> None:
    """Delete an agent with no open tickets (reassign them first: 409 otherwise)."""
    delete_op = {
        "TableName": table(),
        "Key": serialize(keys.agent(tenant_id, agent_id)),
        "ConditionExpression": "attribute_exists(PK) AND openTickets = :zero",
        "ExpressionAttributeValues": {":zero": value(0)},
    }
    try:
        transact_write([{"Delete": delete_op}, counters.add(tenant_id, {"agents": -1})])
    except ClientError as exc:
        if exc.response["Error"]["Code"] != "TransactionCanceledException":
            raise
        if condition_failed_reasons(exc)[:1] != ["ConditionalCheckFailed"]:
            raise
        current = get(tenant_id, agent_id)
        if current is None:
            raise NotFound(f"no agent {agent_id}") from exc
        raise Conflict(
            f"agent {agent_id} has {current.get('openTickets', 0)} open tickets; reassign them first"
        ) from exc


def list_all(tenant_id: str) -> list[dict[str, Any]]:
    """Every agent of the tenant, read consistently enough for assignment (the choice is re-checked on write)."""
    plan = QueryPlan(None, keys.tenant_pk(tenant_id), keys.AGENT_PREFIX, keys.AGENT_PREFIX + "~")
    out: list[dict[str, Any]] = []
    start = None
    while True:
        items, start = query(plan, limit=1000, start_key=start)
        out.extend(strip_keys(i) for i in items)
        if start is None:
            return out
