"""EventBridge: status changes are published as `tickets` / `TicketStatusChanged`, SLA facts as `TicketSlaWarning`
and `TicketSlaBreached`."""

from __future__ import annotations

import json
from typing import Any

from tickets.aws import client
from tickets.config import settings

SOURCE = "tickets"
STATUS_CHANGED = "TicketStatusChanged"
SLA_WARNING = "TicketSlaWarning"
SLA_BREACHED = "TicketSlaBreached"


class PublishFailed(Exception):
    pass


def publish(detail_type: str, detail: dict[str, Any], resources: list[str] | None = None) -> str:
    resp = client("events").put_events(
        Entries=[
            {
                "Source": SOURCE,
                "DetailType": detail_type,
                "Detail": json.dumps(detail, separators=(",", ":")),
                "EventBusName": settings().event_bus_name,
                "Resources": resources or [],
            }
        ]
    )
    entry = resp["Entries"][0]
    if resp.get("FailedEntryCount") or "EventId" not in entry:
        raise PublishFailed(f"{entry.get('ErrorCode')}: {entry.get('ErrorMessage')}")
    return str(entry["EventId"])
