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
from tickets.logic.sla_clock import new_facts
from tickets.models.comments import public_comment
from tickets.models.events import DomainEvent, StreamRecord
from tickets.models.tickets import Ticket
from tickets.timeutil import from_ms, iso

# Fields whose change is bookkeeping, not something a subscriber asked about. A comment's own event is
# comment.created: the counters it moves on its ticket are not a ticket.updated of their own.
# The SLA's own changes are events of their own (sla_events), and its due times follow the changes that move them.
_NOT_CHANGES = frozenset({"updatedAt", "version", "commentCount", "lastCommentAt", "firstRespondedAt", "sla"})


def event_id(record_id: str, event_type: str, at_ms: int, version: int = 0, seq: int = 0) -> str:
    """`evt_` + a ULID: the change's time, the ticket's version, the event's place among its write's events,
    then a hash of (record, type).

    Ids sort by time; two writes of one ticket in the same millisecond sort by version, and the events of one
    write in the order `domain_events` lists them, so one ticket's event ids always sort in the order of its
    writes. The hash makes a re-run record produce the same ids.
    """
    digest = int.from_bytes(hashlib.sha256(f"{record_id}|{event_type}".encode()).digest()[:7], "big") >> 1
    place = _encode(min(max(version, 0), 32**4 - 1), 4) + _encode(min(max(seq, 0), 31), 1)
    return "evt_" + _encode(max(at_ms, 0), 10) + place + _encode(digest, 11)


def public_ticket(image: dict[str, Any]) -> dict[str, Any]:
    """A stored ticket image exactly as the API shows it (same model, same field order)."""
    return Ticket.model_validate(strip_keys(deserialize(image))).model_dump(mode="json")


def _kind(image: dict[str, Any] | None) -> str | None:
    return ((image or {}).get("type") or {}).get("S")


def _is_ticket(image: dict[str, Any] | None) -> bool:
    return _kind(image) == "ticket"


def _comment_events(record: StreamRecord) -> list[DomainEvent]:
    """A new comment is comment.created {ticket, comment}: the ticket as the comment's own write left it."""
    new = record.dynamodb.NewImage
    if record.eventName != "INSERT" or not new:
        return []  # a redaction changes no event; comments are never deleted alone
    raw = deserialize(new)
    stored = strip_keys(raw)
    ticket = stored["ticket"]
    at_ms = _ms(stored["createdAt"])
    return [
        DomainEvent(
            id=event_id(record.eventID, "comment.created", at_ms, int(ticket.get("version") or 0)),
            type="comment.created",
            createdAt=stored["createdAt"],
            data={"ticket": ticket, "comment": public_comment(stored)},
            tenantId=raw.get("tenantId", ""),
            actor=(stored.get("author") or {}).get("id"),
        )
    ]


def _ms(ts: str) -> int:
    from datetime import datetime

    return int(datetime.fromisoformat(ts.replace("Z", "+00:00")).timestamp() * 1000)


def deletion_ms(ticket: dict[str, Any], stream_seconds: float | None) -> int:
    """When a ticket was deleted: its deletion stamp, else (an item deleted without one) the stream record's
    whole second, but never before the ticket's last write, so that the deleted event sorts last."""
    if ticket.get("deletedAt"):
        return _ms(ticket["deletedAt"])
    return max(int((stream_seconds or 0) * 1000), _ms(ticket["updatedAt"]) + 1)


def domain_events(raw: dict[str, Any]) -> list[DomainEvent]:
    """The domain events one stream record stands for, in the order a subscriber should see them."""
    record = StreamRecord.model_validate(raw)
    change = record.dynamodb
    new, old = change.NewImage, change.OldImage
    if _kind(new) == "comment":
        return _comment_events(record)
    if not (_is_ticket(new) or _is_ticket(old)):
        return []
    source = new or old or {}
    tenant_id = deserialize({"t": source.get("tenantId", {"S": ""})})["t"]
    actor = deserialize({"a": source["updatedBy"]})["a"] if "updatedBy" in source else None

    made: list[DomainEvent] = []

    def emit(kind: str, data: dict[str, Any], at_ms: int, version: int) -> None:
        made.append(DomainEvent(
            id=event_id(record.eventID, kind, at_ms, version, len(made)), type=kind, createdAt=iso(from_ms(at_ms)),
            data=data, tenantId=tenant_id, actor=actor,
        ))  # fmt: skip

    if record.eventName == "REMOVE" and old:
        before = public_ticket(old)
        at_ms = deletion_ms(strip_keys(deserialize(old)), change.ApproximateCreationDateTime)
        emit("ticket.deleted", {"id": before["id"], "ticket": before}, at_ms, before["version"] + 1)
    elif record.eventName == "INSERT" and new:
        ticket = public_ticket(new)
        at_ms, version = _ms(ticket["createdAt"]), ticket["version"]
        emit("ticket.created", {"ticket": ticket}, at_ms, version)
        if ticket.get("assigneeId"):
            data = {"ticket": ticket, "previousAssigneeId": None, "assigneeId": ticket["assigneeId"]}
            emit("ticket.assigned", data, at_ms, version)
    elif record.eventName == "MODIFY" and new and old:
        after, before = public_ticket(new), public_ticket(old)
        changes = {
            field: {"from": before.get(field), "to": after.get(field)}
            for field in sorted(set(after) | set(before))
            if field not in _NOT_CHANGES and before.get(field) != after.get(field)
        }
        at_ms, version = _ms(after["updatedAt"]), after["version"]
        if changes:
            emit("ticket.updated", {"ticket": after, "changes": changes}, at_ms, version)
        if "status" in changes:
            data = {"ticket": after, "previousStatus": before["status"], "newStatus": after["status"]}
            emit("ticket.status_changed", data, at_ms, version)
        if "assigneeId" in changes and after.get("assigneeId"):
            data = {"ticket": after, "previousAssigneeId": before.get("assigneeId"), "assigneeId": after["assigneeId"]}
            emit("ticket.assigned", data, at_ms, version)
        for kind, data in sla_events(old, new):
            emit(kind, {"ticket": after, **data}, at_ms, version)
    return made


def sla_events(old: dict[str, Any], new: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """(type, data) of the SLA facts a ticket's write recorded (its `sla` map, raw stream images): one
    ticket.sla_warning or ticket.sla_breached per target and stage, since a fact is recorded only once."""
    before = deserialize({"s": old["sla"]})["s"] if "sla" in old else None
    after = deserialize({"s": new["sla"]})["s"] if "sla" in new else None
    out = []
    for target, stage in new_facts(before, after):
        assert after is not None
        if stage == "warning":
            data = {"target": target, "dueAt": after.get(f"{target}DueAt"), "warningAt": after[f"{target}WarnedAt"]}
            out.append(("ticket.sla_warning", data))
        else:
            data = {"target": target, "dueAt": after.get(f"{target}DueAt"), "breachedAt": after[f"{target}BreachedAt"]}
            out.append(("ticket.sla_breached", data))
    return out
