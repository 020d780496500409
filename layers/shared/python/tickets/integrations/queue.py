"""The webhook delivery queue (SQS)."""

from __future__ import annotations

import json
from typing import Any

from tickets.aws import client
from tickets.config import settings

MAX_DELAY_SECONDS = 900  # SQS's limit; longer waits hop (see logic/deliveries.py)


def send_delivery(message: dict[str, Any], delay_seconds: float = 0) -> None:
    client("sqs").send_message(
        QueueUrl=settings().delivery_queue_url,
        MessageBody=json.dumps(message, separators=(",", ":")),
        DelaySeconds=int(min(MAX_DELAY_SECONDS, max(0, round(delay_seconds)))),
    )
