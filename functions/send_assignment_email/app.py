"""Stream consumer (filtered to assigned tickets): one SES email to the agent per assignment."""

from typing import Any

from tickets.consumers import stream_consumer
from tickets.logic.assignment_emails import send_assignment_emails
from tickets.models.events import DomainEvent


def on_events(events: list[DomainEvent], batch_state: dict[str, Any]) -> None:
    send_assignment_emails(events, batch_state.get("context"))


handler = stream_consumer(on_events)
