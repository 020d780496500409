"""Bulk and batch changes: each ticket stands alone, written with the same conditional transaction as PATCH.

Tickets are read with BatchGetItem (100 keys a call); each change is one TransactWriteItems conditional
on the version that was read, moving the same counters as a single PATCH, so a concurrent PATCH is
never lost (a conflict re-reads that one ticket and applies the change again).
"""

from __future__ import annotations

import contextvars
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from botocore.exceptions import ClientError

from tickets import aws, metrics
from tickets import ids as idgen
from tickets.dal import agents as agents_dal
from tickets.dal import groups as groups_dal
from tickets.dal import keys
from tickets.dal import tickets as dal
from tickets.dal.client import get_many
from tickets.errors import (
    Conflict,
    DomainError,
    FieldError,
    InvalidAssignee,
    InvalidGroup,
    NotFound,
    ServiceUnavailable,
    ValidationFailed,
)
from tickets.logic import ticket_lists
from tickets.logic.tickets import WRITE_RETRIES, apply_changes, delete_stamped, load, shape, stamp_for_deletion
from tickets.models.bulk import Batch
from tickets.models.tickets import UNFINISHED, Status

WORKERS = 8
SOLVE_LIMIT = 1000

Change = Callable[[dict[str, Any]], dict[str, Any]]


def _read(tenant_id: str, ticket_ids: list[str]) -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = {}
    valid = [i for i in ticket_ids if idgen.is_ulid(i)]
    for start in range(0, len(valid), 100):
        chunk = valid[start : start + 100]
        found |= get_many([(i, keys.ticket(tenant_id, i)) for i in chunk])
    return {i: shape(t) for i, t in found.items()}


def _error(exc: DomainError) -> dict[str, Any]:
    return {"code": exc.code, "detail": exc.detail or exc.title}


def _run(
    tenant_id: str, ticket_ids: list[str], one: Callable[[str, dict[str, Any] | None], bool], *, read: bool = True
) -> dict[str, Any]:
    """Run `one(id, stored ticket or None)` for each distinct id; it returns whether it changed the ticket.

    With `read=False` the tickets are not read first (`one` gets None and reads for itself).
    """
    distinct = list(dict.fromkeys(ticket_ids))  # a repeated id is handled once
    stored = _read(tenant_id, distinct) if read else {}
    changed = 0

    def outcome(ticket_id: str) -> dict[str, Any]:
        nonlocal changed
        try:
            if one(ticket_id, stored.get(ticket_id)):
                changed += 1
        except DomainError as exc:
            return {"id": ticket_id, "status": exc.status, "error": _error(exc)}
        except ClientError as exc:
            if not aws.throttled(exc):
                raise
            # Nothing of this ticket was written; the others were: say so per item, not as one 503.
            busy = ServiceUnavailable(f"ticket {ticket_id} could not be written now (throttled); retry it")
            return {"id": ticket_id, "status": busy.status, "error": _error(busy)}
        return {"id": ticket_id, "status": 200}

    with ThreadPoolExecutor(min(WORKERS, len(distinct))) as pool:
        # A pool thread does not inherit the invocation's contextvars (Powertools' thread-safe log keys, the
        # local IAM check's function): each ticket runs in a copy of them.
        futures = [pool.submit(contextvars.copy_context().run, outcome, i) for i in distinct]
        results = [f.result() for f in futures]
    ok = sum(1 for r in results if r["status"] == 200)
    metrics.count(metrics.THROTTLES, sum(1 for r in results if r["status"] == 503), source="api")
    return {"results": results, "succeeded": ok, "failed": len(results) - ok, "changed": changed}


def _busy(ticket_id: str) -> DomainError:
    # Per-item statuses are 200/404/409/400: a ticket that kept changing under us is a conflict.
    return Conflict(f"ticket {ticket_id} is being changed concurrently; retry it")


def _changer(tenant_id: str, change: Change, actor: str | None, known: dict[str, Any] | None = None) -> Any:
    def one(ticket_id: str, ticket: dict[str, Any] | None) -> bool:
        for _ in range(WRITE_RETRIES):
            if ticket is None:
                raise NotFound(f"no ticket {ticket_id}")
            try:
                return apply_changes(tenant_id, ticket, change(ticket), actor, known) is not ticket
            except dal.VersionConflict:
                ticket = shape(found) if (found := dal.get(tenant_id, ticket_id)) else None
        raise _busy(ticket_id)

    return one


def set_status(tenant_id: str, ticket_ids: list[str], status: str, actor: str | None) -> dict[str, Any]:
    return _run(tenant_id, ticket_ids, _changer(tenant_id, lambda t: {"status": status}, actor))


def set_priority(tenant_id: str, ticket_ids: list[str], priority: str, actor: str | None) -> dict[str, Any]:
    return _run(tenant_id, ticket_ids, _changer(tenant_id, lambda t: {"priority": priority}, actor))


def delete(tenant_id: str, ticket_ids: list[str]) -> dict[str, Any]:
    def one(ticket_id: str, _: dict[str, Any] | None) -> bool:
        for _attempt in range(WRITE_RETRIES):
            # The stamp (the deleted event's time) also reads the ticket: no BatchGetItem first.
            ticket = stamp_for_deletion(tenant_id, ticket_id)
            if ticket is None:
                raise NotFound(f"no ticket {ticket_id}")
            try:
                delete_stamped(tenant_id, ticket)
                return True
            except dal.VersionConflict:
                continue
        raise _busy(ticket_id)

    return _run(tenant_id, ticket_ids, one, read=False)


def batch(tenant_id: str, body: Batch, actor: str | None) -> dict[str, Any]:
    """Apply every action, in order, to each ticket; one write per ticket. A `set_group` that gives an unassigned
    ticket a group routes it, as a PATCH does."""
    known: dict[str, Any] = {}
    reference_error: DomainError | None = None
    for action in body.actions:
        if action.type == "assign":
            agent = agents_dal.get(tenant_id, action.value) if idgen.is_ulid(action.value) else None
            if agent is None:
                reference_error = InvalidAssignee(
                    f"agent {action.value} does not exist", [FieldError("value", "unknown")]
                )
            else:
                known["assignee"] = {"id": agent["id"], "name": agent.get("name"), "email": agent.get("email")}
        if action.type == "set_group" and action.value is not None:
            group = groups_dal.get(tenant_id, action.value) if idgen.is_ulid(action.value) else None
            if group is None:
                reference_error = InvalidGroup(f"group {action.value} does not exist", [FieldError("value", "unknown")])
            else:
                known["group"] = group

    def change(ticket: dict[str, Any]) -> dict[str, Any]:
        if reference_error is not None:
            raise reference_error
        out: dict[str, Any] = {}
        tags = list(ticket.get("tags") or [])
        for action in body.actions:
            match action.type:
                case "set_status":
                    out["status"] = str(action.value)
                case "set_priority":
                    out["priority"] = str(action.value)
                case "assign":
                    out["assigneeId"] = action.value
                case "unassign":
                    out["assigneeId"] = None
                case "add_tags":
                    tags += [t for t in action.value if t not in tags]
                case "remove_tags":
                    tags = [t for t in tags if t not in action.value]
                case "set_category":
                    out["category"] = action.value
                case "set_group":
                    out["groupId"] = action.value
        if tags != list(ticket.get("tags") or []):
            if len(tags) > 20:
                raise ValidationFailed("a ticket has at most 20 tags", [FieldError("tags", "too many")])
            out["tags"] = tags
        return out

    return _run(tenant_id, body.ids, _changer(tenant_id, change, actor, known))


def _unfinished(customer_id: str | None) -> ticket_lists.Filter:
    f = ticket_lists.Filter(sort="createdAt").narrow(statuses=[s.value for s in UNFINISHED])
    return f.narrow(customers=[customer_id]) if customer_id else f


def _unfinished_ids(tenant_id: str, customer_id: str | None, limit: int) -> list[str]:
    """Ids of unfinished tickets, oldest first, planned like a list (and as bounded: the call reports what remains)."""
    return ticket_lists.ticket_ids(tenant_id, _unfinished(customer_id), limit)


def _remaining(tenant_id: str, customer_id: str | None) -> int:
    return int(ticket_lists.count(tenant_id, _unfinished(customer_id))["total"])


def solve_unfinished(tenant_id: str, customer_id: str | None, actor: str | None) -> dict[str, Any]:
    ticket_ids = _unfinished_ids(tenant_id, customer_id, SOLVE_LIMIT)
    resolved = 0
    # The index can lag the table: a ticket already finished is left alone and not counted.
    solve = _changer(tenant_id, lambda t: {"status": Status.RESOLVED} if t["status"] in UNFINISHED else {}, actor)
    for start in range(0, len(ticket_ids), 100):
        resolved += _run(tenant_id, ticket_ids[start : start + 100], solve)["changed"]
    return {"resolved": resolved, "remaining": _remaining(tenant_id, customer_id)}


def unlink_customer(tenant_id: str, ticket_id: str, actor: str | None) -> dict[str, Any]:
    for _ in range(WRITE_RETRIES):
        old = load(tenant_id, ticket_id)
        try:
            return apply_changes(tenant_id, old, {"customerId": None}, actor)
        except dal.VersionConflict:
            continue
    raise ServiceUnavailable("the ticket is being changed concurrently; retry")
