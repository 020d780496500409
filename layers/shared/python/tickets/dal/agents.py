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


class MembershipRaced(Exception):
    """A group the agent belongs to, or the agent's list of groups, changed since it was read: read again."""


def _item(tenant_id: str, a: dict[str, Any]) -> dict[str, Any]:
    # No capacity is stored as no attribute: routing's condition is `attribute_not_exists(capacity) OR ...`.
    stored = {k: v for k, v in a.items() if not (k == "capacity" and v is None)}
    return {**keys.agent(tenant_id, a["id"]), "type": "agent", "tenantId": tenant_id, **stored}


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


def update(tenant_id: str, agent_id: str, fields: dict[str, Any], *, may_take_more: bool = False) -> dict[str, Any]:
    """Set profile fields; never touches openTickets (so it cannot race the ticket transactions).

    A null capacity is removed (no limit). `may_take_more`: the change lets routing give the agent more (now
    available, more capacity, new skills): the write carries the `routingChanged` marker that the waiting-tickets
    consumer's stream filter keys on, so waiting tickets come to the agent."""
    sets = {k: v for k, v in fields.items() if v is not None or k != "capacity"}
    remove = tuple(k for k, v in fields.items() if v is None and k == "capacity")
    if may_take_more:
        sets["routingChanged"] = True
    else:
        remove += ("routingChanged",)
    return update_existing(keys.agent(tenant_id, agent_id), sets, remove, missing=f"no agent {agent_id}")


def delete(tenant_id: str, agent: dict[str, Any], groups: list[dict[str, Any]], at: str) -> None:
    """Delete an agent with no open tickets (reassign them first: 409 otherwise), and take it out of its groups
    in the same transaction, so that no group keeps the id of an agent that is gone.

    `agent` and `groups` as read: MembershipRaced if the agent's groups or one of them changed meanwhile.
    """
    from tickets.dal import groups as groups_dal

    agent_id = agent["id"]
    joined = agent.get("groupIds") or []
    condition = "attribute_exists(PK) AND openTickets = :zero AND "
    values = {":zero": value(0)}
    if joined:
        condition += "size(groupIds) = :n"
        values[":n"] = value(len(joined))
    else:
        condition += "attribute_not_exists(groupIds)"
    delete_op = {
        "TableName": table(),
        "Key": serialize(keys.agent(tenant_id, agent_id)),
        "ConditionExpression": condition,
        "ExpressionAttributeValues": values,
    }
    leaving = [groups_dal.without_agent(tenant_id, g, agent_id, at) for g in groups]
    try:
        transact_write([{"Delete": delete_op}, counters.add(tenant_id, {"agents": -1}), *leaving])
    except ClientError as exc:
        if exc.response["Error"]["Code"] != "TransactionCanceledException":
            raise
        reasons = condition_failed_reasons(exc)
        if "ConditionalCheckFailed" not in reasons:
            raise
        if reasons[0] != "ConditionalCheckFailed":
            raise MembershipRaced from exc
        current = get(tenant_id, agent_id)
        if current is None:
            raise NotFound(f"no agent {agent_id}") from exc
        if current.get("openTickets", 0):
            raise Conflict(
                f"agent {agent_id} has {current.get('openTickets', 0)} open tickets; reassign them first"
            ) from exc
        raise MembershipRaced from exc


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
