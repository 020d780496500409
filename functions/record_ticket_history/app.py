"""Stream consumer: created, updated, assigned, commented and SLA entries of each ticket's history."""

from typing import Any

from tickets.consumers import stream_consumer
from tickets.logic.history import record
from tickets.models.events import DomainEvent

# status_changed: publish_status_events
KINDS = frozenset({"created", "updated", "assigned", "commented", "sla_warning", "sla_breached"})


def on_events(events: list[DomainEvent], batch_state: dict[str, Any]) -> None:
    record(events, KINDS)


handler = stream_consumer(on_events)
