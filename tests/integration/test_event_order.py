"""Event time and order from real stream records (contract v1.1: an event's createdAt is the time of the write it
describes, and one ticket's event ids sort in the order of its writes). Real handlers, moto's table stream."""

from __future__ import annotations

import time
from typing import Any

import boto3

from tests.conftest import TABLE, call
from tickets.events import domain_events
from tickets.models.events import DomainEvent
from tickets.timeutil import now_iso
from tools.eventsources import Clients, stream_record


def _stream_events(ticket_id: str) -> list[DomainEvent]:
    """Every domain event the table's stream holds for one ticket, in stream order."""
    ddb = boto3.client("dynamodb", region_name="us-east-1")
    streams = Clients.create("us-east-1").streams  # as the local event sources read it
    arn = ddb.describe_table(TableName=TABLE)["Table"]["LatestStreamArn"]
    events: list[DomainEvent] = []
    for shard in streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"]:
        iterator = streams.get_shard_iterator(
            StreamArn=arn, ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON"
        )["ShardIterator"]
        records: list[dict[str, Any]] = streams.get_records(ShardIterator=iterator, Limit=1000)["Records"]
        for record in records:
            lambda_record = stream_record(record, arn, "us-east-1")  # what Lambda hands the consumers
            events += [e for e in domain_events(lambda_record) if (e.data.get("ticket") or {}).get("id") == ticket_id]
    return events


def _after_a_fresh_millisecond() -> str:
    """Now, at least 10 ms into a second, so a time rounded down to its second would be visibly earlier."""
    while time.time() % 1 < 0.010:
        time.sleep(0.005)
    return now_iso()


def test_given_a_ticket_written_and_deleted_quickly_then_its_events_sort_by_id_in_write_order_deleted_last(tenant):
    ticket = call("POST", "/v1/tickets", key=tenant.key, body={"subject": "Card declined"}).json
    call("PATCH", f"/v1/tickets/{ticket['id']}", key=tenant.key, body={"priority": "high"})
    call("PATCH", f"/v1/tickets/{ticket['id']}", key=tenant.key, body={"status": "open"})
    before_delete = _after_a_fresh_millisecond()
    assert call("DELETE", f"/v1/tickets/{ticket['id']}", key=tenant.key).status == 204
    after_delete = now_iso()

    events = _stream_events(ticket["id"])

    kinds = [e.type for e in events]
    assert kinds == ["ticket.created", "ticket.updated", "ticket.updated", "ticket.status_changed", "ticket.deleted"]
    assert sorted(events, key=lambda e: e.id) == sorted(events, key=lambda e: (e.createdAt, kinds.index(e.type)))
    assert [e.id for e in sorted(events, key=lambda e: e.id)][-1] == events[-1].id  # deleted sorts last
    deleted = events[-1]
    assert before_delete <= deleted.createdAt <= after_delete  # the write's millisecond, not the stream's second
    assert deleted.createdAt >= events[-2].createdAt
    assert "deletedAt" not in deleted.data["ticket"] and deleted.data["ticket"]["status"] == "open"


def test_given_a_deletion_stamp_then_it_is_no_visible_change_and_makes_no_event(tenant):
    from tickets.logic.tickets import stamp_for_deletion

    ticket = call("POST", "/v1/tickets", key=tenant.key, body={"subject": "x"}).json
    stamped = stamp_for_deletion(tenant.tenant_id, ticket["id"])
    assert stamped is not None and stamped["version"] == 1 and stamped["deletedAt"]
    assert [e.type for e in _stream_events(ticket["id"])] == ["ticket.created"]
    got = call("GET", f"/v1/tickets/{ticket['id']}", key=tenant.key)
    assert got.json == ticket and got.headers["etag"] == '"1"'  # a delete that then failed leaves no trace
