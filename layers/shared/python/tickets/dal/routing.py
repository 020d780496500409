"""What routing reads and writes besides tickets: the group queues (the waiting index), agents and groups by id,
the count of tickets each routing trigger has assigned (the waiting-tickets consumer's idempotency), and the
groups whose queues wait for their business hours to open (the reopen items)."""

from __future__ import annotations

import time
from typing import Any

from tickets.dal import keys
from tickets.dal.client import ddb, deserialize, get_many, serialize, table, value
from tickets.dal.query import QueryPlan, query
from tickets.dal.tickets import TxnItem

TRIGGER_TTL_SECONDS = 2 * 24 * 3600  # longer than a stream record is retried (MaximumRecordAgeInSeconds: 24 h)


class TriggerSpent(Exception):
    """This routing trigger has already assigned what it may (an earlier run of the same stream record)."""


def agents(tenant_id: str, agent_ids: list[str]) -> list[dict[str, Any]]:
    """The agents among `agent_ids` that exist (a group has at most 48), read consistently, in the given order."""
    found = get_many([(a, keys.agent(tenant_id, a)) for a in dict.fromkeys(agent_ids)])
    return [found[a] for a in agent_ids if a in found]


def groups(tenant_id: str, group_ids: list[str]) -> list[dict[str, Any]]:
    found = get_many([(g, keys.group(tenant_id, g)) for g in dict.fromkeys(group_ids)])
    return [found[g] for g in group_ids if g in found]


def waiting(tenant_id: str, group_id: str, *, limit: int, after: str | None = None) -> list[dict[str, Any]]:
    """Up to `limit` waiting tickets of a group, most urgent first, then oldest (after the sort key `after`):
    `{id, sort, requiredSkills}`. The index is eventually consistent: the caller re-reads a ticket before it
    writes it."""
    plan = QueryPlan(keys.WAITING, keys.waiting_partition(tenant_id, group_id), after, None, forward=True)
    items, _ = query(plan, limit=limit + 1 if after else limit, start_key=None)  # `after` itself comes back too
    return [
        {
            "id": keys.waiting_ticket_id(i["GSI5SK"]),
            "sort": i["GSI5SK"],
            "requiredSkills": i.get("requiredSkills") or [],
        }
        for i in items
        if i["GSI5SK"] != after
    ]


def trigger_count(tenant_id: str, trigger: str) -> int:
    resp = ddb().get_item(TableName=table(), Key=serialize(keys.routed(tenant_id, trigger)), ConsistentRead=True)
    return int(deserialize(resp["Item"]).get("assigned", 0)) if "Item" in resp else 0


def trigger_step(tenant_id: str, trigger: str, done: int) -> TxnItem:
    """A transaction item that counts one more assignment for `trigger`, if it has made exactly `done` so far
    (TriggerSpent otherwise): an assignment and its count commit together, so a re-run continues where the
    first run stopped and never assigns twice."""
    condition = "attribute_not_exists(#n)" if done == 0 else "#n = :done"
    values: dict[str, Any] = {":one": value(1), ":exp": value(int(time.time()) + TRIGGER_TTL_SECONDS)}
    if done:
        values[":done"] = value(done)
    update = {
        "Update": {
            "TableName": table(),
            "Key": serialize(keys.routed(tenant_id, trigger)),
            "UpdateExpression": "ADD #n :one SET expiresAt = :exp, #t = :type",
            "ConditionExpression": condition,
            "ExpressionAttributeNames": {"#t": "type", "#n": "assigned"},
            "ExpressionAttributeValues": {**values, ":type": value("routed")},
        }
    }
    return update, TriggerSpent


REOPEN_TTL_SECONDS = 7 * 24 * 3600  # after the opening: a reopen item nothing read (the schedule off) goes away


def mark_reopen(opens_at: str, opens_at_epoch: int, tenant_id: str, group_id: str) -> None:
    """Remember to route the group's waiting tickets at `opens_at` (idempotent: one item per group and opening)."""
    item = {
        **keys.reopen(opens_at, tenant_id, group_id),
        "type": "reopen",
        "expiresAt": opens_at_epoch + REOPEN_TTL_SECONDS,
    }
    ddb().put_item(TableName=table(), Item=serialize(item))


def due_reopens(upto: str, *, limit: int) -> list[tuple[str, str, str]]:
    """Up to `limit` reopen items due at or before `upto` (ISO UTC), earliest first: (opensAt, tenantId, groupId)."""
    resp = ddb().query(
        TableName=table(),
        KeyConditionExpression="PK = :pk AND SK <= :upto",
        ExpressionAttributeValues={":pk": value(keys.REOPEN_PARTITION), ":upto": value(f"{upto}#~")},
        ScanIndexForward=True,
        Limit=limit,
        ProjectionExpression="SK",
    )
    return [keys.parse_reopen_sk(str(deserialize(i)["SK"])) for i in resp["Items"]]


def clear_reopen(opens_at: str, tenant_id: str, group_id: str) -> None:
    ddb().delete_item(TableName=table(), Key=serialize(keys.reopen(opens_at, tenant_id, group_id)))
