"""Ticket items, their reference pointers and the counters that keep list totals exact (dal/counters.py)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
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
    update_or_none,
    value,
)
from tickets.dal.tenants import counters_item as tenants_counters_item
from tickets.errors import InvalidAssignee, InvalidCustomer, InvalidGroup, InvalidParent


class VersionConflict(Exception):
    """The ticket changed (or vanished) between our read and our conditional write."""


class DedupeClaimLost(Exception):
    """Another request took over this dedupe key's pointer (our claim had expired)."""


def _ticket_item(tenant_id: str, ticket: dict[str, Any]) -> dict[str, Any]:
    item = {k: v for k, v in ticket.items() if v is not None}
    return {
        **keys.ticket(tenant_id, ticket["id"]),
        **keys.ticket_index_keys(tenant_id, ticket),
        "type": "ticket",
        "tenantId": tenant_id,
        **item,
    }


def from_item(item: dict[str, Any]) -> dict[str, Any]:
    return strip_keys(deserialize(item))


def get(tenant_id: str, ticket_id: str) -> dict[str, Any] | None:
    resp = ddb().get_item(TableName=table(), Key=serialize(keys.ticket(tenant_id, ticket_id)), ConsistentRead=True)
    return from_item(resp["Item"]) if "Item" in resp else None


def get_id_by_number(tenant_id: str, number: int) -> str | None:
    resp = ddb().get_item(TableName=table(), Key=serialize(keys.ticket_ref(tenant_id, number)), ConsistentRead=True)
    return deserialize(resp["Item"])["ticketId"] if "Item" in resp else None


def _customer_count(tenant_id: str, customer_id: str, delta: int) -> dict[str, Any]:
    update: dict[str, Any] = {
        "TableName": table(),
        "Key": serialize(keys.customer(tenant_id, customer_id)),
        "UpdateExpression": "ADD ticketCount :d",
        "ExpressionAttributeValues": {":d": value(delta)},
        "ConditionExpression": "attribute_exists(PK)",
    }
    return {"Update": update}


def _agent_count(tenant_id: str, agent_id: str, delta: int) -> dict[str, Any]:
    return {
        "Update": {
            "TableName": table(),
            "Key": serialize(keys.agent(tenant_id, agent_id)),
            "UpdateExpression": "ADD openTickets :d REMOVE routingChanged",
            "ExpressionAttributeValues": {":d": value(delta)},
        }
    }


def _exists_check(key: dict[str, str]) -> dict[str, Any]:
    return {
        "ConditionCheck": {"TableName": table(), "Key": serialize(key), "ConditionExpression": "attribute_exists(PK)"}
    }


@dataclass
class _Txn:
    items: list[dict[str, Any]]
    # For each transaction item, the domain error to raise if its condition fails (None: a race).
    on_fail: list[type[Exception] | None]

    def add(self, item: dict[str, Any], on_fail: type[Exception] | None = None) -> None:
        self.items.append(item)
        self.on_fail.append(on_fail)

    def commit(self) -> None:
        try:
            transact_write(self.items)
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "TransactionCanceledException":
                raise
            reasons = condition_failed_reasons(exc)
            for reason, err in zip(reasons, self.on_fail, strict=False):
                if reason == "ConditionalCheckFailed" and err is not None:
                    raise err() from exc
            if any(r == "ConditionalCheckFailed" for r in reasons):
                raise VersionConflict from exc
            raise


FINISHED = frozenset({"resolved", "closed"})

# An item for a ticket's transaction, and the domain error to raise if its condition fails (None: a race).
TxnItem = tuple[dict[str, Any], type[Exception] | None]


class AssignmentRaced(Exception):
    """The auto-assigned agent's load or availability changed since it was chosen: choose again."""


@dataclass(frozen=True)
class AssignGuard:
    """Routing's view of the chosen agent, re-checked inside the write (AssignmentRaced if it no longer holds).

    Always: the agent's openTickets is still what was read (a racing request that chose it too chooses again),
    it is still available, and below its capacity as stored at that moment, so no race exceeds a capacity.
    As asked: still of `level` (api-create's N1 rule), still a member of `group_id`, and for round robin still
    last assigned when it was read (`last_assigned_at`, None: never), so "least recently assigned" holds too.
    """

    agent_id: str
    open_tickets: int
    level: str | None = None
    group_id: str | None = None
    round_robin: bool = False
    last_assigned_at: str | None = None

    def conditions(self, names: dict[str, str], values: dict[str, Any]) -> list[str]:
        out = ["openTickets = :seen", "available = :yes", "(attribute_not_exists(#cap) OR openTickets < #cap)"]
        names["#cap"] = "capacity"  # a reserved word
        values |= {":seen": value(self.open_tickets), ":yes": value(True)}
        if self.level is not None:
            out.append("#level = :level")
            names["#level"] = "level"
            values[":level"] = value(self.level)
        if self.group_id is not None:
            out.append("contains(groupIds, :group)")
            values[":group"] = value(self.group_id)
        if self.round_robin:
            if self.last_assigned_at is None:
                out.append("attribute_not_exists(lastAssignedAt)")
            else:
                out.append("lastAssignedAt = :last")
                values[":last"] = value(self.last_assigned_at)
        return out


def _open_assignee(ticket: dict[str, Any] | None) -> str | None:
    """The agent whose openTickets this ticket counts towards (unfinished and assigned), if any."""
    if not ticket or ticket.get("status") in FINISHED:
        return None
    return ticket.get("assigneeId") or None


def open_assignee(ticket: dict[str, Any] | None) -> str | None:
    return _open_assignee(ticket)


def routing_changed(old: dict[str, Any] | None, new: dict[str, Any] | None) -> bool:
    """Whether a write can give routing something to do: an agent's open slot freed (the ticket resolved, closed,
    deleted, unassigned or reassigned away from it), or the ticket newly waiting in a group's queue. Such writes
    carry the `routingChanged` marker, which the waiting-tickets consumer's stream filter keys on."""
    freed = _open_assignee(old) is not None and _open_assignee(old) != _open_assignee(new)
    group_changed = (old or {}).get("groupId") != (new or {}).get("groupId")
    return freed or (keys.waits(new) and (not keys.waits(old) or group_changed))


def _agent_ops(
    tenant_id: str,
    txn: _Txn,
    ticket: dict[str, Any],
    old: dict[str, Any] | None,
    at: str,
    guard: AssignGuard | None = None,
) -> None:
    """Keep every agent's openTickets exact, in the ticket's own transaction (one operation per agent)."""
    deltas: dict[str, int] = {}
    before, after = _open_assignee(old), _open_assignee(ticket)
    if before != after:
        if before:
            deltas[before] = deltas.get(before, 0) - 1
        if after:
            deltas[after] = deltas.get(after, 0) + 1
    newly_assigned = ticket.get("assigneeId") if ticket.get("assigneeId") != (old or {}).get("assigneeId") else None
    for agent_id in sorted({*deltas, *([newly_assigned] if newly_assigned else [])}):
        names: dict[str, str] = {}
        values: dict[str, Any] = {}
        sets, adds, conditions = [], [], []
        if deltas.get(agent_id):
            adds.append("openTickets :d")
            values[":d"] = value(deltas[agent_id])
        if agent_id == newly_assigned:
            sets.append("lastAssignedAt = :at")
            values[":at"] = value(at)
            conditions.append("attribute_exists(PK)")
        error: type[Exception] | None = InvalidAssignee if agent_id == newly_assigned else None
        if guard is not None and agent_id == guard.agent_id:
            conditions += guard.conditions(names, values)
            error = AssignmentRaced
        expression = " ".join(
            part
            for part in ("SET " + ", ".join(sets) if sets else "", "ADD " + ", ".join(adds) if adds else "")
            if part
        )
        expression += " REMOVE routingChanged"  # the marker of an agent's own change (logic/agents.py) is spent
        update: dict[str, Any] = {
            "TableName": table(),
            "Key": serialize(keys.agent(tenant_id, agent_id)),
            "UpdateExpression": expression,
            "ExpressionAttributeValues": values,
        }
        if names:
            update["ExpressionAttributeNames"] = names
        if conditions:
            update["ConditionExpression"] = " AND ".join(conditions)
        txn.add({"Update": update}, error)


def _reference_checks(
    tenant_id: str,
    txn: _Txn,
    ticket: dict[str, Any],
    old: dict[str, Any] | None,
    guard: AssignGuard | None = None,
) -> None:
    """Guard references in the same transaction, so a concurrent delete cannot leave a dangling id,
    and move the customer's ticketCount and the agents' openTickets with the ticket."""
    _agent_ops(tenant_id, txn, ticket, old, ticket.get("updatedAt") or "", guard)
    old = old or {}
    if ticket.get("parentId") and ticket["parentId"] != old.get("parentId"):
        txn.add(_exists_check(keys.ticket(tenant_id, ticket["parentId"])), InvalidParent)
    if ticket.get("groupId") and ticket["groupId"] != old.get("groupId"):
        txn.add(_exists_check(keys.group(tenant_id, ticket["groupId"])), InvalidGroup)
    old_c, new_c = old.get("customerId"), ticket.get("customerId")
    if old_c != new_c:
        if new_c:
            txn.add(_customer_count(tenant_id, new_c, 1), InvalidCustomer)
        if old_c:
            txn.add(_customer_count(tenant_id, old_c, -1))


def create(
    tenant_id: str,
    ticket: dict[str, Any],
    actor: str | None = None,
    *,
    guard: AssignGuard | None = None,
    dedupe_claim: str | None = None,
    extra: Sequence[TxnItem] = (),
) -> None:
    """Write a new ticket, its reference pointer and every counter it moves, in one transaction.

    `guard`: auto-assignment's expectations of the chosen agent (AssignmentRaced if they no longer hold).
    `dedupe_claim`: the claim token this request holds on the ticket's dedupe pointer, which the same
    transaction turns into a pointer to the new ticket. `extra`: more items for the same transaction (the
    first comment of a ticket opened by email).
    """
    txn = _Txn([], [])
    txn.add(
        {
            "Put": {
                "TableName": table(),
                "Item": serialize(
                    _ticket_item(
                        tenant_id,
                        {
                            **ticket,
                            "updatedBy": actor,
                            "assigneeChanged": bool(ticket.get("assigneeId")) or None,
                            "routingChanged": routing_changed(None, ticket) or None,
                        },
                    )
                ),
                "ConditionExpression": "attribute_not_exists(PK)",
            }
        }
    )
    txn.add(
        {
            "Put": {
                "TableName": table(),
                "Item": serialize(
                    {**keys.ticket_ref(tenant_id, ticket["number"]), "type": "ticketref", "ticketId": ticket["id"]}
                ),
                "ConditionExpression": "attribute_not_exists(PK)",
            }
        }
    )
    for counter in counters.ticket_updates(tenant_id, None, ticket):
        txn.add(counter)
    _reference_checks(tenant_id, txn, ticket, None, guard)
    if dedupe_claim is not None:
        txn.add(
            {
                "Update": {
                    "TableName": table(),
                    "Key": serialize(keys.dedupe(tenant_id, ticket["dedupeKey"])),
                    "UpdateExpression": "SET ticketId = :id REMOVE claim, claimedAt",
                    "ConditionExpression": "claim = :claim",
                    "ExpressionAttributeValues": {":id": value(ticket["id"]), ":claim": value(dedupe_claim)},
                }
            },
            DedupeClaimLost,
        )
    for extra_item, on_fail in extra:
        txn.add(extra_item, on_fail)
    txn.commit()


def replace(
    tenant_id: str,
    old: dict[str, Any],
    new: dict[str, Any],
    actor: str | None = None,
    *,
    extra: Sequence[TxnItem] = (),
    guard: AssignGuard | None = None,
) -> None:
    """Write `new` over `old` if the stored version is still `old`'s; counters move in the same transaction,
    and so do `extra` items (the comment that a reply adds, the attachments it claims). `guard`: as in create(),
    for a write that routes the ticket to an agent."""
    item = _ticket_item(tenant_id, {**new, "updatedBy": actor})
    # Markers only on writes that change the status or set a new assignee, so the stream filters of the
    # status-event and assignment-email consumers (template.yaml FilterCriteria) skip every other change.
    if old["status"] != new["status"]:
        item["statusChanged"] = True
    if new.get("assigneeId") and new.get("assigneeId") != old.get("assigneeId"):
        item["assigneeChanged"] = True
    if routing_changed(old, new):
        item["routingChanged"] = True
    put = {
        "TableName": table(),
        "Item": serialize(item),
        "ConditionExpression": "attribute_exists(PK) AND version = :v",
        "ExpressionAttributeValues": {":v": value(old["version"])},
    }
    txn = _Txn([], [])
    txn.add({"Put": put})
    for counter in counters.ticket_updates(tenant_id, old, new):
        txn.add(counter)
    _reference_checks(tenant_id, txn, new, old, guard)
    for extra_item, on_fail in extra:
        txn.add(extra_item, on_fail)
    if len(txn.items) == 1:
        try:
            ddb().put_item(**put)
        except ClientError as exc:
            if exc.response["Error"]["Code"] == "ConditionalCheckFailedException":
                raise VersionConflict from exc
            raise
        return
    txn.commit()


def stamp_deletion(tenant_id: str, ticket_id: str, at: str) -> dict[str, Any] | None:
    """Write the time of a coming deletion onto the ticket and return the ticket (None if there is none).

    A DynamoDB stream's REMOVE record carries the item as it was and only a whole-second time, so the
    `ticket.deleted` event takes its time from this stamp: it then sorts after every earlier event of the
    ticket. The stamp is no visible change (no version, no event) and replaces the read a delete needs anyway.
    """
    return update_or_none(
        keys.ticket(tenant_id, ticket_id),
        # Only the stamp: unstamp_deletion must be able to restore the item exactly if the delete fails. The
        # stream filters may still pass this MODIFY (its markers are the last write's); it makes no event.
        UpdateExpression="SET deletedAt = :at",
        ConditionExpression="attribute_exists(PK)",
        ExpressionAttributeValues={":at": value(at)},
    )


def unstamp_deletion(tenant_id: str, ticket_id: str, at: str) -> None:
    """Take a deletion stamp off again (the delete did not happen); a later stamp is left alone."""
    try:
        ddb().update_item(
            TableName=table(),
            Key=serialize(keys.ticket(tenant_id, ticket_id)),
            UpdateExpression="REMOVE deletedAt",
            ConditionExpression="deletedAt = :at",
            ExpressionAttributeValues={":at": value(at)},
        )
    except ClientError as exc:
        if exc.response["Error"]["Code"] != "ConditionalCheckFailedException":
            raise


def delete(tenant_id: str, old: dict[str, Any]) -> None:
    txn = _Txn([], [])
    txn.add(
        {
            "Delete": {
                "TableName": table(),
                "Key": serialize(keys.ticket(tenant_id, old["id"])),
                "ConditionExpression": "attribute_exists(PK) AND version = :v",
                "ExpressionAttributeValues": {":v": value(old["version"])},
            }
        }
    )
    txn.add({"Delete": {"TableName": table(), "Key": serialize(keys.ticket_ref(tenant_id, old["number"]))}})
    for counter in counters.ticket_updates(tenant_id, old, None):
        txn.add(counter)
    if old.get("customerId"):
        txn.add(_customer_count(tenant_id, old["customerId"], -1))
    if agent_id := _open_assignee(old):
        txn.add(_agent_count(tenant_id, agent_id, -1))
    txn.commit()


class UpdateRefused(Exception):
    """The conditional update did not apply; `current` is the stored item (None if there is none)."""

    def __init__(self, current: dict[str, Any] | None) -> None:
        super().__init__("conditional update refused")
        self.current = current


def update_fields(
    tenant_id: str,
    ticket_id: str,
    changes: dict[str, Any],
    *,
    updated_at: str,
    versions: list[int] | None,
    closed_status: str,
    actor: str | None = None,
) -> dict[str, Any]:
    """Apply plain field changes in one conditional UpdateItem and return the new ticket.

    Only for fields that no counter, index partition or reference depends on. The condition refuses
    a missing ticket, a closed one, an If-Match mismatch (`versions`) and a change that changes nothing;
    the refusal carries the stored item so the caller can tell which it was without another read.
    """
    names: dict[str, str] = {"#status": "status", "#version": "version", "#updatedAt": "updatedAt"}
    values: dict[str, Any] = {
        ":closed": value(closed_status),
        ":one": value(1),
        ":now": value(updated_at),
        ":gsi4": value(f"{updated_at}#{ticket_id}"),
    }
    sets = ["#version = #version + :one", "#updatedAt = :now", "GSI4SK = :gsi4"]
    removes, differs = [], []
    if actor:
        sets.append("updatedBy = :actor")
        values[":actor"] = value(actor)
    else:
        removes.append("updatedBy")
    for i, (field, new) in enumerate(sorted(changes.items())):
        names[f"#f{i}"] = field
        if new is None:
            removes.append(f"#f{i}")
            differs.append(f"attribute_exists(#f{i})")
        else:
            values[f":f{i}"] = value(new)
            sets.append(f"#f{i} = :f{i}")
            differs.append(f"(attribute_not_exists(#f{i}) OR #f{i} <> :f{i})")
    changed = differs[0] if len(differs) == 1 else "(" + " OR ".join(differs) + ")"
    condition = f"attribute_exists(PK) AND #status <> :closed AND {changed}"
    if versions is not None:
        placeholders = []
        for i, v in enumerate(versions):
            values[f":v{i}"] = value(v)
            placeholders.append(f":v{i}")
        condition += (
            f" AND #version IN ({', '.join(placeholders)})" if placeholders else " AND attribute_not_exists(PK)"
        )
    removes += ["statusChanged", "assigneeChanged", "slaChanged", "routingChanged"]  # see replace(): none changes
    expression = "SET " + ", ".join(sets) + " REMOVE " + ", ".join(removes)
    try:
        resp = ddb().update_item(
            TableName=table(),
            Key=serialize(keys.ticket(tenant_id, ticket_id)),
            UpdateExpression=expression,
            ConditionExpression=condition,
            ExpressionAttributeNames=names,
            ExpressionAttributeValues=values,
            ReturnValues="ALL_NEW",
            ReturnValuesOnConditionCheckFailure="ALL_OLD",
        )
    except ClientError as exc:
        if exc.response["Error"]["Code"] != "ConditionalCheckFailedException":
            raise
        old = exc.response.get("Item")
        raise UpdateRefused(from_item(old) if old else None) from exc
    return from_item(resp["Attributes"])


def _tenant_items(tenant_id: str, prefix: str) -> Iterator[dict[str, Any]]:
    """Every item of the tenant under a sort key prefix, read consistently page by page (the admin CLI's walk)."""
    start = None
    while True:
        page = ddb().query(
            TableName=table(),
            KeyConditionExpression="PK = :pk AND begins_with(SK, :prefix)",
            ExpressionAttributeValues={":pk": value(keys.tenant_pk(tenant_id)), ":prefix": value(prefix)},
            ConsistentRead=True,
            **({"ExclusiveStartKey": start} if start else {}),
        )
        yield from (deserialize(raw) for raw in page.get("Items") or [])
        start = page.get("LastEvaluatedKey")
        if not start:
            return


def reindex(tenant_id: str) -> dict[str, int]:
    """Bring a tenant's tickets and counters to the current key formats (the admin CLI's `tenant reindex`).

    Each ticket whose index attributes differ from keys.ticket_index_keys() gets them in one UpdateItem conditional
    on its version (a ticket written meanwhile already has them); the ticket counters are then recounted from the
    tickets and written whole, stale counter items zeroed. Idempotent. Counts written by tickets that change while
    it runs may be off: run it while the tenant does not write (or run it again), see docs/access-patterns.md.
    """
    tickets, rewritten = [], 0
    for item in _tenant_items(tenant_id, keys.TICKET_PREFIX):
        ticket = strip_keys(item)
        tickets.append(ticket)
        wanted = keys.ticket_index_keys(tenant_id, ticket)
        if all(item.get(attr) == wanted.get(attr) for attr in keys.TICKET_INDEX_ATTRS):
            continue
        names = {f"#k{i}": attr for i, attr in enumerate(keys.TICKET_INDEX_ATTRS)}
        sets = [f"#k{i} = :k{i}" for i, attr in enumerate(keys.TICKET_INDEX_ATTRS) if attr in wanted]
        removes = [f"#k{i}" for i, attr in enumerate(keys.TICKET_INDEX_ATTRS) if attr not in wanted]
        values = {f":k{i}": value(wanted[attr]) for i, attr in enumerate(keys.TICKET_INDEX_ATTRS) if attr in wanted}
        try:
            ddb().update_item(
                TableName=table(),
                Key=serialize(keys.ticket(tenant_id, ticket["id"])),
                UpdateExpression="SET " + ", ".join(sets) + (" REMOVE " + ", ".join(removes) if removes else ""),
                ConditionExpression="version = :v",
                ExpressionAttributeNames=names,
                ExpressionAttributeValues={**values, ":v": value(ticket["version"])},
            )
            rewritten += 1
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "ConditionalCheckFailedException":
                raise
    recounted = counters.totals(tenant_id, tickets)
    existing = {item[keys.SK]: strip_keys(item) for item in _tenant_items(tenant_id, keys.TICKET_COUNTS_PREFIX)}
    written = 0
    for sk in sorted({*recounted, *existing, keys.TICKET_COUNTS}):
        counts = {attr: n for attr, n in recounted.get(sk, {}).items() if n}
        have = existing.get(sk)
        same = have is not None and {a: n for a, n in have.items() if a != keys.COUNTERS_SINCE and n} == counts
        if same and (sk != keys.TICKET_COUNTS or keys.COUNTERS_SINCE in (have or {})):
            continue
        item = {keys.PK: keys.tenant_pk(tenant_id), keys.SK: sk, **counts}
        if sk == keys.TICKET_COUNTS:
            item = tenants_counters_item(tenant_id, counts)
        ddb().put_item(TableName=table(), Item=serialize(item))
        written += 1
    return {"tickets": len(tickets), "ticketsReindexed": rewritten, "counterItemsWritten": written}
