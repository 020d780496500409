"""Counters that keep list totals exact: they move inside the writes' own transactions.

The tenant's COUNTS item counts customers, tags and agents. Tickets are counted by dimension, one small item per
dimension value (keys.ticket_counts, assignee_counts, customer_counts), so that no item grows with the tenant and a
write touches only the items of the values it changes. A ticket counts once under each of:

- COUNTS#TICKETS `<status>#<priority>`, `assigned#<status>` when it has an assignee (unassigned: the difference),
  `grouped#<status>` when it has a group;
- COUNTS#ASSIGNEE#<agent> `status#<status>`, when it has an assignee;
- COUNTS#CUSTOMER#<customer> `status#<status>`, when it has a customer;
- COUNTS#GROUP#<group> `status#<status>`, and `unassigned#<status>` without an assignee, when it has a group.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from typing import Any

from tickets.dal import keys
from tickets.dal.client import get_many, serialize, table, value


def add(tenant_id: str, deltas: dict[str, int], key: dict[str, str] | None = None) -> dict[str, Any]:
    """A TransactWriteItems `Update` that adds each delta to its counter (zero deltas are left out), on the COUNTS
    item or on the counter item `key`."""
    names, parts, values = {}, [], {}
    for i, (attr, delta) in enumerate(sorted(deltas.items())):
        if delta:
            names[f"#c{i}"] = attr
            values[f":c{i}"] = value(delta)
            parts.append(f"#c{i} :c{i}")
    return {
        "Update": {
            "TableName": table(),
            "Key": serialize(key or keys.counts(tenant_id)),
            "UpdateExpression": "ADD " + ", ".join(parts),
            "ExpressionAttributeNames": names,
            "ExpressionAttributeValues": values,
        }
    }


def _cells(tenant_id: str, ticket: Mapping[str, Any] | None) -> set[tuple[str, str]]:
    """The counters one ticket adds 1 to, as (counter item sort key, attribute)."""
    if not ticket:
        return set()
    status, priority = ticket["status"], ticket["priority"]
    out = {(keys.TICKET_COUNTS, keys.status_priority_attr(status, priority))}
    if agent := ticket.get("assigneeId"):
        out |= {
            (keys.TICKET_COUNTS, keys.assigned_attr(status)),
            (keys.assignee_counts(tenant_id, agent)[keys.SK], keys.status_count_attr(status)),
        }
    if customer := ticket.get("customerId"):
        out.add((keys.customer_counts(tenant_id, customer)[keys.SK], keys.status_count_attr(status)))
    if group := ticket.get("groupId"):
        group_sk = keys.group_counts(tenant_id, group)[keys.SK]
        out |= {(keys.TICKET_COUNTS, keys.grouped_attr(status)), (group_sk, keys.status_count_attr(status))}
        if not ticket.get("assigneeId"):
            out.add((group_sk, keys.unassigned_attr(status)))
    return out


def ticket_deltas(
    tenant_id: str, old: Mapping[str, Any] | None, new: Mapping[str, Any] | None
) -> dict[str, dict[str, int]]:
    """What writing `new` over `old` (None: creation / deletion) moves: {counter item sort key: {attribute: delta}}."""
    before, after = _cells(tenant_id, old), _cells(tenant_id, new)
    moved: dict[str, dict[str, int]] = {}
    for sk, attr in after - before:
        moved.setdefault(sk, {})[attr] = 1
    for sk, attr in before - after:
        moved.setdefault(sk, {})[attr] = -1
    return moved


def ticket_updates(
    tenant_id: str, old: Mapping[str, Any] | None, new: Mapping[str, Any] | None
) -> list[dict[str, Any]]:
    """The transaction items (one Update per counter item, in a stable order) for writing `new` over `old`."""
    pk = keys.tenant_pk(tenant_id)
    return [
        add(tenant_id, deltas, {keys.PK: pk, keys.SK: sk})
        for sk, deltas in sorted(ticket_deltas(tenant_id, old, new).items())
    ]


def totals(tenant_id: str, tickets: Iterable[Mapping[str, Any]]) -> dict[str, dict[str, int]]:
    """Every ticket counter item's attributes, recounted from `tickets` (the admin CLI's reindex)."""
    out: dict[str, Counter[str]] = {}
    for ticket in tickets:
        for sk, attr in _cells(tenant_id, ticket):
            out.setdefault(sk, Counter())[attr] += 1
    return {sk: dict(c) for sk, c in out.items()}


def read(tenant_id: str, counter_keys: dict[str, dict[str, str]]) -> dict[str, dict[str, int]]:
    """Counter items by name, read consistently in one call (a list total must include an acknowledged write);
    a missing item reads as no counts."""
    found = get_many(list(counter_keys.items())) if len(counter_keys) > 1 else _get_one(counter_keys)
    return {name: {k: int(v) for k, v in found.get(name, {}).items() if _number(v)} for name in counter_keys}


def _number(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool)


def _get_one(counter_keys: dict[str, dict[str, str]]) -> dict[str, dict[str, Any]]:
    from tickets.dal.client import ddb, deserialize, strip_keys

    ((name, key),) = counter_keys.items()
    resp = ddb().get_item(TableName=table(), Key=serialize(key), ConsistentRead=True)
    return {name: strip_keys(deserialize(resp["Item"]))} if "Item" in resp else {}
