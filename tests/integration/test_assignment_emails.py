"""send_assignment_email: its real handler against moto's SES and table, with stream-shaped batches."""

from __future__ import annotations

import json
from typing import Any

import pytest
from aws_lambda_powertools.utilities.batch.exceptions import BatchProcessingError
from botocore.exceptions import ClientError

from tests.conftest import TABLE
from tools import localmail, template
from tools.events import FakeContext
from tools.eventsources import matches

FN = template.functions()["SendAssignmentEmailFunction"]
ANN = {"id": "01JSQ4ZK8X3N5W7Y9B2C4D6F8A", "name": "Ann Agent", "email": "ann@example.com"}
BOB = {"id": "01JSQ4ZK8X3N5W7Y9B2C4D6F8B", "name": "Bob Agent", "email": "bob@example.com"}
BASE = {
    "PK": "TENANT#T1", "SK": "TICKET#01JABCDEFGHJKMNPQRSTVWXYZ0", "type": "ticket", "tenantId": "T1",
    "id": "01JABCDEFGHJKMNPQRSTVWXYZ0", "number": 1, "reference": "INV-1",
    "subject": "Card declined <script>alert(1)</script>", "description": "Fails at **checkout** & <b>pay</b>",
    "status": "new", "priority": "urgent", "channel": "api", "tags": [], "customFields": {}, "metadata": {},
    "customerId": "01JSQ4ZK8X3N5W7Y9B2C4D6F8C",
    "customer": {"id": "01JSQ4ZK8X3N5W7Y9B2C4D6F8C", "externalId": "crm-1", "name": "Carla Customer",
                 "email": "carla@example.org"},
    "occurrences": 1, "createdAt": "2026-11-20T10:00:00.000Z", "updatedAt": "2026-11-20T10:00:00.000Z",
    "version": 1,
}  # fmt: skip


def assigned(to: dict[str, Any] | None, version: int, base: dict[str, Any] = BASE) -> dict[str, Any]:
    item = {**base, "version": version, "updatedAt": f"2026-11-20T10:{version:02d}:00.000Z"}
    item.pop("assigneeId", None)
    item.pop("assignee", None)
    if to:
        # dal.tickets marks the writes that set a new assignee; the stream filter keys on the marker.
        item |= {"assigneeId": to["id"], "assignee": to, "assigneeChanged": True}
    return item


def record(new: dict[str, Any], old: dict[str, Any] | None, seq: str) -> dict[str, Any]:
    from tickets.dal.client import serialize

    keys = serialize({"PK": new["PK"], "SK": new["SK"]})
    change: dict[str, Any] = {
        "ApproximateCreationDateTime": 1763632800.0,
        "SequenceNumber": seq,
        "Keys": keys,
        "NewImage": serialize(new),
    }
    if old is not None:
        change["OldImage"] = serialize(old)
    return {"eventID": f"rec-{seq}", "eventName": "MODIFY" if old else "INSERT", "eventSource": "aws:dynamodb",
            "dynamodb": change}  # fmt: skip


def batch(*records: dict[str, Any]) -> dict[str, Any]:
    return {"Records": list(records)}


@pytest.fixture
def handler(aws: Any) -> Any:
    template.apply_env(FN, {"Table": TABLE})
    return template.load_handler(FN)


def invoke(handler: Any, event: dict[str, Any]) -> dict[str, Any]:
    return handler(event, FakeContext(FN.name))


def failed(result: dict[str, Any]) -> list[str]:
    return [f["itemIdentifier"] for f in result["batchItemFailures"]]


def test_given_a_ticket_assigned_when_the_record_arrives_then_one_email_with_both_parts_escaped(handler):
    result = invoke(handler, batch(record(assigned(ANN, 2), assigned(None, 1), "100")))

    assert failed(result) == []
    (mail,) = localmail.sent_emails()
    assert mail["to"] == ["ann@example.com"]
    assert mail["subject"] == "[INV-1] Card declined <script>alert(1)</script>"
    link = "https://app.example.com/tickets/INV-1"
    for part in (mail["text"], mail["html"]):
        assert "urgent" in part and "Carla Customer" in part and "carla@example.org" in part and link in part
    assert "Fails at **checkout** & <b>pay</b>" in mail["text"]
    assert "<script>" not in mail["html"] and "&lt;script&gt;alert(1)&lt;/script&gt;" in mail["html"]
    assert "<b>pay</b>" not in mail["html"] and "Fails at **checkout** &amp; &lt;b&gt;pay&lt;/b&gt;" in mail["html"]
    assert f'href="{link}"' in mail["html"]


def test_given_an_insert_already_assigned_then_one_email(handler):
    assert failed(invoke(handler, batch(record(assigned(ANN, 1), None, "100")))) == []
    assert [m["to"] for m in localmail.sent_emails()] == [["ann@example.com"]]


def test_given_a_sent_assignment_when_the_stream_redelivers_the_record_then_no_second_email(handler):
    event = batch(record(assigned(ANN, 2), assigned(None, 1), "100"))
    invoke(handler, event)

    assert failed(invoke(handler, event)) == []
    assert failed(invoke(handler, event)) == []
    assert len(localmail.sent_emails()) == 1


def test_given_a_crash_after_the_send_when_the_record_is_retried_then_no_second_email(handler):
    from tickets.consumers import stream_consumer
    from tickets.logic.assignment_emails import send_assignment_emails

    def send_then_crash(events: Any, state: dict[str, Any]) -> None:
        send_assignment_emails(events, state.get("context"))
        raise RuntimeError("crash after the email went out")

    event = batch(record(assigned(ANN, 2), assigned(None, 1), "100"))
    # Every record of the batch failed: Powertools raises, Lambda retries the whole batch.
    with pytest.raises(BatchProcessingError):
        stream_consumer(send_then_crash)(event, FakeContext(FN.name))
    assert len(localmail.sent_emails()) == 1

    assert failed(invoke(handler, event)) == []  # the retry, with the real handler
    assert len(localmail.sent_emails()) == 1


def test_given_ses_throttles_once_when_retried_then_the_record_fails_first_and_exactly_one_email(handler, monkeypatch):
    from tickets.aws import client

    ses = client("sesv2")
    real, calls = ses.send_email, []

    def throttled_once(**kwargs: Any) -> Any:
        calls.append(kwargs)
        if len(calls) == 1:
            raise ClientError({"Error": {"Code": "ThrottlingException", "Message": "Rate exceeded"}}, "SendEmail")
        return real(**kwargs)

    monkeypatch.setattr(ses, "send_email", throttled_once)
    first, second = (
        record(assigned(ANN, 2), assigned(None, 1), "100"),
        record(assigned(BOB, 3), assigned(ANN, 2), "200"),
    )

    result = invoke(handler, batch(first, second))
    assert failed(result) == ["100"]  # reported, not dropped (the second record went out)
    assert [m["to"] for m in localmail.sent_emails()] == [["bob@example.com"]]

    assert failed(invoke(handler, batch(first, second))) == []  # Lambda retries from the failed record
    assert sorted(m["to"][0] for m in localmail.sent_emails()) == ["ann@example.com", "bob@example.com"]
    assert len(calls) == 3


def test_given_a_reassignment_then_the_new_agent_is_emailed(handler):
    invoke(handler, batch(record(assigned(BOB, 3), assigned(ANN, 2), "300")))

    assert [m["to"] for m in localmail.sent_emails()] == [["bob@example.com"]]


def test_given_an_unassignment_or_another_change_then_no_email(handler):
    unassigned = record(assigned(None, 3), assigned(ANN, 2), "300")
    same_agent = {k: v for k, v in assigned(ANN, 3).items() if k != "assigneeChanged"}
    reprioritised = record({**same_agent, "priority": "low"}, assigned(ANN, 2), "400")

    assert not matches(FN.event_sources[0].filters, json.loads(json.dumps(unassigned)))  # filtered out by Lambda
    assert not matches(FN.event_sources[0].filters, reprioritised)  # no assignment marker: not even invoked
    assert failed(invoke(handler, batch(unassigned, reprioritised))) == []
    assert localmail.sent_emails() == []


def test_given_an_assignee_without_an_email_then_skipped_without_failing(handler):
    nomail = {**ANN, "email": None}

    assert failed(invoke(handler, batch(record(assigned(nomail, 2), assigned(None, 1), "100")))) == []
    assert localmail.sent_emails() == []


def test_given_the_template_then_the_filter_takes_assigned_tickets_only(aws):
    (source,) = FN.event_sources
    assert source.on_failure == "StreamFailureDLQ" and source.report_batch_item_failures and source.bisect_on_error
    assert matches(source.filters, record(assigned(ANN, 1), None, "1"))
    assert not matches(source.filters, record(assigned(None, 1), None, "2"))
    other = {**assigned(ANN, 1), "type": "history"}
    assert not matches(source.filters, record(other, None, "3"))
