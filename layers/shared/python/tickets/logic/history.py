"""A ticket's audit trail, written by the stream consumers and read by GET /v1/tickets/{id}/history."""

from __future__ import annotations

from typing import Any

from tickets.dal import history as dal
from tickets.dal import keys
from tickets.dal.query import QueryPlan
from tickets.logic import paging
from tickets.logic.tickets import get_ticket
from tickets.models.events import DomainEvent
from tickets.models.webhooks import HistoryQuery

# Changes that have their own entries (status_changed, assigned) or are bookkeeping of those.
_OWN_ENTRIES = frozenset({"status", "resolvedAt", "closedAt", "assigneeId", "assignee"})


def entries_for(event: DomainEvent) -> list[tuple[int, str, dict[str, Any]]]:
    """(version, kind, entry) for the history entries one domain event stands for."""
    ticket = event.data.get("ticket") or {}
    version = int(ticket.get("version") or 0)
    base = {"at": event.createdAt, "actor": event.actor, "eventId": event.id}
    if event.type == "ticket.created":
        return [(version, "created", {**base, "type": "created", "from": None, "to": ticket.get("status")})]
    if event.type == "ticket.status_changed":
        entry = {**base, "type": "status_changed", "from": event.data["previousStatus"], "to": event.data["newStatus"]}
        return [(version, "status_changed", entry)]
    if event.type == "ticket.assigned":
        entry = {**base, "type": "assigned", "from": event.data["previousAssigneeId"], "to": event.data["assigneeId"]}
        return [(version, "assigned", entry)]
    if event.type == "comment.created":
        comment = event.data["comment"]
        entry = {**base, "type": "commented", "from": None, "to": {"commentId": comment["id"],
                 "visibility": comment["visibility"], "author": comment["author"]}}  # fmt: skip
        return [(version, "commented", entry)]
    if event.type in ("ticket.sla_warning", "ticket.sla_breached"):
        kind = event.type.removeprefix("ticket.")
        to = {k: v for k, v in event.data.items() if k != "ticket"}
        # One write may record both stages of both targets: the key sorts them as they fell due.
        order = f"sla#{to['target']}#{1 if kind == 'sla_warning' else 2}"
        return [(version, order, {**base, "type": kind, "from": None, "to": to})]
    if event.type == "ticket.updated":
        changes = {k: v for k, v in event.data["changes"].items() if k not in _OWN_ENTRIES}
        if not changes:
            return []
        entry = {
            **base,
            "type": "updated",
            "from": {k: v["from"] for k, v in changes.items()},
            "to": {k: v["to"] for k, v in changes.items()},
        }
        return [(version, "updated", entry)]
    return []


def record(events: list[DomainEvent], kinds: frozenset[str]) -> int:
    """Write the entries of `events` whose kind is in `kinds`. Idempotent."""
    written = 0
    for event in events:
        ticket = event.data.get("ticket") or {}
        for version, kind, entry in entries_for(event):
            if entry["type"] in kinds:
                dal.put(event.tenantId, ticket["id"], version, kind, entry)
                written += 1
    return written


def list_history(tenant_id: str, ticket_id: str, q: HistoryQuery) -> dict[str, Any]:
    ticket = get_ticket(tenant_id, ticket_id)  # 404 for a missing or foreign ticket
    prefix = keys.history_prefix(ticket["id"])
    plan = QueryPlan(None, keys.tenant_pk(tenant_id), prefix, prefix + "~", forward=True)
    result = paging.page(tenant_id, plan, q, count_rest=True)
    result["data"] = [dal.public(row) for row in result["data"]]
    return result
