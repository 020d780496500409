"""Plumbing shared by the stream and queue consumers: Powertools batch processing with partial failures.

A failed record is reported in `batchItemFailures`; Lambda retries from it (streams) or redelivers it
(SQS). Records after a failed one may be processed again, so every record handler is idempotent.
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
import json
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.batch import (
    AsyncBatchProcessor,
    BatchProcessor,
    EventType,
    async_process_partial_response,
    process_partial_response,
)

from tickets import aws, coldstart, metrics
from tickets.events import domain_events
from tickets.models.events import DomainEvent

logger = Logger()

Handler = Callable[[dict[str, Any], Any], dict[str, Any]]


def stream_consumer(on_events: Callable[[list[DomainEvent], dict[str, Any]], object]) -> Handler:
    """A DynamoDB-stream Lambda handler that turns each record into domain events for `on_events`.

    `on_events(events, batch_state)` gets a dict that lives for one invocation (e.g. a per-tenant cache);
    `batch_state["record"]` is the raw stream record the events came from, for a consumer that needs more of
    the stored item than the public events carry.
    """

    def on_record(raw: dict[str, Any], batch_state: dict[str, Any]) -> None:
        events = domain_events(raw)
        if events:
            batch_state["record"] = raw
            on_events(events, batch_state)

    return record_consumer(on_record)


def record_consumer(
    on_record: Callable[[dict[str, Any], dict[str, Any]], object],
    *,
    on_schedule: Callable[[dict[str, Any]], object] | None = None,
) -> Handler:
    """A DynamoDB-stream Lambda handler that gives each raw record to `on_record(record, batch_state)`, for a
    consumer of items that make no domain events (agents, groups); `batch_state` lives for one invocation.

    `on_schedule(event)`: the same function also runs on a schedule (an event without `Records`); an exception
    fails that invocation, and the next scheduled run starts over."""
    processor = BatchProcessor(event_type=EventType.DynamoDBStreams)

    @logger.inject_lambda_context(clear_state=True, log_event=False)  # records hold customer data
    def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        if on_schedule is not None and "Records" not in event:
            return _scheduled_run(on_schedule, event)
        batch_state: dict[str, Any] = {"context": context}

        @_counting_throttles
        def record_handler(record: Any) -> None:
            on_record(record.raw_event, batch_state)

        try:
            return dict(
                process_partial_response(
                    event=event, record_handler=record_handler, processor=processor, context=context
                )
            )
        finally:
            metrics.flush()
            coldstart.first_invocation_done()

    return handler


def queue_consumer(on_message: Callable[[Any], object], *, decode: Callable[[str], Any] = json.loads) -> Handler:
    """An SQS Lambda handler whose messages are processed concurrently (a slow receiver holds up none).

    `on_message` gets each body as `decode` makes it (JSON by default; `str` hands over the text as it came, for
    consumers that must survive bodies that are not JSON).

    Each message of a batch gets a thread of its own: asyncio's default executor has min(32, CPUs + 4)
    threads (6 on Lambda), so a batch with more than that many receivers that hang until the deadline
    would hold up every other tenant's delivery behind them, and could run the invocation into its timeout.
    """
    processor = AsyncBatchProcessor(event_type=EventType.SQS)
    counted = _counting_throttles(on_message)
    executor: list[ThreadPoolExecutor] = []  # the current invocation's threads

    async def record_handler(record: Any) -> None:
        work = functools.partial(contextvars.copy_context().run, counted, decode(record.body))
        outcome = await asyncio.get_running_loop().run_in_executor(executor[0], work)
        logger.info("message processed", extra={"message_id": record.message_id, "outcome": outcome})

    @logger.inject_lambda_context(clear_state=True, log_event=False)  # records hold customer data
    def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        with ThreadPoolExecutor(max_workers=max(1, len(event.get("Records") or [])), thread_name_prefix="msg") as pool:
            executor[:] = [pool]
            try:
                return dict(
                    async_process_partial_response(
                        event=event, record_handler=record_handler, processor=processor, context=context
                    )
                )
            finally:
                metrics.flush()
                coldstart.first_invocation_done()

    return handler


def _counting_throttles[**P, R](record_handler: Callable[P, R]) -> Callable[P, R]:
    """`record_handler`, counting the records that fail because AWS throttled them (Throttles, source consumer)."""

    @functools.wraps(record_handler)
    def run(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return record_handler(*args, **kwargs)
        except Exception as exc:
            if aws.throttled(exc):
                metrics.count(metrics.THROTTLES, source="consumer")
            raise

    return run


IDEMPOTENCY_HOURS = 48  # longer than a stream record can be retried (MaximumRecordAgeInSeconds: 24 h)


class OncePerEvent:
    """`action(event=...)` run at most once per event id, through Powertools idempotency.

    Records live in the table under the consumer's own partition (dal.keys) and expire with the table's
    TTL. Stream re-runs repeat event ids, so a side effect (an email, an EventBridge event) is not
    repeated; a raised exception deletes the record, so a failed attempt is retried.
    """

    def __init__(self, consumer: str, action: Callable[..., Any]) -> None:
        self.consumer, self.action = consumer, action
        self._wrapped: Callable[..., Any] | None = None
        self._config: Any = None
        coldstart.on_restore(self.cache_clear)  # the persistence layer holds the snapshot's client

    def _build(self) -> Callable[..., Any]:
        from aws_lambda_powertools.utilities.idempotency import (
            DynamoDBPersistenceLayer,
            IdempotencyConfig,
            idempotent_function,
        )

        from tickets.config import settings
        from tickets.dal import keys
        from tickets.dal.client import ddb

        persistence = DynamoDBPersistenceLayer(
            table_name=settings().table_name,
            key_attr=keys.PK,
            sort_key_attr=keys.SK,
            static_pk_value=keys.consumer_idempotency_partition(self.consumer),
            expiry_attr="expiresAt",
            boto3_client=ddb(),
        )
        self._config = IdempotencyConfig(event_key_jmespath="id", expires_after_seconds=IDEMPOTENCY_HOURS * 3600)
        return idempotent_function(data_keyword_argument="event", persistence_store=persistence, config=self._config)(
            self.action
        )

    def cache_clear(self) -> None:
        """Forget the persistence layer (it holds a client and the table name): tests change both."""
        self._wrapped = self._config = None

    def __call__(self, event: DomainEvent, lambda_context: Any = None, **more: Any) -> Any:
        """`more` goes to the action as it is (not part of the idempotency key, which is the event id)."""
        if self._wrapped is None:
            self._wrapped = self._build()
        if lambda_context is not None:
            self._config.register_lambda_context(lambda_context)  # in-progress records expire with the invocation
        return self._wrapped(event={**event.model_dump(mode="json"), "tenantId": event.tenantId}, **more)


def scheduled_handler(run: Callable[[Any], object]) -> Handler:
    """A Lambda handler for a scheduled event (EventBridge Scheduler or a schedule rule): `run(event)`, logged
    with the invocation's context, metrics flushed once. An exception fails the invocation: the schedule's retry
    policy runs it again, and what it did before the failure must be safe to redo (see logic/sla_sweep.py)."""

    @logger.inject_lambda_context(clear_state=True, log_event=False)
    def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        return _scheduled_run(run, event)

    return handler


def _scheduled_run(run: Callable[[Any], object], event: dict[str, Any]) -> dict[str, Any]:
    """One scheduled invocation (scheduled_handler, and record_consumer's `on_schedule`): its result logged, metrics
    flushed, and, as after any invocation, the cold start's collector let go (tickets.coldstart)."""
    try:
        result = run(event)
        logger.info("scheduled run finished", extra={"result": result})
        return {"result": result}
    finally:
        metrics.flush()
        coldstart.first_invocation_done()
