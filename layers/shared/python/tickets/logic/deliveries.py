"""Webhook fan-out and delivery: one delivery per (event, endpoint), one SQS message per attempt.

Fan-out is idempotent because a delivery's key is (endpoint, event id) and event ids are derived from
the stream record: a re-run finds the delivery and only re-sends its message if it was never enqueued.
Delivery is at-least-once: a message is processed again after a crash, and the attempt counter
(conditional on its previous value) keeps a duplicate message from counting or scheduling twice.
"""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from typing import Any

from tickets import metrics
from tickets.config import settings
from tickets.dal import webhooks as dal
from tickets.integrations import queue
from tickets.models.events import DomainEvent
from tickets.timeutil import from_ms, iso, now_iso

USER_AGENT = "tickets-webhooks/1"
_PUBLIC = ("id", "eventId", "eventType", "attempt", "state", "nextAttemptAt", "createdAt")


def public_delivery(d: dict[str, Any]) -> dict[str, Any]:
    return {k: d.get(k) for k in _PUBLIC}


def _ttl(days: int | None = None) -> int:
    return int(time.time()) + 86400 * (days or settings().delivery_log_days)


def _max_attempts() -> int:
    return len(settings().retry_schedule) + 1


def subscribed(webhook: dict[str, Any], event_type: str) -> bool:
    wanted = webhook.get("events") or ["*"]
    return bool(webhook.get("enabled")) and ("*" in wanted or event_type in wanted)


def enqueue(tenant_id: str, webhook: dict[str, Any], event: dict[str, Any]) -> dict[str, Any]:
    """Make (or find) the delivery of `event` to `webhook` and make sure its first message is queued."""
    delivery = {
        "id": "dlv_" + event["id"].removeprefix("evt_"),
        "webhookId": webhook["id"],
        "eventId": event["id"],
        "eventType": event["type"],
        "payload": json.dumps(event, separators=(",", ":")),
        "state": "pending",
        "attempt": 0,
        "maxAttempts": _max_attempts(),
        "createdAt": now_iso(),
    }
    if not dal.create_delivery(tenant_id, delivery, _ttl()):
        existing = dal.get_delivery(tenant_id, webhook["id"], delivery["id"])
        if existing is None or existing.get("enqueuedAt"):
            return existing or delivery
        delivery = existing  # made by a run that stopped before it sent the message
    queue.send_delivery({"tenantId": tenant_id, "webhookId": webhook["id"], "deliveryId": delivery["id"], "attempt": 1})
    dal.mark_enqueued(tenant_id, webhook["id"], delivery["id"], now_iso())
    return delivery


def fan_out(events: list[DomainEvent], subscriptions: dict[str, list[dict[str, Any]]]) -> int:
    """Enqueue every event for every matching enabled endpoint. `subscriptions` caches one Query per tenant."""
    sent = 0
    for event in events:
        if event.tenantId not in subscriptions:
            subscriptions[event.tenantId] = dal.list_all(event.tenantId)
        envelope = event.model_dump(mode="json")
        for webhook in subscriptions[event.tenantId]:
            if subscribed(webhook, event.type):
                enqueue(event.tenantId, webhook, envelope)
                sent += 1
    return sent


def replay(tenant_id: str, webhook_id: str, delivery_id: str) -> dict[str, Any]:
    """Deliver again now, whatever the delivery's state: one more attempt."""
    delivery = dal.reopen_delivery(tenant_id, webhook_id, delivery_id, now_iso())
    queue.send_delivery(
        {"tenantId": tenant_id, "webhookId": webhook_id, "deliveryId": delivery_id, "attempt": delivery["attempt"] + 1}
    )
    return delivery


def _sign(secret: str, msg_id: str, at: datetime, body: str) -> str:
    from standardwebhooks import Webhook

    return Webhook(secret).sign(msg_id=msg_id, timestamp=at, data=body)


def deliver(message: dict[str, Any]) -> str:
    """Process one delivery message: POST, record the attempt, schedule the next. Returns what happened."""
    from tickets.integrations.http_client import post_json

    tenant_id, webhook_id, delivery_id = message["tenantId"], message["webhookId"], message["deliveryId"]
    attempt_no = int(message["attempt"])
    delivery = dal.get_delivery(tenant_id, webhook_id, delivery_id)
    if delivery is None or delivery["state"] != "pending" or int(delivery["attempt"]) >= attempt_no:
        return "skipped"  # expired, finished, or a duplicate of an attempt already made
    not_before = float(message.get("notBefore", 0))
    if not_before > time.time() + 0.5:
        queue.send_delivery(message, not_before - time.time())  # a wait longer than SQS allows: hop
        return "deferred"
    webhook = dal.get(tenant_id, webhook_id)
    sent_at = datetime.now(UTC)
    status: int | None
    error: str | None
    blocked = False
    if webhook is None or not webhook.get("enabled"):
        status, duration, error = None, 0, "endpoint disabled" if webhook else "endpoint deleted"
    else:
        body = delivery["payload"]
        headers = {
            "content-type": "application/json",
            "user-agent": USER_AGENT,
            "webhook-id": delivery["eventId"],
            "webhook-timestamp": str(int(sent_at.timestamp())),
            "webhook-signature": _sign(webhook["secret"], delivery["eventId"], sent_at, body),
        }
        result = post_json(
            webhook["url"],
            body.encode(),
            headers,
            timeout=settings().webhook_timeout_seconds,
            allow_private=settings().allow_private_webhook_targets,
        )
        status, duration, error, blocked = result.status, result.duration_ms, result.error, result.blocked
    succeeded = status is not None and 200 <= status < 300
    gone = status == 410
    # A target the SSRF check refused (e.g. its name now resolves to a private address) is not retried.
    can_retry = webhook is not None and webhook.get("enabled") and not gone and not blocked
    next_at: float | None = None
    if succeeded:
        state = "succeeded"
    elif can_retry and attempt_no < int(delivery.get("maxAttempts") or _max_attempts()):
        state = "pending"
        schedule = settings().retry_schedule
        next_at = time.time() + schedule[min(attempt_no - 1, len(schedule) - 1)]
    else:
        state = "failed"
    next_iso = iso(from_ms(int(next_at * 1000))) if next_at else None
    if next_at is not None:
        # Sent before the attempt is recorded, so a crash in between cannot lose the retry; a duplicate
        # message for the same attempt is skipped by the attempt check above.
        queue.send_delivery({**message, "attempt": attempt_no + 1, "notBefore": next_at}, next_at - time.time())
    row = {
        "id": delivery_id,
        "eventId": delivery["eventId"],
        "eventType": delivery["eventType"],
        "attempt": attempt_no,
        "state": state,
        "responseStatus": status,
        "durationMs": duration,
        "error": error,
        "nextAttemptAt": next_iso,
        "createdAt": iso(sent_at),
    }
    fields = {"attempt": attempt_no, "state": state, "lastStatus": status, "nextAttemptAt": next_iso}
    if not dal.record_attempt(tenant_id, delivery, {k: v for k, v in fields.items() if v is not None}, row, _ttl()):
        return "duplicate"
    endpoint_enabled = bool(webhook and webhook.get("enabled"))
    metrics.count(metrics.WEBHOOK_DELIVERIES, outcome=attempt_outcome(state, endpoint_enabled=endpoint_enabled))
    if webhook is not None:
        _endpoint_health(tenant_id, webhook, succeeded=succeeded, gone=gone)
    return state


def attempt_outcome(state: str, *, endpoint_enabled: bool) -> str:
    """A recorded attempt as the WebhookDeliveries metric counts it (dimension `outcome`)."""
    if state == "pending":
        return "retry_scheduled"
    if state == "failed" and not endpoint_enabled:
        return "endpoint_disabled"  # nothing was sent: the endpoint was disabled or deleted meanwhile
    return state  # succeeded, failed


def _endpoint_health(tenant_id: str, webhook: dict[str, Any], *, succeeded: bool, gone: bool) -> None:
    if succeeded:
        if webhook.get("failingSince"):
            dal.note_success(tenant_id, webhook["id"])
        return
    if gone:
        dal.disable(tenant_id, webhook["id"], "the endpoint answered 410 Gone", now_iso())
        return
    current = dal.note_failure(tenant_id, webhook["id"], now_iso())
    since = (current or {}).get("failingSince")
    if since and current and current.get("enabled"):
        failing_for = time.time() - datetime.fromisoformat(since.replace("Z", "+00:00")).timestamp()
        if failing_for >= settings().webhook_disable_after_seconds:
            dal.disable(tenant_id, webhook["id"], "every delivery failed for 5 days", now_iso())
