"""Ticket rules: numbering and quota, references, status timestamps and versioning (lists: logic/ticket_lists.py)."""

from __future__ import annotations

import contextlib
import random
import re
import time
from collections.abc import Callable, Sequence
from typing import Any

from tickets import ids, metrics
from tickets.dal import customers as customers_dal
from tickets.dal import keys
from tickets.dal import tenants as tenants_dal
from tickets.dal import tickets as dal
from tickets.dal.client import get_many
from tickets.errors import (
    FieldError,
    InvalidAssignee,
    InvalidCustomer,
    InvalidGroup,
    InvalidParent,
    NotFound,
    PreconditionFailed,
    ServiceUnavailable,
    TicketClosed,
    ValidationFailed,
)
from tickets.logic import group_routing, references, routing, sla
from tickets.models.tickets import Status, TicketCreate, TicketPatch
from tickets.timeutil import from_ms, iso, month_key, now

REFERENCE_RE = re.compile(r"^([A-Z][A-Z0-9]{0,9})-([1-9][0-9]{0,11})$")
WRITE_RETRIES = 5


def _snapshots(
    tenant_id: str,
    customer_id: str | None,
    assignee_id: str | None,
    parent_id: str | None = None,
    group_id: str | None = None,
) -> dict[str, Any]:
    """Read-only snapshots of the linked customer and agent, fetched in one BatchGetItem.

    The parent and the group are only checked for existence (the group comes back as "group", for routing, and
    is not a ticket field); the write re-checks them all in its transaction, so a concurrent delete is still
    caught, and checking here first keeps bad input from using a number.
    """
    refs = []
    if parent_id:
        refs.append(("parent", keys.ticket(tenant_id, parent_id)))
    if group_id:
        refs.append(("group", keys.group(tenant_id, group_id)))
    if customer_id:
        refs.append(("customer", keys.customer(tenant_id, customer_id)))
    if assignee_id:
        refs.append(("assignee", keys.agent(tenant_id, assignee_id)))
    found = get_many(refs)
    out: dict[str, Any] = {}
    if parent_id and "parent" not in found:
        raise InvalidParent(f"ticket {parent_id} does not exist", [FieldError("parentId", "unknown")])
    if group_id:
        if "group" not in found:
            raise InvalidGroup(f"group {group_id} does not exist", [FieldError("groupId", "unknown")])
        out["group"] = found["group"]
    if customer_id:
        c = found.get("customer")
        if c is None:
            raise InvalidCustomer(f"customer {customer_id} does not exist", [FieldError("customerId", "unknown")])
        out["customer"] = customers_dal.snapshot(c)
    if assignee_id:
        a = found.get("assignee")
        if a is None:
            raise InvalidAssignee(f"agent {assignee_id} does not exist", [FieldError("assigneeId", "unknown")])
        out["assignee"] = {"id": a["id"], "name": a.get("name"), "email": a.get("email")}
    return out


def _apply_status_times(ticket: dict[str, Any], old_status: str | None, at: str) -> None:
    status = ticket["status"]
    if status == old_status:
        return
    if status == Status.RESOLVED:
        ticket["resolvedAt"] = at
    elif status != Status.CLOSED:
        ticket["resolvedAt"] = None  # reopened
    if status == Status.CLOSED:
        ticket["closedAt"] = at
    else:
        ticket["closedAt"] = None


# Chooses the assignee once the tenant is known: returns (fields to merge into the ticket, guard) or None.
Assigner = Callable[[dict[str, Any]], tuple[dict[str, Any], dal.AssignGuard] | None]
ASSIGNMENT_RETRIES = 25


def insert_ticket(
    tenant_id: str,
    data: dict[str, Any],
    snapshots: dict[str, Any],
    actor: str | None,
    *,
    assign: Assigner | None = None,
    dedupe_claim: str | None = None,
    prepare: Callable[[dict[str, Any]], Sequence[dal.TxnItem]] | None = None,
) -> dict[str, Any]:
    """Number a new ticket (sequence + monthly quota in one conditional update) and write it.

    With `assign`, the assignee is chosen after the tenant's settings are known and re-chosen if the
    chosen agent's load changes before the write commits; the number is allocated once either way.
    `prepare(ticket)` may complete the ticket about to be written (id, number and times known) and returns
    items for the same transaction: how a ticket opened by email gets its first comment in the same write.
    """
    new_id = ids.new_id()  # createdAt is the id's own millisecond, so id ranges and createdAt agree
    moment = from_ms(ids.timestamp_ms(new_id))
    at = iso(moment)
    tenant = tenants_dal.allocate_ticket_number(tenant_id, month_key(moment))
    number = int(tenant["seq"])
    base: dict[str, Any] = {
        **data,
        "id": new_id,
        "number": number,
        "reference": f"{tenant['ticketPrefix']}-{number}",
        "customer": None,
        "assignee": None,
        "occurrences": 1,
        "createdAt": at,
        "updatedAt": at,
        "resolvedAt": None,
        "closedAt": None,
        "version": 1,
        **snapshots,
    }
    try:
        sla.apply(tenant_id, None, base, at, client_due=data.get("dueAt") is not None,
                  sla_rev=int(tenant.get("slaRev") or 0))  # fmt: skip
        for attempt in range(ASSIGNMENT_RETRIES):
            ticket, guard = dict(base), None
            choice = assign(tenant) if assign else None
            if choice:
                fields, guard = choice
                ticket |= fields
            _apply_status_times(ticket, None, at)
            extra = prepare(ticket) if prepare else ()
            try:
                dal.create(tenant_id, ticket, actor, guard=guard, dedupe_claim=dedupe_claim, extra=extra)
            except dal.AssignmentRaced:
                time.sleep(random.uniform(0, 0.005 * (attempt + 1)))  # jitter before choosing again
                continue
            metrics.count(metrics.TICKETS_CREATED, channel=str(ticket["channel"]))
            return ticket
        raise ServiceUnavailable("agents are being assigned too fast; retry")
    except BaseException:
        # The number stays used (a gap) but the quota unit is given back.
        tenants_dal.release_quota(tenant_id, month_key(moment))
        raise


def create_ticket(tenant_id: str, body: TicketCreate, actor: str | None = None) -> dict[str, Any]:
    data = body.model_dump(mode="json", exclude={"customerExternalId", "tagIds"})
    data["tags"] = references.tag_names(tenant_id, body.tagIds, data["tags"])
    group_id = data["groupId"]
    if body.customerExternalId is None:
        snapshots = _snapshots(tenant_id, data["customerId"], data["assigneeId"], data["parentId"], group_id)
    else:  # the externalId pointer holds the customer's snapshot already
        customer = references.customer_by_external_id(tenant_id, body.customerExternalId)
        data["customerId"] = customer["id"]
        snapshots = {
            **_snapshots(tenant_id, None, data["assigneeId"], data["parentId"], group_id),
            "customer": customer,
        }
    group = snapshots.pop("group", None)
    assign = group_routing.group_assigner(tenant_id, group, data) if routing.routes_on_write(None, data) else None
    return insert_ticket(tenant_id, data, snapshots, actor, assign=assign)


def get_ticket(tenant_id: str, id_or_reference: str) -> dict[str, Any]:
    ticket_id: str | None = id_or_reference if ids.is_ulid(id_or_reference) else None
    if ticket_id is None and (m := REFERENCE_RE.match(id_or_reference.upper())):
        ticket_id = dal.get_id_by_number(tenant_id, int(m.group(2)))
        found = dal.get(tenant_id, ticket_id) if ticket_id else None
        if found and found["reference"].upper() != id_or_reference.upper():
            found = None
    else:
        found = dal.get(tenant_id, ticket_id) if ticket_id else None
    if not found:
        raise NotFound(f"no ticket {id_or_reference}")
    return found


_NULLABLE = (
    "description",
    "category",
    "customerId",
    "customer",
    "requester",
    "assigneeId",
    "assignee",
    "groupId",
    "parentId",
    "dedupeKey",
    "dueAt",
    "resolvedAt",
    "closedAt",
    "lastCommentAt",
    "firstRespondedAt",
    "sla",
)


def shape(stored: dict[str, Any]) -> dict[str, Any]:
    """Stored items omit nulls; logic works on the full shape so that comparisons are exact."""
    return {
        **dict.fromkeys(_NULLABLE),
        "tags": [],
        "requiredSkills": [],
        "customFields": {},
        "metadata": {},
        "commentCount": 0,
        **stored,
    }


def load(tenant_id: str, ticket_id: str) -> dict[str, Any]:
    found = dal.get(tenant_id, ticket_id) if ids.is_ulid(ticket_id) else None
    if not found:
        raise NotFound(f"no ticket {ticket_id}")
    return shape(found)


def _if_match_versions(if_match: str | None) -> list[int] | None:
    """The versions an If-Match header accepts; None when any version will do (absent or `*`)."""
    if if_match is None:
        return None
    tags = {tag.strip().removeprefix("W/").strip('"') for tag in if_match.split(",")}
    if "*" in tags:
        return None
    return sorted({int(t) for t in tags if t.isdigit() and len(t) <= 15})


def _check_if_match(ticket: dict[str, Any], versions: list[int] | None) -> None:
    if versions is not None and ticket["version"] not in versions:
        raise PreconditionFailed(f"the ticket is at version {ticket['version']}; If-Match does not match it")


# Fields that counters, index partitions, snapshots or status timestamps depend on: a patch touching
# one of them is read, recomputed and written back in a transaction. Any other patch is one UpdateItem.
# The group moves the group's counters, the waiting index's partition, and may route the ticket; priority, groupId
# and dueAt move the ticket's SLA (logic/sla.py), which next_state computes; priority also moves the status x
# priority counters and the ticket's GSI1 partition (dal/counters.py, dal/keys.py).
_STRUCTURAL = frozenset({"status", "customerId", "assigneeId", "parentId", "priority", "groupId", "dueAt"})


def _update_plain(
    tenant_id: str,
    ticket_id: str,
    changes: dict[str, Any],
    versions: list[int] | None,
    actor: str | None,
) -> dict[str, Any]:
    if not ids.is_ulid(ticket_id):
        raise NotFound(f"no ticket {ticket_id}")
    try:
        return shape(
            dal.update_fields(
                tenant_id,
                ticket_id,
                changes,
                updated_at=iso(now()),
                versions=versions,
                closed_status=Status.CLOSED,
                actor=actor,
            )
        )
    except dal.UpdateRefused as refused:
        if refused.current is None:
            raise NotFound(f"no ticket {ticket_id}") from None
        current = shape(refused.current)
        _check_if_match(current, versions)
        if current["status"] == Status.CLOSED:
            raise TicketClosed(f"ticket {current['reference']} is closed") from None
        return current  # the patch changes nothing: no new version, no event


def update_ticket(
    tenant_id: str, ticket_id: str, patch: TicketPatch, if_match: str | None, actor: str | None = None
) -> dict[str, Any]:
    changes = patch.changes()
    known: dict[str, Any] = {}
    if patch.customerExternalId is not None:
        known["customer"] = references.customer_by_external_id(tenant_id, patch.customerExternalId)
        changes["customerId"] = known["customer"]["id"]
    if patch.tagIds is not None:
        # As a PATCH sets a field whole: the ticket's tags become `tags` (if given) and then the tagIds' names.
        changes["tags"] = references.tag_names(tenant_id, patch.tagIds, changes.get("tags") or [])
    versions = _if_match_versions(if_match)
    if changes.get("parentId") == ticket_id:
        raise ValidationFailed("a ticket cannot be its own parent", [FieldError("parentId", "self reference")])
    if changes and not (_STRUCTURAL & changes.keys()):
        return _update_plain(tenant_id, ticket_id, changes, versions, actor)
    for _ in range(WRITE_RETRIES):
        old = load(tenant_id, ticket_id)
        _check_if_match(old, versions)
        try:
            return apply_changes(tenant_id, old, changes, actor, known)
        except dal.VersionConflict:
            if versions is not None:
                raise PreconditionFailed("the ticket changed while this request was applied") from None
    raise PreconditionFailed("the ticket is being changed concurrently; retry")


def next_state(
    tenant_id: str,
    old: dict[str, Any],
    changes: dict[str, Any],
    known: dict[str, Any] | None = None,
    *,
    at: str | None = None,
) -> dict[str, Any]:
    """The ticket `old` with `changes` applied: snapshots of new references, status times, a new version.

    Returns `old` itself when nothing changes. Raises TicketClosed and the reference errors. `known` holds
    snapshots already fetched for this request (e.g. the one assignee of a bulk assign), keyed
    "customer"/"assignee"; `at` is the write's time (now if None).
    """
    if old["status"] == Status.CLOSED:
        raise TicketClosed(f"ticket {old['reference']} is closed")
    new = {**old, **changes}
    if new == old:
        return old  # nothing to change: no new version, no event
    refs = {
        field: changes[field]
        for field in ("customerId", "assigneeId", "parentId", "groupId")
        if field in changes and changes[field] != old.get(field)
    }
    known = known or {}
    fetch = {
        f: v for f, v in refs.items()
        if not (f == "assigneeId" and "assignee" in known) and not (f == "customerId" and "customer" in known)
        and not (f == "groupId" and "group" in known)
    }  # fmt: skip
    if fetch:
        snaps = _snapshots(
            tenant_id, fetch.get("customerId"), fetch.get("assigneeId"), fetch.get("parentId"), fetch.get("groupId")
        )
        known = {**known, **snaps}
    if "customerId" in refs:
        new["customer"] = known.get("customer")
    if "assigneeId" in refs:
        new["assignee"] = known.get("assignee") if refs["assigneeId"] else None
    at = at or iso(now())
    _apply_status_times(new, old["status"], at)
    new["updatedAt"] = at
    new["version"] = old["version"] + 1
    sla.apply(tenant_id, old, new, at, client_due="dueAt" in changes)
    return new


def apply_changes(
    tenant_id: str,
    old: dict[str, Any],
    changes: dict[str, Any],
    actor: str | None,
    known: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Write `changes` over the stored ticket `old` (read + one transaction: counters move with it).

    Raises what next_state raises, or dal.VersionConflict when `old` is no longer current (the caller re-reads
    and calls again).
    """
    new = next_state(tenant_id, old, changes, known)
    if new is old:
        return new
    if routing.routes_on_write(old, new):  # it gets a group while unassigned: routed in the same write
        return group_routing.write_routed(tenant_id, old, new, actor)
    dal.replace(tenant_id, old, new, actor)
    return new


def stamp_for_deletion(tenant_id: str, ticket_id: str) -> dict[str, Any] | None:
    """The ticket, stamped with the time of its deletion (the deleted event's time); None if there is none."""
    if not ids.is_ulid(ticket_id):
        return None
    found = dal.stamp_deletion(tenant_id, ticket_id, iso(now()))
    return shape(found) if found else None


def delete_stamped(tenant_id: str, old: dict[str, Any]) -> None:
    """Delete a ticket that stamp_for_deletion returned; if it is not deleted, its stamp comes off again, so a
    refused or throttled delete leaves the ticket as it was (raises what dal.delete raises)."""
    try:
        dal.delete(tenant_id, old)
    except BaseException:
        with contextlib.suppress(Exception):  # the stamp is invisible: a failure to remove it must not mask why
            dal.unstamp_deletion(tenant_id, old["id"], old["deletedAt"])
        raise


def delete_ticket(tenant_id: str, ticket_id: str) -> None:
    for _ in range(WRITE_RETRIES):
        old = stamp_for_deletion(tenant_id, ticket_id)
        if old is None:
            raise NotFound(f"no ticket {ticket_id}")
        try:
            delete_stamped(tenant_id, old)
        except dal.VersionConflict:
            continue
        return
    raise PreconditionFailed("the ticket is being changed concurrently; retry")
