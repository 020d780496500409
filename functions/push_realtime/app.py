"""Stream consumer: every ticket and comment event, thin, to the tenant's open WebSocket connections."""

from typing import Any

from tickets.consumers import stream_consumer
from tickets.logic.realtime_push import push
from tickets.models.events import DomainEvent


def on_events(events: list[DomainEvent], batch_state: dict[str, Any]) -> None:
    push(events, batch_state.setdefault("connections", {}))


handler = stream_consumer(on_events)
