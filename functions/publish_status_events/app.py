"""Stream consumer (filtered to status changes): EventBridge TicketStatusChanged and the history entry."""

from typing import Any

from tickets.consumers import stream_consumer
from tickets.logic.status_events import publish_status_changes
from tickets.models.events import DomainEvent


def on_events(events: list[DomainEvent], batch_state: dict[str, Any]) -> None:
    publish_status_changes(events, batch_state.get("context"))


handler = stream_consumer(on_events)
