"""Stream consumer: every ticket event becomes one queued delivery per subscribed endpoint."""

from typing import Any

from tickets.consumers import stream_consumer
from tickets.logic.deliveries import fan_out
from tickets.models.events import DomainEvent


def on_events(events: list[DomainEvent], batch_state: dict[str, Any]) -> None:
    fan_out(events, batch_state.setdefault("subscriptions", {}))


handler = stream_consumer(on_events)
