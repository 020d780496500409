"""Business-event intake (POST /v1/tickets/api-create): customer by externalId, tags by id,
routing (by the named group, else to the least-loaded available N1 agent), and dedupe of repeated events."""

from __future__ import annotations

import secrets
import time
from typing import Any

from tickets.dal import dedupe as dedupe_dal
from tickets.dal import groups as groups_dal
from tickets.dal.tickets import DedupeClaimLost
from tickets.errors import FieldError, InvalidGroup, ServiceUnavailable
from tickets.logic import group_routing, references
from tickets.logic.tickets import insert_ticket, shape
from tickets.models.tickets import TicketIntake
from tickets.timeutil import now_iso

CLAIM_TTL_SECONDS = 30.0  # a claim older than this belongs to a request that died: take it over
DEDUPE_ROUNDS = 60


def _assigner(tenant_id: str, data: dict[str, Any]) -> group_routing.Assigner:
    """By the event's group if it names one (read now: an unknown one is a 400 before a number is used), else
    by the N1 rule."""
    if not data.get("groupId"):
        return group_routing.n1_assigner(tenant_id, data)
    group = groups_dal.get(tenant_id, data["groupId"])
    if group is None:
        raise InvalidGroup(f"group {data['groupId']} does not exist", [FieldError("groupId", "unknown")])
    return group_routing.group_assigner(tenant_id, group, data)


def api_create(tenant_id: str, body: TicketIntake, actor: str | None = None) -> tuple[dict[str, Any], int]:
    """The ticket and the status to answer with: 201 for a new ticket, 200 for a deduplicated event."""
    customer = references.customer_by_external_id(tenant_id, body.customerExternalId)
    data = body.model_dump(mode="json", exclude={"customerExternalId", "tagIds"})
    data |= {
        "tags": references.tag_names(tenant_id, body.tagIds, data["tags"]),
        "status": "new",
        "channel": "api",
        "customerId": customer["id"],
        "requester": None,
        "assigneeId": None,
        "parentId": None,
        "customFields": {},
        "dueAt": None,
    }
    snapshots = {"customer": customer}
    assign = _assigner(tenant_id, data)
    if not body.dedupeKey:
        return insert_ticket(tenant_id, data, snapshots, actor, assign=assign), 201
    return _deduplicated(tenant_id, body.dedupeKey, data, snapshots, actor, assign)


def _deduplicated(
    tenant_id: str,
    key: str,
    data: dict[str, Any],
    snapshots: dict[str, Any],
    actor: str | None,
    assign: group_routing.Assigner,
) -> tuple[dict[str, Any], int]:
    for attempt in range(DEDUPE_ROUNDS):
        pointer = dedupe_dal.get(tenant_id, key)
        if pointer and pointer.get("ticketId"):
            counted = dedupe_dal.count_occurrence(tenant_id, pointer["ticketId"], key, now_iso())
            if counted is not None:
                return shape(counted), 200
            replace: dict[str, Any] | None = pointer  # its ticket was resolved, closed or deleted
        elif pointer and time.time() - float(pointer.get("claimedAt", 0)) < CLAIM_TTL_SECONDS:
            time.sleep(min(0.02 * (attempt + 1), 0.2))  # another request is creating the ticket
            continue
        else:
            replace = pointer  # None, or an expired claim
        token = secrets.token_hex(8)
        if not dedupe_dal.claim(tenant_id, key, token, time.time(), replace=replace):
            continue
        try:
            ticket = insert_ticket(tenant_id, data, snapshots, actor, assign=assign, dedupe_claim=token)
        except DedupeClaimLost:
            continue
        except BaseException:
            dedupe_dal.release(tenant_id, key, token)
            raise
        return ticket, 201
    raise ServiceUnavailable("too many concurrent events with this dedupeKey; retry")
