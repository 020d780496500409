"""Stream record -> domain events, without AWS."""

from __future__ import annotations

from typing import Any

import pytest

from tickets.dal.client import serialize
from tickets.events import domain_events

BASE = {
    "PK": "TENANT#T1", "SK": "TICKET#01JABCDEFGHJKMNPQRSTVWXYZ0", "type": "ticket", "tenantId": "T1",
    "GSI1PK": "TENANT#T1#STATUS#new", "GSI1SK": "01JABCDEFGHJKMNPQRSTVWXYZ0",
    "id": "01JABCDEFGHJKMNPQRSTVWXYZ0", "number": 7, "reference": "INV-7", "subject": "Card declined",
    "status": "new", "priority": "medium", "channel": "api", "tags": ["billing"], "customFields": {"n": 1},
    "metadata": {}, "occurrences": 1, "createdAt": "2026-11-20T10:00:00.000Z",
    "updatedAt": "2026-11-20T10:00:00.000Z", "version": 1,
}  # fmt: skip


def record(name: str, new: dict[str, Any] | None, old: dict[str, Any] | None, rid: str = "rec-1") -> dict[str, Any]:
    change: dict[str, Any] = {"ApproximateCreationDateTime": 1763632800.0, "SequenceNumber": "100"}
    if new is not None:
        change["NewImage"] = serialize(new)
    if old is not None:
        change["OldImage"] = serialize(old)
    return {"eventID": rid, "eventName": name, "dynamodb": change}


def types(events):
    return [e.type for e in events]


def test_given_an_insert_then_one_created_event_with_the_public_ticket():
    (event,) = domain_events(record("INSERT", BASE, None))
    assert event.type == "ticket.created" and event.tenantId == "T1"
    ticket = event.data["ticket"]
    assert ticket["reference"] == "INV-7" and ticket["description"] is None and ticket["assignee"] is None
    assert not {"PK", "SK", "GSI1PK", "type", "tenantId"} & set(ticket)
    assert event.createdAt == "2026-11-20T10:00:00.000Z" and event.id.startswith("evt_")


def test_given_an_insert_already_assigned_then_created_and_assigned():
    new = {**BASE, "assigneeId": "A1", "assignee": {"id": "A1", "name": "Ann", "email": "a@x"}}
    events = domain_events(record("INSERT", new, None))
    assert types(events) == ["ticket.created", "ticket.assigned"]
    assert events[1].data["previousAssigneeId"] is None and events[1].data["assigneeId"] == "A1"


def test_given_a_status_change_then_updated_with_changes_and_status_changed():
    new = {**BASE, "status": "resolved", "resolvedAt": "2026-11-20T11:00:00.000Z", "version": 2,
           "updatedAt": "2026-11-20T11:00:00.000Z", "statusChanged": True}  # fmt: skip
    events = domain_events(record("MODIFY", new, BASE))
    assert types(events) == ["ticket.updated", "ticket.status_changed"]
    assert events[0].data["changes"] == {
        "status": {"from": "new", "to": "resolved"},
        "resolvedAt": {"from": None, "to": "2026-11-20T11:00:00.000Z"},
    }
    assert (events[1].data["previousStatus"], events[1].data["newStatus"]) == ("new", "resolved")
    assert "statusChanged" not in events[1].data["ticket"]


def test_given_a_reassignment_then_updated_and_assigned_and_an_unassignment_only_updated():
    old = {**BASE, "assigneeId": "A1"}
    new = {**BASE, "assigneeId": "A2", "version": 2}
    events = domain_events(record("MODIFY", new, old))
    assert types(events) == ["ticket.updated", "ticket.assigned"]
    assert (events[1].data["previousAssigneeId"], events[1].data["assigneeId"]) == ("A1", "A2")
    unassigned = {k: v for k, v in BASE.items() if k != "assigneeId"} | {"version": 2}
    assert types(domain_events(record("MODIFY", unassigned, old))) == ["ticket.updated"]


def test_given_a_modify_that_changes_nothing_visible_then_no_event():
    new = {**BASE, "version": 2, "updatedAt": "2026-11-20T12:00:00.000Z", "GSI4SK": "x"}
    assert domain_events(record("MODIFY", new, BASE)) == []


def test_given_a_remove_then_deleted_with_the_last_state():
    (event,) = domain_events(record("REMOVE", None, BASE))
    assert event.type == "ticket.deleted"
    assert event.data["id"] == BASE["id"] and event.data["ticket"]["subject"] == "Card declined"


@pytest.mark.parametrize(
    "item",
    [
        {"PK": "TENANT#T1", "SK": "COUNTS", "type": "counts", "total": 3},
        {"PK": "APIKEY#abc", "SK": "APIKEY", "type": "apikey", "tenantId": "T1"},
        {"PK": "TENANT#T1", "SK": "DLV#W#E", "type": "delivery", "tenantId": "T1"},
        {"PK": "TENANT#T1", "SK": "CUSTOMER#C", "type": "customer", "tenantId": "T1"},
    ],
)
def test_given_items_that_are_not_tickets_then_no_events(item):
    for name in ("INSERT", "MODIFY", "REMOVE"):
        new = item if name != "REMOVE" else None
        old = item if name != "INSERT" else None
        assert domain_events(record(name, new, old)) == []


def test_given_the_same_record_twice_then_the_same_ids_and_different_types_get_different_ids():
    new = {**BASE, "status": "open", "version": 2, "updatedAt": "2026-11-20T11:00:00.000Z"}
    first, second = domain_events(record("MODIFY", new, BASE)), domain_events(record("MODIFY", new, BASE))
    assert [e.id for e in first] == [e.id for e in second]
    assert len({e.id for e in first}) == 2
    assert domain_events(record("MODIFY", new, BASE, rid="rec-2"))[0].id != first[0].id


def test_given_events_then_history_entries_follow_and_updated_leaves_out_status_and_assignment():
    from tickets.logic.history import entries_for

    new = {**BASE, "status": "open", "priority": "high", "assigneeId": "A1", "version": 2,
           "updatedAt": "2026-11-20T11:00:00.000Z", "updatedBy": "key_1"}  # fmt: skip
    entries = [e for ev in domain_events(record("MODIFY", new, BASE)) for e in entries_for(ev)]
    kinds = {kind: entry for _, kind, entry in entries}
    assert set(kinds) == {"updated", "status_changed", "assigned"}
    assert kinds["updated"]["from"] == {"priority": "medium"} and kinds["updated"]["to"] == {"priority": "high"}
    assert (kinds["status_changed"]["from"], kinds["status_changed"]["to"]) == ("new", "open")
    assert (kinds["assigned"]["from"], kinds["assigned"]["to"]) == (None, "A1")
    assert all(entry["actor"] == "key_1" for entry in kinds.values())


def test_given_a_remove_with_a_deletion_stamp_then_the_deleted_event_takes_the_stamps_millisecond():
    old = {**BASE, "updatedAt": "2026-11-20T10:00:00.250Z", "deletedAt": "2026-11-20T10:00:00.731Z"}
    (event,) = domain_events(record("REMOVE", None, old))
    assert event.createdAt == "2026-11-20T10:00:00.731Z"
    assert "deletedAt" not in event.data["ticket"]  # the stamp is bookkeeping, not part of the ticket


@pytest.mark.parametrize(
    ("stream_second", "updated_at", "expected"),
    [
        # the stream's whole second is before the last write (same second): one millisecond after that write
        (1795168800.0, "2026-11-20T10:00:00.250Z", "2026-11-20T10:00:00.251Z"),
        # the stream's second is later than the last write: that second
        (1795168805.0, "2026-11-20T10:00:00.250Z", "2026-11-20T10:00:05.000Z"),
    ],
)
def test_given_a_remove_without_a_stamp_then_its_time_never_precedes_the_tickets_last_write(
    stream_second, updated_at, expected
):
    old = {**BASE, "updatedAt": updated_at}
    raw = record("REMOVE", None, old)
    raw["dynamodb"]["ApproximateCreationDateTime"] = stream_second
    (event,) = domain_events(raw)
    assert event.createdAt == expected


def test_given_a_tickets_writes_in_one_millisecond_then_its_event_ids_sort_in_write_order():
    same_ms = "2026-11-20T10:00:00.000Z"  # created, then updated twice and deleted within the same millisecond
    v2 = {**BASE, "version": 2, "priority": "high", "updatedAt": same_ms}
    v3 = {**v2, "version": 3, "priority": "low"}
    written = [
        *domain_events(record("INSERT", BASE, None, rid="r-z")),
        *domain_events(record("MODIFY", v2, BASE, rid="r-y")),
        *domain_events(record("MODIFY", v3, v2, rid="r-x")),
        *domain_events(record("REMOVE", None, {**v3, "deletedAt": same_ms}, rid="r-w")),
    ]
    assert [e.type for e in written] == ["ticket.created", "ticket.updated", "ticket.updated", "ticket.deleted"]
    assert {e.createdAt for e in written} == {same_ms}
    assert sorted(written, key=lambda e: e.id) == written  # record ids sort the other way: the version decides


def test_given_events_at_different_times_then_ids_sort_by_time_first():
    early = domain_events(record("INSERT", {**BASE, "version": 9}, None, rid="a"))[0]
    late_ms = {**BASE, "createdAt": "2026-11-20T10:00:00.001Z", "updatedAt": "2026-11-20T10:00:00.001Z"}
    late = domain_events(record("INSERT", late_ms, None, rid="b"))[0]
    assert early.id < late.id


COMMENT = {
    "PK": "TENANT#T1", "SK": "COMMENT#01JABCDEFGHJKMNPQRSTVWXYZ0#01JABCDEFGHJKMNPQRSTVWXYZ9", "type": "comment",
    "tenantId": "T1", "id": "01JABCDEFGHJKMNPQRSTVWXYZ9", "ticketId": BASE["id"], "body": "We are <b>on it</b>",
    "visibility": "public", "channel": "api", "direction": "outbound",
    "author": {"type": "agent", "id": "A1", "name": "Ann", "email": "a@x"}, "from": "help@x", "fromName": "Acme",
    "to": ["c@y"], "attachments": [], "messageId": "<m1@x>", "createdAt": "2026-11-20T10:00:01.000Z",
    "replyTo": "reply+tok@x", "subject": "Re: [INV-7] Card declined", "references": ["<m0@x>"],
    "ticket": {"id": BASE["id"], "reference": "INV-7", "version": 2, "status": "open", "commentCount": 1},
}  # fmt: skip


def test_given_a_new_comment_then_one_comment_created_event_with_the_public_comment_and_its_ticket():
    (event,) = domain_events(record("INSERT", COMMENT, None, rid="rc"))
    assert (event.type, event.tenantId, event.actor) == ("comment.created", "T1", "A1")
    assert event.createdAt == "2026-11-20T10:00:01.000Z"
    assert event.data["ticket"] == COMMENT["ticket"]
    comment = event.data["comment"]
    assert comment["body"] == "We are <b>on it</b>" and comment["from"] == "help@x" and comment["to"] == ["c@y"]
    assert not {"ticket", "replyTo", "subject", "references", "PK", "SK", "type", "tenantId"} & set(comment)


@pytest.mark.parametrize("name", ["MODIFY", "REMOVE"])
def test_given_a_redacted_or_removed_comment_then_no_event(name):
    redacted = {**COMMENT, "body": "[redacted]", "redactedAt": "2026-11-21T00:00:00.000Z"}
    new = redacted if name == "MODIFY" else None
    assert domain_events(record(name, new, COMMENT)) == []


def test_given_a_comment_write_on_its_ticket_then_the_counters_alone_make_no_ticket_updated():
    new = {**BASE, "version": 2, "updatedAt": "2026-11-20T10:00:01.000Z", "commentCount": 1,
           "lastCommentAt": "2026-11-20T10:00:01.000Z", "firstRespondedAt": "2026-11-20T10:00:01.000Z"}  # fmt: skip
    assert domain_events(record("MODIFY", new, BASE)) == []
    opened = {**new, "status": "open", "statusChanged": True}
    events = domain_events(record("MODIFY", opened, BASE))
    assert [e.type for e in events] == ["ticket.updated", "ticket.status_changed"]
    assert set(events[0].data["changes"]) == {"status"}


def test_given_a_comment_created_event_then_a_commented_history_entry_at_the_tickets_version():
    from tickets.logic.history import entries_for

    (event,) = domain_events(record("INSERT", COMMENT, None))
    ((version, kind, entry),) = entries_for(event)
    assert (version, kind, entry["type"], entry["actor"]) == (2, "commented", "commented", "A1")
    assert entry["to"] == {"commentId": COMMENT["id"], "visibility": "public", "author": COMMENT["author"]}


# ---------------------------------------------------------------- SLA facts

SLA = {
    "policyId": "P1", "firstReplyDueAt": "2026-11-20T11:00:00.000Z", "resolutionDueAt": "2026-11-20T14:00:00.000Z",
    "firstReplyBreachedAt": None, "resolutionBreachedAt": None, "pausedAt": None, "firstReplyWarnedAt": None,
    "resolutionWarnedAt": None, "firstReplyWarnAt": "2026-11-20T10:48:00.000Z", "nextAt": "2026-11-20T10:48:00.000Z",
    "firstReplyMinutes": 60, "resolutionMinutes": 240, "pausedMs": 0,
}  # fmt: skip


def test_given_the_sweep_records_a_breach_then_one_sla_breached_event_and_no_ticket_updated():
    old = {**BASE, "sla": {**SLA, "firstReplyWarnedAt": "2026-11-20T10:48:00.000Z"}}
    new = {**old, "version": 2, "updatedAt": "2026-11-20T11:00:05.000Z", "slaChanged": True,
           "sla": {**old["sla"], "firstReplyBreachedAt": "2026-11-20T11:00:00.000Z"}}  # fmt: skip
    (event,) = domain_events(record("MODIFY", new, old))
    assert event.type == "ticket.sla_breached"
    assert {k: v for k, v in event.data.items() if k != "ticket"} == {
        "target": "firstReply", "dueAt": "2026-11-20T11:00:00.000Z", "breachedAt": "2026-11-20T11:00:00.000Z",
    }  # fmt: skip
    assert event.data["ticket"]["sla"]["firstReplyBreachedAt"] == "2026-11-20T11:00:00.000Z"
    assert "nextAt" not in event.data["ticket"]["sla"] and "slaChanged" not in event.data["ticket"]
    assert event.createdAt == "2026-11-20T11:00:05.000Z" and event.tenantId == "T1"


def test_given_a_warning_and_a_breach_in_one_write_then_warning_first_and_a_rerun_makes_the_same_ids():
    old = {**BASE, "sla": SLA}
    new = {
        **old,
        "version": 2,
        "updatedAt": "2026-11-20T12:00:00.000Z",
        "sla": {
            **SLA,
            "firstReplyWarnedAt": "2026-11-20T10:48:00.000Z",
            "firstReplyBreachedAt": "2026-11-20T11:00:00.000Z",
        },
    }
    events = domain_events(record("MODIFY", new, old))
    assert types(events) == ["ticket.sla_warning", "ticket.sla_breached"]
    assert events[0].data["warningAt"] == "2026-11-20T10:48:00.000Z" and events[0].data["target"] == "firstReply"
    assert [e.id for e in domain_events(record("MODIFY", new, old))] == [e.id for e in events]
    assert events[0].id < events[1].id


def test_given_a_write_that_carries_recorded_facts_forward_then_no_sla_event_again():
    recorded = {**SLA, "firstReplyWarnedAt": "2026-11-20T10:48:00.000Z", "firstReplyBreachedAt": "2026-11-20T11:00Z"}
    old = {**BASE, "sla": recorded}
    new = {**old, "version": 3, "priority": "high", "sla": {**recorded, "resolutionDueAt": "2026-11-20T12:00:00.000Z"}}
    events = domain_events(record("MODIFY", new, old))
    assert types(events) == ["ticket.updated"]
    assert events[0].data["changes"] == {"priority": {"from": "medium", "to": "high"}}  # sla moved with it, unlisted
