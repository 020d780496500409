"""Business-event intake (POST /v1/tickets/api-create): customer by externalId, tags by id,
auto-assignment to the least-loaded available N1 agent, and dedupe of repeated events."""

from __future__ import annotations

import secrets
import time
from typing import Any

from tickets.dal import agents as agents_dal
from tickets.dal import dedupe as dedupe_dal
from tickets.dal.tickets import AssignGuard, DedupeClaimLost
from tickets.errors import ServiceUnavailable
from tickets.logic import references
from tickets.logic.agents import choose_assignee
from tickets.logic.tickets import insert_ticket, shape
from tickets.models.tickets import TicketIntake
from tickets.timeutil import now_iso

CLAIM_TTL_SECONDS = 30.0  # a claim older than this belongs to a request that died: take it over
DEDUPE_ROUNDS = 60


def _assigner(tenant_id: str) -> Any:
    def assign(tenant: dict[str, Any]) -> tuple[dict[str, Any], AssignGuard] | None:
        if tenant.get("autoAssign") is False:
            return None
        agent = choose_assignee(agents_dal.list_all(tenant_id))
        if agent is None:
            return None
        fields = {
            "assigneeId": agent["id"],
            "assignee": {"id": agent["id"], "name": agent.get("name"), "email": agent.get("email")},
            "status": "open",
        }
        return fields, AssignGuard(agent["id"], int(agent.get("openTickets", 0)), "N1")

    return assign


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
    if not body.dedupeKey:
        return insert_ticket(tenant_id, data, snapshots, actor, assign=_assigner(tenant_id)), 201
    return _deduplicated(tenant_id, body.dedupeKey, data, snapshots, actor)


def _deduplicated(
    tenant_id: str, key: str, data: dict[str, Any], snapshots: dict[str, Any], actor: str | None
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
            ticket = insert_ticket(tenant_id, data, snapshots, actor, assign=_assigner(tenant_id), dedupe_claim=token)
        except DedupeClaimLost:
            continue
        except BaseException:
            dedupe_dal.release(tenant_id, key, token)
            raise
        return ticket, 201
    raise ServiceUnavailable("too many concurrent events with this dedupeKey; retry")
