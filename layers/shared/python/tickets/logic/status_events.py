"""Status changes: one EventBridge event and one history entry each, exactly once per event id."""

from __future__ import annotations

from functools import cache
from typing import Any

from tickets.config import settings
from tickets.integrations import eventbus
from tickets.logic.history import record
from tickets.models.events import DomainEvent

IDEMPOTENCY_HOURS = 48


@cache
def _publish_once() -> Any:
    """`publish(event)` wrapped in Powertools idempotency, keyed on the event id (stream re-runs repeat ids)."""
    from aws_lambda_powertools.utilities.idempotency import (
        DynamoDBPersistenceLayer,
        IdempotencyConfig,
        idempotent_function,
    )

    from tickets.dal.client import ddb

    persistence = DynamoDBPersistenceLayer(
        table_name=settings().table_name,
        key_attr="PK",
        sort_key_attr="SK",
        static_pk_value="IDEMPOTENCY#publish_status_events",
        expiry_attr="expiresAt",
        boto3_client=ddb(),
    )
    config = IdempotencyConfig(event_key_jmespath="id", expires_after_seconds=IDEMPOTENCY_HOURS * 3600)

    @idempotent_function(data_keyword_argument="event", persistence_store=persistence, config=config)
    def publish(event: dict[str, Any]) -> str:
        detail = {**event["data"], "eventId": event["id"], "tenantId": event["tenantId"], "at": event["createdAt"]}
        return eventbus.publish(eventbus.STATUS_CHANGED, detail)

    return publish, config


def publish_status_changes(events: list[DomainEvent], lambda_context: Any = None) -> int:
    changes = [e for e in events if e.type == "ticket.status_changed"]
    publish, config = _publish_once()
    if lambda_context is not None:
        config.register_lambda_context(lambda_context)  # in-progress records expire with the invocation
    for event in changes:
        publish(event={**event.model_dump(mode="json"), "tenantId": event.tenantId})
    record(changes, frozenset({"status_changed"}))
    return len(changes)
