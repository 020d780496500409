"""Stream consumer (filtered to inserted public outbound comments): one SES email to the customer per reply."""

from typing import Any

from tickets.consumers import stream_consumer
from tickets.logic.reply_emails import send_reply_emails
from tickets.models.events import DomainEvent


def on_events(events: list[DomainEvent], batch_state: dict[str, Any]) -> None:
    send_reply_emails(events, batch_state["record"], batch_state.get("context"))


handler = stream_consumer(on_events)
