"""From a DynamoDB stream record to domain events: a pure function, tested without AWS.

Only ticket items produce events. Event ids are derived from the stream record (its eventID and the
event type), so a consumer that re-runs a record makes the same ids, which is what makes fan-out,
history and publishing idempotent.
"""

from __future__ import annotations

import hashlib
from typing import Any

from tickets.dal.client import deserialize, strip_keys
from tickets.ids import _encode  # the ULID alphabet
from tickets.models.events import DomainEvent, StreamRecord
from tickets.models.tickets import Ticket
from tickets.timeutil import from_ms, iso

# Fields whose change is bookkeeping, not something a subscriber asked about.
_NOT_CHANGES = frozenset({"updatedAt", "version"})


def event_id(record_id: str, event_type: str, at_ms: int) -> str:
    """`evt_` + a ULID whose time part is the change's time and whose rest is a hash of (record, type)."""
    digest = int.from_bytes(hashlib.sha256(f"{record_id}|{event_type}".encode()).digest()[:10], "big")
    return "evt_" + _encode(max(at_ms, 0), 10) + _encode(digest, 16)


def public_ticket(image: dict[str, Any]) -> dict[str, Any]:
    """A stored ticket image exactly as the API shows it (same model, same field order)."""
    return Ticket.model_validate(strip_keys(deserialize(image))).model_dump(mode="json")


def _is_ticket(image: dict[str, Any] | None) -> bool:
    return bool(image) and (image or {}).get("type", {}).get("S") == "ticket"


def _ms(ts: str | None, fallback: float | None) -> int:
    if ts:
        from datetime import datetime

        return int(datetime.fromisoformat(ts.replace("Z", "+00:00")).timestamp() * 1000)
    return int((fallback or 0) * 1000)


def domain_events(raw: dict[str, Any]) -> list[DomainEvent]:
    """The domain events one stream record stands for, in the order a subscriber should see them."""
    record = StreamRecord.model_validate(raw)
    change = record.dynamodb
    new, old = change.NewImage, change.OldImage
    if not (_is_ticket(new) or _is_ticket(old)):
        return []
    source = new or old or {}
    tenant_id = deserialize({"t": source.get("tenantId", {"S": ""})})["t"]
    actor = deserialize({"a": source["updatedBy"]})["a"] if "updatedBy" in source else None

    def make(kind: str, data: dict[str, Any], at: str | None) -> DomainEvent:
        at_ms = _ms(at, change.ApproximateCreationDateTime)
        return DomainEvent(
            id=event_id(record.eventID, kind, at_ms), type=kind, createdAt=iso(from_ms(at_ms)), data=data,
            tenantId=tenant_id, actor=actor,
        )  # fmt: skip

    if record.eventName == "REMOVE" and old:
        before = public_ticket(old)
        return [make("ticket.deleted", {"id": before["id"], "ticket": before}, None)]
    if record.eventName == "INSERT" and new:
        ticket = public_ticket(new)
        events = [make("ticket.created", {"ticket": ticket}, ticket["createdAt"])]
        if ticket.get("assigneeId"):
            data = {"ticket": ticket, "previousAssigneeId": None, "assigneeId": ticket["assigneeId"]}
            events.append(make("ticket.assigned", data, ticket["createdAt"]))
        return events
    if record.eventName != "MODIFY" or not (new and old):
        return []
    after, before = public_ticket(new), public_ticket(old)
    changes = {
        field: {"from": before.get(field), "to": after.get(field)}
        for field in sorted(set(after) | set(before))
        if field not in _NOT_CHANGES and before.get(field) != after.get(field)
    }
    if not changes:
        return []
    at = after["updatedAt"]
    events = [make("ticket.updated", {"ticket": after, "changes": changes}, at)]
    if "status" in changes:
        data = {"ticket": after, "previousStatus": before["status"], "newStatus": after["status"]}
        events.append(make("ticket.status_changed", data, at))
    if "assigneeId" in changes and after.get("assigneeId"):
        data = {"ticket": after, "previousAssigneeId": before.get("assigneeId"), "assigneeId": after["assigneeId"]}
        events.append(make("ticket.assigned", data, at))
    return events
