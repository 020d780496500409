"""Status changes: one EventBridge event and one history entry each, exactly once per event id."""

from __future__ import annotations

from typing import Any

from tickets.consumers import OncePerEvent
from tickets.integrations import eventbus
from tickets.logic.history import record
from tickets.models.events import DomainEvent


def _publish(event: dict[str, Any]) -> str:
    detail = {**event["data"], "eventId": event["id"], "tenantId": event["tenantId"], "at": event["createdAt"]}
    return eventbus.publish(eventbus.STATUS_CHANGED, detail)


publish_once = OncePerEvent("publish_status_events", _publish)


def publish_status_changes(events: list[DomainEvent], lambda_context: Any = None) -> int:
    changes = [e for e in events if e.type == "ticket.status_changed"]
    for event in changes:
        publish_once(event, lambda_context)
    record(changes, frozenset({"status_changed"}))
    return len(changes)
