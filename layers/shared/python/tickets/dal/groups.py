"""Groups: agents who share a queue, and how its tickets are routed to them.

Membership is kept both ways in the group's own transactions: the group lists its `agentIds`, and each member
agent lists its groups (`groupIds`, a string set), so routing finds an agent's groups without a search, and an
agent's deletion takes it out of its groups in its own transaction (dal/agents.py): no group keeps the id of an
agent that is gone. A group's tickets are counted by status on its own counter item (`COUNTS#GROUP#<id>`,
dal/counters.py), in the tickets' own transactions; a group that has unfinished ones cannot be deleted.
"""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from tickets.dal import business_hours as business_hours_dal
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
from tickets.errors import Conflict, FieldError, InvalidBusinessHours, ValidationFailed

# The most groups an agent may be in: an agent's deletion updates each of them in one transaction (<= 100 items).
MAX_AGENT_GROUPS = 48


class VersionConflict(Exception):
    """The group changed (or vanished) since it was read: read it again."""


def _item(tenant_id: str, g: dict[str, Any]) -> dict[str, Any]:
    stored = {k: v for k, v in g.items() if v is not None}
    return {**keys.group(tenant_id, g["id"]), "type": "group", "tenantId": tenant_id, **stored}


def get(tenant_id: str, group_id: str) -> dict[str, Any] | None:
    resp = ddb().get_item(TableName=table(), Key=serialize(keys.group(tenant_id, group_id)), ConsistentRead=True)
    return strip_keys(deserialize(resp["Item"])) if "Item" in resp else None


def business_hours(tenant_id: str, business_hours_id: str) -> dict[str, Any] | None:
    """The group's calendar `{id, name, timeZone, weekly, holidays}` (written by /v1/business-hours), or None."""
    return business_hours_dal.get(tenant_id, business_hours_id)


def _join(tenant_id: str, agent_id: str, group_id: str, at: str) -> dict[str, Any]:
    """The agent lists the group; the marker tells the waiting-tickets consumer it may have work for the agent."""
    return {
        "Update": {
            "TableName": table(),
            "Key": serialize(keys.agent(tenant_id, agent_id)),
            "UpdateExpression": "ADD groupIds :g SET updatedAt = :at, routingChanged = :yes",
            "ConditionExpression": "attribute_exists(PK) AND (attribute_not_exists(groupIds) OR size(groupIds) < :max)",
            "ExpressionAttributeValues": {
                ":g": {"SS": [group_id]},
                ":at": value(at),
                ":yes": value(True),
                ":max": value(MAX_AGENT_GROUPS),
            },
        }
    }


def _leave(tenant_id: str, agent_id: str, group_id: str, at: str) -> dict[str, Any]:
    return {
        "Update": {
            "TableName": table(),
            "Key": serialize(keys.agent(tenant_id, agent_id)),
            "UpdateExpression": "DELETE groupIds :g SET updatedAt = :at",
            "ConditionExpression": "attribute_exists(PK)",
            "ExpressionAttributeValues": {":g": {"SS": [group_id]}, ":at": value(at)},
        }
    }


def _business_hours_use(tenant_id: str, business_hours_id: str, delta: int) -> dict[str, Any]:
    """Moves the business hours' `useCount` (SLA policies and groups that name them: in use, they cannot be
    deleted); taking a use requires them to exist."""
    return business_hours_dal.use_op(tenant_id, business_hours_id, delta)[0]


def _hours_change(tenant_id: str, old: str | None, new: str | None) -> list[tuple[dict[str, Any], tuple[str, str]]]:
    """The business-hours uses a group's write moves (old -> new), each with its refusal label."""
    if old == new:
        return []
    out = []
    if new:
        out.append((_business_hours_use(tenant_id, new, 1), ("businessHours", new)))
    if old:
        out.append((_business_hours_use(tenant_id, old, -1), ("hoursReleased", old)))
    return out


def _refused(reasons: list[str], items: list[tuple[str, str]]) -> Exception | None:
    """The 400 for the first refused membership or business-hours check (`items`: (kind, id) per txn item)."""
    for reason, (kind, ident) in zip(reasons, items, strict=False):
        if reason != "ConditionalCheckFailed":
            continue
        if kind == "agent":
            return ValidationFailed.of(
                "agentIds", f"agent {ident} is not an agent of this tenant (or is in {MAX_AGENT_GROUPS} groups already)"
            )
        if kind == "businessHours":
            return InvalidBusinessHours(
                f"business hours {ident} do not exist", [FieldError("businessHoursId", "unknown")]
            )
    return None


def _write(items: list[dict[str, Any]], checks: list[tuple[str, str]]) -> None:
    try:
        transact_write(items)
    except ClientError as exc:
        if exc.response["Error"]["Code"] != "TransactionCanceledException":
            raise
        reasons = condition_failed_reasons(exc)
        if "ConditionalCheckFailed" not in reasons:
            raise
        if refusal := _refused(reasons, checks):
            raise refusal from exc
        raise VersionConflict from exc


def create(tenant_id: str, group: dict[str, Any]) -> None:
    put = {
        "Put": {
            "TableName": table(),
            "Item": serialize(_item(tenant_id, group)),
            "ConditionExpression": "attribute_not_exists(PK)",
        }
    }
    items: list[dict[str, Any]] = [put, counters.add(tenant_id, {"groups": 1})]
    checks = [("group", group["id"]), ("counts", "")]
    for agent_id in group["agentIds"]:
        items.append(_join(tenant_id, agent_id, group["id"], group["updatedAt"]))
        checks.append(("agent", agent_id))
    for item, label in _hours_change(tenant_id, None, group.get("businessHoursId")):
        items.append(item)
        checks.append(label)
    _write(items, checks)


def replace(tenant_id: str, old: dict[str, Any], new: dict[str, Any]) -> None:
    """Write `new` over `old` if the group is still at `old`'s version; joining and leaving agents in the same
    transaction. VersionConflict if it changed (or is gone)."""
    put = {
        "Put": {
            "TableName": table(),
            "Item": serialize(_item(tenant_id, new)),
            "ConditionExpression": "attribute_exists(PK) AND #v = :v",
            "ExpressionAttributeNames": {"#v": "version"},
            "ExpressionAttributeValues": {":v": value(old["version"])},
        }
    }
    items: list[dict[str, Any]] = [put]
    checks = [("group", old["id"])]
    before, after = set(old.get("agentIds") or []), set(new["agentIds"])
    for agent_id in sorted(after - before):
        items.append(_join(tenant_id, agent_id, new["id"], new["updatedAt"]))
        checks.append(("agent", agent_id))
    for agent_id in sorted(before - after):
        items.append(_leave(tenant_id, agent_id, new["id"], new["updatedAt"]))
        checks.append(("leaving", agent_id))
    for item, label in _hours_change(tenant_id, old.get("businessHoursId"), new.get("businessHoursId")):
        items.append(item)
        checks.append(label)
    _write(items, checks)


def without_agent(tenant_id: str, group: dict[str, Any], agent_id: str, at: str) -> dict[str, Any]:
    """A transaction item taking an agent out of a group (as read: conditional on its version)."""
    return {
        "Update": {
            "TableName": table(),
            "Key": serialize(keys.group(tenant_id, group["id"])),
            "UpdateExpression": "SET agentIds = :ids, updatedAt = :at, #v = #v + :one",
            "ConditionExpression": "#v = :v",
            "ExpressionAttributeNames": {"#v": "version"},
            "ExpressionAttributeValues": {
                ":ids": value([a for a in group.get("agentIds") or [] if a != agent_id]),
                ":at": value(at),
                ":one": value(1),
                ":v": value(group["version"]),
            },
        }
    }


UNFINISHED_STATUSES = ("new", "open", "in_progress", "pending", "on_hold")


def delete(tenant_id: str, old: dict[str, Any], at: str) -> None:
    """Delete a group without unfinished tickets (409 otherwise), its agents leaving it in the same transaction."""
    delete_op = {
        "Delete": {
            "TableName": table(),
            "Key": serialize(keys.group(tenant_id, old["id"])),
            "ConditionExpression": "#v = :v",
            "ExpressionAttributeNames": {"#v": "version"},
            "ExpressionAttributeValues": {":v": value(old["version"])},
        }
    }
    count = counters.add(tenant_id, {"groups": -1})
    # No unfinished ticket of the group: its counter item has none of the unfinished statuses (or does not exist).
    names = {f"#s{i}": keys.status_count_attr(s) for i, s in enumerate(UNFINISHED_STATUSES)}
    empty = {
        "ConditionCheck": {
            "TableName": table(),
            "Key": serialize(keys.group_counts(tenant_id, old["id"])),
            "ConditionExpression": " AND ".join(f"(attribute_not_exists({n}) OR {n} <= :zero)" for n in names),
            "ExpressionAttributeNames": names,
            "ExpressionAttributeValues": {":zero": value(0)},
        }
    }
    leaving = [_leave(tenant_id, a, old["id"], at) for a in old.get("agentIds") or []]
    released = [item for item, _ in _hours_change(tenant_id, old.get("businessHoursId"), None)]
    try:
        transact_write([delete_op, count, empty, *leaving, *released])
    except ClientError as exc:
        if exc.response["Error"]["Code"] != "TransactionCanceledException":
            raise
        reasons = condition_failed_reasons(exc)
        if len(reasons) > 2 and reasons[2] == "ConditionalCheckFailed":
            counts = counters.read(tenant_id, {"group": keys.group_counts(tenant_id, old["id"])})["group"]
            open_tickets = sum(counts.get(keys.status_count_attr(s), 0) for s in UNFINISHED_STATUSES)
            raise Conflict(
                f"group {old['id']} has {open_tickets} unfinished tickets; move them to another group or resolve them"
            ) from exc
        if "ConditionalCheckFailed" in reasons:
            raise VersionConflict from exc
        raise
