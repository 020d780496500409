"""The template's event sources run against moto (in-process mock_aws), delivering to fake consumers."""

from __future__ import annotations

import json
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import boto3
import pytest

from tests.conftest import TABLE
from tools import template
from tools.events import FakeContext
from tools.eventsources import Clients, EventSources

FUNCTIONS = template.functions()
STREAM_CONSUMERS = ["FanoutWebhooksFunction", "RecordTicketHistoryFunction", "PublishStatusEventsFunction"]


@dataclass
class Local:
    ddb: Any
    sqs: Any
    refs: dict[str, str]
    queues: dict[str, template.CreatedQueue]
    handlers: dict[str, Callable[[dict[str, Any], Any], Any]]
    calls: dict[str, list[dict[str, Any]]]

    def runner(self, *names: str, **kwargs: Any) -> EventSources:
        def invoke(fn: template.Function, event: dict[str, Any]) -> Any:
            self.calls[fn.name].append(event)
            return self.handlers[fn.name](event, FakeContext(fn.name))

        kwargs.setdefault("retry_backoff", (0, 0))
        return EventSources([FUNCTIONS[n] for n in names], invoke, refs=self.refs, **kwargs)

    def put(self, sk: str, **attrs: Any) -> None:
        item = {"PK": {"S": "TENANT#t1"}, "SK": {"S": sk}, **attrs}
        self.ddb.put_item(TableName=TABLE, Item=item)

    def messages(self, queue: str) -> list[dict[str, Any]]:
        url = self.queues[queue].url
        return self.sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])


@pytest.fixture
def local(aws: Any) -> Local:
    sqs = boto3.client("sqs", region_name="us-east-1")
    queues = template.create_queues(sqs)
    buckets = template.create_buckets(boto3.client("s3", region_name="us-east-1"), queues)
    refs = template.build_refs(table=template.table_refs(aws, TABLE), queues=queues, buckets=buckets)
    handlers: dict[str, Callable[[dict[str, Any], Any], Any]] = defaultdict(lambda: lambda event, ctx: None)
    return Local(aws, sqs, refs, queues, handlers, defaultdict(list))


def _sks(events: list[dict[str, Any]]) -> list[str]:
    return [r["dynamodb"]["Keys"]["SK"]["S"] for e in events for r in e["Records"]]


def test_every_function_environment_resolves(local: Local) -> None:
    for fn in FUNCTIONS.values():
        env = template.resolve_function_env(fn, local.refs, strict=True)
        assert env["DELIVERY_QUEUE_URL"] == local.queues["WebhookDeliveryQueue"].url
        assert env["TABLE_NAME"] == TABLE
    attrs = local.sqs.get_queue_attributes(QueueUrl=local.queues["WebhookDeliveryQueue"].url, AttributeNames=["All"])
    redrive = json.loads(attrs["Attributes"]["RedrivePolicy"])
    assert redrive == {"deadLetterTargetArn": local.queues["WebhookDeliveryDLQ"].arn, "maxReceiveCount": 5}
    assert attrs["Attributes"]["VisibilityTimeout"] == "180"


def test_stream_records_reach_each_consumer_in_order_and_filters_skip(local: Local) -> None:
    local.put("TICKET#before")  # before the runner: LATEST starts after it
    runner = local.runner(*STREAM_CONSUMERS)
    for i in range(5):
        local.put(f"TICKET#{i}", type={"S": "ticket"})
    local.put("CUSTOMER#1", type={"S": "customer"})
    local.ddb.update_item(
        TableName=TABLE, Key={"PK": {"S": "TENANT#t1"}, "SK": {"S": "TICKET#2"}},
        UpdateExpression="SET statusChanged = :t", ExpressionAttributeValues={":t": {"BOOL": True}},
    )  # fmt: skip
    local.put("TICKET#9", type={"S": "ticket"}, statusChanged={"BOOL": False})
    runner.run_until_idle(timeout=10, quiet=0.2)

    expected = [f"TICKET#{i}" for i in range(5)] + ["TICKET#2", "TICKET#9"]
    assert _sks(local.calls["FanoutWebhooksFunction"]) == expected
    assert _sks(local.calls["RecordTicketHistoryFunction"]) == expected
    (status_event,) = local.calls["PublishStatusEventsFunction"]
    (record,) = status_event["Records"]
    assert record["eventName"] == "MODIFY" and record["dynamodb"]["Keys"]["SK"]["S"] == "TICKET#2"
    assert record["dynamodb"]["OldImage"]["type"] == {"S": "ticket"}
    assert record["eventSourceARN"] == local.refs["Table.StreamArn"]
    assert record["eventVersion"] == "1.1" and record["eventSource"] == "aws:dynamodb"
    assert isinstance(record["dynamodb"]["ApproximateCreationDateTime"], int)
    json.dumps(status_event)


def test_trim_horizon_reads_what_was_written_before(local: Local) -> None:
    local.put("TICKET#before")
    runner = local.runner("FanoutWebhooksFunction", starting_position="TRIM_HORIZON")
    assert runner.run_until_idle(timeout=5, quiet=0.1) == 1


def test_reported_stream_failures_are_redelivered_from_the_first_failed_record(local: Local) -> None:
    def fanout(event: dict[str, Any], ctx: Any) -> dict[str, Any]:
        if len(local.calls["FanoutWebhooksFunction"]) == 1:
            return {"batchItemFailures": [{"itemIdentifier": event["Records"][2]["dynamodb"]["SequenceNumber"]}]}
        return {"batchItemFailures": []}

    local.handlers["FanoutWebhooksFunction"] = fanout
    runner = local.runner("FanoutWebhooksFunction", "RecordTicketHistoryFunction")
    for i in range(1, 6):
        local.put(f"TICKET#{i}")
    runner.run_until_idle(timeout=10, quiet=0.2)
    batches = [_sks([e]) for e in local.calls["FanoutWebhooksFunction"]]
    assert batches == [[f"TICKET#{i}" for i in range(1, 6)], ["TICKET#3", "TICKET#4", "TICKET#5"]]
    # A separate position per function: the other consumer saw each record once.
    assert _sks(local.calls["RecordTicketHistoryFunction"]) == [f"TICKET#{i}" for i in range(1, 6)]
    assert local.messages("StreamFailureDLQ") == []


def test_exhausted_stream_batches_land_in_the_on_failure_queue(local: Local) -> None:
    def history(event: dict[str, Any], ctx: Any) -> None:
        raise RuntimeError("history table is on fire")

    local.handlers["RecordTicketHistoryFunction"] = history
    runner = local.runner("RecordTicketHistoryFunction")
    local.put("TICKET#doomed")
    runner.run_until_idle(timeout=10, quiet=0.2)
    (source,) = FUNCTIONS["RecordTicketHistoryFunction"].event_sources
    assert isinstance(source, template.DynamoDBStreamSource)
    assert len(local.calls["RecordTicketHistoryFunction"]) == 1 + source.maximum_retry_attempts
    (message,) = local.messages(source.on_failure or "")
    failure = json.loads(message["Body"])
    assert failure["requestContext"]["condition"] == "RetryAttemptsExhausted"
    assert failure["requestContext"]["functionArn"].endswith(":function:RecordTicketHistoryFunction")
    assert failure["DDBStreamBatchInfo"]["streamArn"] == local.refs["Table.StreamArn"]
    assert failure["DDBStreamBatchInfo"]["batchSize"] == 1
    assert _sks([{"Records": failure["records"]}]) == ["TICKET#doomed"]

    # The shard moved on: the next record is delivered (and fails) on its own.
    local.put("TICKET#next")
    runner.run_until_idle(timeout=10, quiet=0.2)
    assert _sks(local.calls["RecordTicketHistoryFunction"][-1:]) == ["TICKET#next"]


def _send(local: Local, body: str, delay: int = 0) -> None:
    local.sqs.send_message(QueueUrl=local.queues["WebhookDeliveryQueue"].url, MessageBody=body, DelaySeconds=delay)


def test_sqs_messages_are_delivered_in_lambda_shaped_batches(local: Local) -> None:
    runner = local.runner("DeliverWebhookFunction")
    for i in range(3):
        _send(local, json.dumps({"n": i}))
    assert runner.run_until_idle(timeout=5, quiet=0.1) == 3
    records = [r for e in local.calls["DeliverWebhookFunction"] for r in e["Records"]]
    assert sorted(json.loads(r["body"])["n"] for r in records) == [0, 1, 2]
    r = records[0]
    assert r["eventSource"] == "aws:sqs" and r["eventSourceARN"] == local.queues["WebhookDeliveryQueue"].arn
    assert r["attributes"]["ApproximateReceiveCount"] == "1" and "SentTimestamp" in r["attributes"]
    assert r["awsRegion"] == "us-east-1" and r["md5OfBody"]
    assert local.messages("WebhookDeliveryQueue") == []  # all deleted


def test_sqs_delay_seconds_are_honoured(local: Local) -> None:
    runner = local.runner("DeliverWebhookFunction")
    sent = time.monotonic()
    _send(local, "later", delay=1)
    assert runner.poll_once() == 0
    assert runner.run_until_idle(timeout=5, quiet=0.1) == 1  # waits for the delayed message
    assert time.monotonic() - sent >= 1.0
    assert local.calls["DeliverWebhookFunction"][0]["Records"][0]["body"] == "later"


def test_sqs_reported_failures_are_redelivered_and_the_rest_deleted(local: Local) -> None:
    attempts: dict[str, int] = defaultdict(int)

    def deliver(event: dict[str, Any], ctx: Any) -> dict[str, Any]:
        failures = []
        for r in event["Records"]:
            attempts[r["body"]] += 1
            if r["body"] == "b" and attempts["b"] == 1:
                failures.append({"itemIdentifier": r["messageId"]})
        return {"batchItemFailures": failures}

    local.handlers["DeliverWebhookFunction"] = deliver
    # Failed messages come back after the visibility timeout (180 s in the template); make it 0 here.
    runner = local.runner("DeliverWebhookFunction", failed_message_visibility=0)
    for body in "abc":
        _send(local, body)
    runner.run_until_idle(timeout=5, quiet=0.2)
    assert dict(attempts) == {"a": 1, "b": 2, "c": 1}
    second = [r for e in local.calls["DeliverWebhookFunction"] for r in e["Records"] if r["body"] == "b"][-1]
    assert second["attributes"]["ApproximateReceiveCount"] == "2"
    assert local.messages("WebhookDeliveryQueue") == []


def test_sqs_failures_wait_for_the_visibility_timeout_by_default(local: Local) -> None:
    def deliver(event: dict[str, Any], ctx: Any) -> None:
        raise RuntimeError("receiver down")

    local.handlers["DeliverWebhookFunction"] = deliver
    runner = local.runner("DeliverWebhookFunction")
    _send(local, "x")
    assert runner.run_until_idle(timeout=5, quiet=0.2) == 1  # delivered once, then invisible for 180 s
    attrs = local.sqs.get_queue_attributes(
        QueueUrl=local.queues["WebhookDeliveryQueue"].url, AttributeNames=["ApproximateNumberOfMessagesNotVisible"]
    )["Attributes"]
    assert attrs["ApproximateNumberOfMessagesNotVisible"] == "1"


def test_background_pollers_deliver_quickly_and_a_slow_batch_holds_up_no_other(local: Local) -> None:
    release = __import__("threading").Event()
    arrived: dict[str, float] = {}

    def deliver(event: dict[str, Any], ctx: Any) -> None:
        for r in event["Records"]:
            arrived[r["body"]] = time.monotonic()
            if r["body"] == "slow":
                release.wait(5)

    local.handlers["DeliverWebhookFunction"] = deliver
    runner = local.runner("DeliverWebhookFunction", "FanoutWebhooksFunction", clients=Clients.create())
    runner.start()
    try:
        _send(local, "slow")
        time.sleep(0.3)
        sent = time.monotonic()
        _send(local, "fast")
        written = time.monotonic()
        local.put("TICKET#bg")
        deadline = time.monotonic() + 3
        while ("fast" not in arrived or not local.calls["FanoutWebhooksFunction"]) and time.monotonic() < deadline:
            time.sleep(0.01)
        assert "fast" in arrived and arrived["fast"] - sent < 1.0
        assert _sks(local.calls["FanoutWebhooksFunction"]) == ["TICKET#bg"]
        assert time.monotonic() - written < 1.5
    finally:
        release.set()
        runner.stop()
