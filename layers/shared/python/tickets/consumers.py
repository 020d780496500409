"""Plumbing shared by the stream and queue consumers: Powertools batch processing with partial failures.

A failed record is reported in `batchItemFailures`; Lambda retries from it (streams) or redelivers it
(SQS). Records after a failed one may be processed again, so every record handler is idempotent.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.batch import (
    AsyncBatchProcessor,
    BatchProcessor,
    EventType,
    async_process_partial_response,
    process_partial_response,
)

from tickets.events import domain_events
from tickets.models.events import DomainEvent

logger = Logger()

Handler = Callable[[dict[str, Any], Any], dict[str, Any]]


def stream_consumer(on_events: Callable[[list[DomainEvent], dict[str, Any]], object]) -> Handler:
    """A DynamoDB-stream Lambda handler that turns each record into domain events for `on_events`.

    `on_events(events, batch_state)` gets a dict that lives for one invocation (e.g. a per-tenant cache).
    """
    processor = BatchProcessor(event_type=EventType.DynamoDBStreams)

    @logger.inject_lambda_context(clear_state=True)
    def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        batch_state: dict[str, Any] = {"context": context}

        def record_handler(record: Any) -> None:
            events = domain_events(record.raw_event)
            if events:
                on_events(events, batch_state)

        return dict(
            process_partial_response(event=event, record_handler=record_handler, processor=processor, context=context)
        )

    return handler


def queue_consumer(on_message: Callable[[dict[str, Any]], object]) -> Handler:
    """An SQS Lambda handler whose messages are processed concurrently (a slow receiver holds up none)."""
    processor = AsyncBatchProcessor(event_type=EventType.SQS)

    async def record_handler(record: Any) -> None:
        outcome = await asyncio.to_thread(on_message, json.loads(record.body))
        logger.info("message processed", extra={"message_id": record.message_id, "outcome": outcome})

    @logger.inject_lambda_context(clear_state=True)
    def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        return dict(
            async_process_partial_response(
                event=event, record_handler=record_handler, processor=processor, context=context
            )
        )

    return handler
