"""Status changes (one EventBridge event and one history entry each) and SLA facts (one EventBridge event each),
exactly once per event id."""

from __future__ import annotations

from typing import Any

from tickets.consumers import OncePerEvent
from tickets.integrations import eventbus
from tickets.logic.history import record
from tickets.models.events import DomainEvent

DETAIL_TYPES = {
    "ticket.status_changed": eventbus.STATUS_CHANGED,
    "ticket.sla_warning": eventbus.SLA_WARNING,
    "ticket.sla_breached": eventbus.SLA_BREACHED,
}


def _publish(event: dict[str, Any]) -> str:
    detail = {**event["data"], "eventId": event["id"], "tenantId": event["tenantId"], "at": event["createdAt"]}
    return eventbus.publish(DETAIL_TYPES[event["type"]], detail)


publish_once = OncePerEvent("publish_status_events", _publish)


def publish_status_changes(events: list[DomainEvent], lambda_context: Any = None) -> int:
    published = [e for e in events if e.type in DETAIL_TYPES]
    for event in published:
        publish_once(event, lambda_context)
    record([e for e in published if e.type == "ticket.status_changed"], frozenset({"status_changed"}))
    return len(published)
