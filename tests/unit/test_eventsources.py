"""The event-source runner without AWS: Lambda's event filtering, batch shapes and retry rules, on fake clients."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from tools import template
from tools.eventsources import Clients, EventSources, failed_items, match_pattern, matches, sqs_record, stream_record

STREAM_ARN = "arn:aws:dynamodb:us-east-1:123456789012:table/t/stream/2026-01-01T00:00:00.000"
FAILURE_URL = "https://sqs.us-east-1.amazonaws.com/123456789012/StreamFailureDLQ"
QUEUE_URL = "https://sqs.us-east-1.amazonaws.com/123456789012/Work"
REFS = {
    "Table.StreamArn": STREAM_ARN,
    "StreamFailureDLQ": FAILURE_URL,
    "StreamFailureDLQ.Arn": "arn:aws:sqs:us-east-1:123456789012:StreamFailureDLQ",
    "Work": QUEUE_URL,
    "Work.Arn": "arn:aws:sqs:us-east-1:123456789012:Work",
}


def _template_patterns(function: str) -> tuple[dict[str, Any], ...]:
    (source,) = template.functions()[function].event_sources
    return source.filters


def _template_pattern(function: str) -> dict[str, Any]:
    (pattern,) = _template_patterns(function)
    return pattern


def _record(event_name: str = "MODIFY", sk: str = "TICKET#1", new: dict[str, Any] | None = None) -> dict[str, Any]:
    return {
        "eventName": event_name,
        "dynamodb": {"Keys": {"PK": {"S": "TENANT#t"}, "SK": {"S": sk}}, **({"NewImage": new} if new else {})},
    }


# ------------------------------------------------------------------------------------------------ filters


@pytest.mark.parametrize("function", ["FanoutWebhooksFunction", "RecordTicketHistoryFunction"])
def test_the_templates_comment_insert_filter(function: str) -> None:
    _, pattern = _template_patterns(function)
    assert match_pattern(pattern, _record("INSERT", "COMMENT#01J#01K"))
    assert not match_pattern(pattern, _record("MODIFY", "COMMENT#01J#01K"))  # a redaction is no event
    assert not match_pattern(pattern, _record("REMOVE", "COMMENT#01J#01K"))
    assert not match_pattern(pattern, _record("INSERT", "CUSTOMER#01J"))


def test_the_templates_outbound_reply_filter() -> None:
    pattern = _template_pattern("SendReplyEmailsFunction")
    reply = {"type": {"S": "comment"}, "direction": {"S": "outbound"}, "visibility": {"S": "public"}}
    assert match_pattern(pattern, _record("INSERT", "COMMENT#01J#01K", reply))
    assert not match_pattern(pattern, _record("MODIFY", "COMMENT#01J#01K", reply))  # a redaction sends nothing
    assert not match_pattern(pattern, _record("INSERT", "COMMENT#01J#01K", {**reply, "visibility": {"S": "internal"}}))
    assert not match_pattern(pattern, _record("INSERT", "COMMENT#01J#01K", {**reply, "direction": {"S": "inbound"}}))
    assert not match_pattern(pattern, _record("INSERT", "COMMENT#01J#01K", {**reply, "direction": {"NULL": True}}))
    no_direction = {k: v for k, v in reply.items() if k != "direction"}  # a comment to nobody: stored without it
    assert not match_pattern(pattern, _record("INSERT", "COMMENT#01J#01K", no_direction))
    assert not match_pattern(pattern, _record("INSERT", "TICKET#01J", {**reply, "type": {"S": "ticket"}}))
    assert not match_pattern(pattern, _record("INSERT", "COMMENT#01J#01K", {**reply, "type": {"S": "history"}}))


def test_the_templates_ticket_key_filter() -> None:
    pattern, _ = _template_patterns("FanoutWebhooksFunction")
    assert pattern == {"dynamodb": {"Keys": {"SK": {"S": [{"prefix": "TICKET#"}]}}}}
    assert match_pattern(pattern, _record("INSERT", "TICKET#01J"))
    assert match_pattern(pattern, _record("REMOVE", "TICKET#01J"))
    assert not match_pattern(pattern, _record("INSERT", "CUSTOMER#01J"))
    assert not match_pattern(pattern, _record("INSERT", "ticket#01J"))
    assert not match_pattern(pattern, {"eventName": "INSERT", "dynamodb": {"Keys": {"SK": {"N": "1"}}}})


def test_the_templates_status_change_filter() -> None:
    pattern, _ = _template_patterns("PublishStatusEventsFunction")
    changed = {"type": {"S": "ticket"}, "statusChanged": {"BOOL": True}}
    assert match_pattern(pattern, _record("MODIFY", new=changed))
    assert not match_pattern(pattern, _record("INSERT", new=changed))
    assert not match_pattern(pattern, _record("MODIFY", new={**changed, "statusChanged": {"BOOL": False}}))
    assert not match_pattern(pattern, _record("MODIFY", new={"type": {"S": "ticket"}}))
    assert not match_pattern(pattern, _record("MODIFY", new={**changed, "type": {"S": "customer"}}))
    assert not match_pattern(pattern, _record("MODIFY", new={**changed, "statusChanged": {"S": "true"}}))
    assert not match_pattern(pattern, _record("MODIFY", new={**changed, "statusChanged": {"N": 1}}))
    assert not match_pattern(pattern, _record("REMOVE"))


def test_the_templates_sla_fact_filter() -> None:
    _, pattern = _template_patterns("PublishStatusEventsFunction")
    recorded = {"type": {"S": "ticket"}, "slaChanged": {"BOOL": True}}
    assert match_pattern(pattern, _record("MODIFY", new=recorded))
    assert not match_pattern(pattern, _record("INSERT", new=recorded))
    assert not match_pattern(pattern, _record("MODIFY", new={"type": {"S": "ticket"}}))  # a plain write: no marker
    assert not match_pattern(pattern, _record("MODIFY", new={**recorded, "slaChanged": {"BOOL": False}}))
    assert not match_pattern(pattern, _record("MODIFY", new={**recorded, "type": {"S": "comment"}}))


def test_filter_operators() -> None:
    event = {"a": "apple", "n": 5, "flag": True, "tags": ["x", "y"], "nested": {"k": "v"}, "nil": None}
    assert match_pattern({"a": ["pear", "apple"]}, event)
    assert match_pattern({"a": [{"prefix": "ap"}]}, event)
    assert match_pattern({"a": [{"suffix": "le"}]}, event)
    assert match_pattern({"a": [{"equals-ignore-case": "APPLE"}]}, event)
    assert not match_pattern({"a": [{"anything-but": ["apple", "pear"]}]}, event)
    assert match_pattern({"a": [{"anything-but": "pear"}]}, event)
    assert match_pattern({"a": [{"anything-but": {"prefix": "pe"}}]}, event)
    assert not match_pattern({"missing": [{"anything-but": "pear"}]}, event)
    assert match_pattern({"a": [{"exists": True}], "missing": [{"exists": False}]}, event)
    assert not match_pattern({"missing": [{"exists": True}]}, event)
    assert match_pattern({"nested": {"absent": [{"exists": False}]}, "gone": {"deeper": [{"exists": False}]}}, event)
    assert match_pattern({"n": [{"numeric": [">", 1, "<=", 5]}]}, event)
    assert not match_pattern({"n": [{"numeric": [">", 5]}]}, event)
    assert match_pattern({"n": [5]}, event) and match_pattern({"n": [5.0]}, event)
    assert not match_pattern({"n": ["5"]}, event)
    assert match_pattern({"flag": [True]}, event) and not match_pattern({"n": [True]}, event)
    assert not match_pattern({"flag": [1]}, event)
    assert match_pattern({"tags": ["y"]}, event)  # an array matches if any element does
    assert match_pattern({"nil": [None]}, event)
    assert match_pattern({"nested": {"k": ["v"]}}, event) and not match_pattern({"a": {"k": ["v"]}}, event)
    assert match_pattern({"a": ["apple"], "n": [5]}, event) and not match_pattern({"a": ["apple"], "n": [6]}, event)
    # OR across filters; no filters match everything
    assert matches([{"a": ["pear"]}, {"n": [5]}], event)
    assert not matches([{"a": ["pear"]}, {"n": [6]}], event)
    assert matches([], event)
    with pytest.raises(ValueError):
        match_pattern({"a": "apple"}, event)


# ------------------------------------------------------------------------------------------------ shapes


def test_stream_record_is_shaped_like_lambdas() -> None:
    raw = {
        "eventID": "e1",
        "eventName": "INSERT",
        "eventVersion": "1.0",
        "eventSource": "aws:dynamodb",
        "awsRegion": "us-east-1",
        "dynamodb": {
            "ApproximateCreationDateTime": datetime(2026, 1, 2, 3, 4, 5, 678000, tzinfo=UTC),
            "Keys": {"PK": {"S": "a"}, "SK": {"B": b"\x00\x01"}},
            "NewImage": {"PK": {"S": "a"}, "bs": {"BS": [b"\xff"]}, "n": {"N": "1"}},
            "SequenceNumber": "100",
            "SizeBytes": 20,
            "StreamViewType": "NEW_AND_OLD_IMAGES",
        },
    }
    rec = stream_record(raw, STREAM_ARN, "us-east-1")
    assert list(rec) == [
        "eventID", "eventName", "eventVersion", "eventSource", "awsRegion", "dynamodb", "eventSourceARN"
    ]  # fmt: skip
    assert rec["eventVersion"] == "1.1" and rec["eventSourceARN"] == STREAM_ARN
    assert rec["dynamodb"]["ApproximateCreationDateTime"] == int(datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC).timestamp())
    assert rec["dynamodb"]["Keys"]["SK"] == {"B": "AAE="}
    assert rec["dynamodb"]["NewImage"]["bs"] == {"BS": ["/w=="]}
    assert "OldImage" not in rec["dynamodb"]
    json.dumps(rec)


def test_sqs_record_is_shaped_like_lambdas() -> None:
    msg = {
        "MessageId": "m1",
        "ReceiptHandle": "rh",
        "MD5OfBody": "md5",
        "Body": "{}",
        "Attributes": {"ApproximateReceiveCount": "1", "SentTimestamp": "1"},
        "MessageAttributes": {"k": {"DataType": "String", "StringValue": "v"}},
    }
    rec = sqs_record(msg, "arn:q", "us-east-1")
    assert rec["messageId"] == "m1" and rec["receiptHandle"] == "rh" and rec["body"] == "{}"
    assert rec["attributes"]["ApproximateReceiveCount"] == "1"
    assert rec["messageAttributes"] == {
        "k": {"stringValue": "v", "stringListValues": [], "binaryListValues": [], "dataType": "String"}
    }
    assert rec["eventSource"] == "aws:sqs" and rec["eventSourceARN"] == "arn:q" and rec["awsRegion"] == "us-east-1"


def test_failed_items_follows_lambdas_rules() -> None:
    ids = ["a", "b", "c"]
    assert failed_items(None, ids) is None
    assert failed_items({}, ids) is None
    assert failed_items({"batchItemFailures": []}, ids) is None
    assert failed_items({"batchItemFailures": [{"itemIdentifier": "b"}]}, ids) == {1}
    assert failed_items({"batchItemFailures": [{"itemIdentifier": ""}]}, ids) == {0, 1, 2}
    assert failed_items({"batchItemFailures": [{"itemIdentifier": None}]}, ids) == {0, 1, 2}
    assert failed_items({"batchItemFailures": [{"itemIdentifier": "zzz"}]}, ids) == {0, 1, 2}
    assert failed_items({"batchItemFailures": [{"wrongKey": "a"}]}, ids) == {0, 1, 2}


# ------------------------------------------------------------------------------------------------ fake AWS


class FakeStreams:
    """A one-shard stream whose iterators are positions: "it:<index>"."""

    def __init__(self, n: int) -> None:
        self.records = [
            {
                "eventID": f"e{i}",
                "eventName": "INSERT",
                "awsRegion": "us-east-1",
                "dynamodb": {
                    "ApproximateCreationDateTime": datetime.now(UTC),
                    "Keys": {"PK": {"S": "T"}, "SK": {"S": f"TICKET#{i}"}},
                    "SequenceNumber": str(100 + i),
                    "SizeBytes": 10,
                    "StreamViewType": "NEW_AND_OLD_IMAGES",
                },
            }
            for i in range(1, n + 1)
        ]

    def describe_stream(self, StreamArn: str) -> dict[str, Any]:
        return {"StreamDescription": {"Shards": [{"ShardId": "shard-1"}]}}

    def get_shard_iterator(self, StreamArn: str, ShardId: str, ShardIteratorType: str) -> dict[str, Any]:
        return {"ShardIterator": "it:0" if ShardIteratorType == "TRIM_HORIZON" else f"it:{len(self.records)}"}

    def get_records(self, ShardIterator: str, Limit: int) -> dict[str, Any]:
        pos = int(ShardIterator.split(":")[1])
        got = self.records[pos : pos + Limit]
        return {"Records": got, "NextShardIterator": f"it:{pos + len(got)}"}


class FakeSQS:
    def __init__(self) -> None:
        self.sent: list[tuple[str, str]] = []
        self.queue: list[dict[str, Any]] = []
        self.deleted: list[str] = []
        self.visibility: list[tuple[str, int]] = []

    def send_message(self, QueueUrl: str, MessageBody: str) -> None:
        self.sent.append((QueueUrl, MessageBody))

    def receive_message(self, QueueUrl: str, MaxNumberOfMessages: int, **_: Any) -> dict[str, Any]:
        got, self.queue = self.queue[:MaxNumberOfMessages], self.queue[MaxNumberOfMessages:]
        return {"Messages": got}

    def delete_message_batch(self, QueueUrl: str, Entries: list[dict[str, Any]]) -> None:
        self.deleted += [e["ReceiptHandle"] for e in Entries]

    def change_message_visibility_batch(self, QueueUrl: str, Entries: list[dict[str, Any]]) -> None:
        self.visibility += [(e["ReceiptHandle"], e["VisibilityTimeout"]) for e in Entries]

    def get_queue_attributes(self, QueueUrl: str, AttributeNames: list[str]) -> dict[str, Any]:
        return {"Attributes": {"ApproximateNumberOfMessagesDelayed": "0"}}


def _function(props: dict[str, Any], kind: str = "DynamoDB") -> template.Function:
    return template.Function(
        name="Consumer", code_uri=Path("/nonexistent"), handler="app.handler", environment={},
        events={"Source": {"Type": kind, "Properties": props}},
    )  # fmt: skip


STREAM_PROPS = {
    "Stream": {"Fn::GetAtt": ["Table", "StreamArn"]},
    "StartingPosition": "TRIM_HORIZON",
    "BatchSize": 100,
    "MaximumBatchingWindowInSeconds": 1,
    "BisectBatchOnFunctionError": True,
    "MaximumRetryAttempts": 2,
    "FunctionResponseTypes": ["ReportBatchItemFailures"],
    "DestinationConfig": {"OnFailure": {"Destination": {"Fn::GetAtt": ["StreamFailureDLQ", "Arn"]}}},
}


def _runner(props: dict[str, Any], handler: Any, n: int = 5, kind: str = "DynamoDB") -> tuple[EventSources, FakeSQS]:
    sqs = FakeSQS()
    clients = Clients(streams=FakeStreams(n), sqs=sqs, region="us-east-1")
    runner = EventSources(
        [_function(props, kind)], lambda fn, event: handler(event), refs=REFS, clients=clients, retry_backoff=(0, 0)
    )
    return runner, sqs


def _keys(event: dict[str, Any]) -> list[int]:
    return [int(r["dynamodb"]["Keys"]["SK"]["S"].split("#")[1]) for r in event["Records"]]


def test_a_reported_failure_redelivers_from_the_first_failed_record() -> None:
    calls: list[list[int]] = []

    def handler(event: dict[str, Any]) -> dict[str, Any]:
        calls.append(_keys(event))
        if len(calls) == 1:  # record 3 of 5 fails, once
            return {"batchItemFailures": [{"itemIdentifier": event["Records"][2]["dynamodb"]["SequenceNumber"]}]}
        return {"batchItemFailures": []}

    runner, sqs = _runner(STREAM_PROPS, handler)
    runner.run_until_idle(timeout=5, quiet=0.05)
    assert calls == [[1, 2, 3, 4, 5], [3, 4, 5]]
    assert sqs.sent == []
    assert runner.streams[0].shards["shard-1"].checkpoint == "105"


def test_the_lowest_reported_sequence_number_wins_and_a_bad_identifier_fails_the_batch() -> None:
    calls: list[list[int]] = []

    def handler(event: dict[str, Any]) -> dict[str, Any]:
        calls.append(_keys(event))
        seqs = [r["dynamodb"]["SequenceNumber"] for r in event["Records"]]
        if len(calls) == 1:
            return {"batchItemFailures": [{"itemIdentifier": seqs[3]}, {"itemIdentifier": seqs[1]}]}
        if len(calls) == 2:
            return {"batchItemFailures": [{"itemIdentifier": "not-in-batch"}]}
        return {}

    runner, _ = _runner(STREAM_PROPS, handler)
    runner.run_until_idle(timeout=5, quiet=0.05)
    assert calls == [[1, 2, 3, 4, 5], [2, 3, 4, 5], [2, 3, 4, 5]]


def test_an_error_bisects_the_batch_and_keeps_order() -> None:
    calls: list[list[int]] = []

    def handler(event: dict[str, Any]) -> None:
        calls.append(_keys(event))
        if 2 in _keys(event) and sum(2 in c for c in calls) <= 2:
            raise RuntimeError("boom")

    runner, sqs = _runner(STREAM_PROPS, handler, n=4)
    runner.run_until_idle(timeout=5, quiet=0.05)
    assert calls == [[1, 2, 3, 4], [1, 2], [1], [2], [3, 4]]
    assert sqs.sent == []


def test_exhausted_retries_go_to_the_on_failure_queue_and_the_shard_moves_on() -> None:
    calls: list[list[int]] = []

    def handler(event: dict[str, Any]) -> dict[str, Any]:
        calls.append(_keys(event))
        for r in event["Records"]:
            if r["dynamodb"]["Keys"]["SK"]["S"] == "TICKET#2":
                return {"batchItemFailures": [{"itemIdentifier": r["dynamodb"]["SequenceNumber"]}]}
        return {}

    props = {**STREAM_PROPS, "BatchSize": 2}
    runner, sqs = _runner(props, handler, n=4)
    runner.run_until_idle(timeout=5, quiet=0.05)
    # [1,2] fails at 2; [2] is retried MaximumRetryAttempts (2) times, then given up; [3,4] follows.
    assert calls == [[1, 2], [2], [2], [3, 4]]
    ((url, body),) = sqs.sent
    assert url == FAILURE_URL
    failure = json.loads(body)
    assert failure["requestContext"]["condition"] == "RetryAttemptsExhausted"
    assert failure["requestContext"]["approximateInvokeCount"] == 3
    info = failure["DDBStreamBatchInfo"]
    assert (info["startSequenceNumber"], info["endSequenceNumber"], info["batchSize"]) == ("102", "102", 1)
    assert info["shardId"] == "shard-1" and info["streamArn"] == STREAM_ARN
    assert [r["dynamodb"]["SequenceNumber"] for r in failure["records"]] == ["102"]


def test_without_report_batch_item_failures_the_response_is_ignored() -> None:
    calls: list[list[int]] = []

    def handler(event: dict[str, Any]) -> dict[str, Any]:
        calls.append(_keys(event))
        return {"batchItemFailures": [{"itemIdentifier": event["Records"][0]["dynamodb"]["SequenceNumber"]}]}

    props = {k: v for k, v in STREAM_PROPS.items() if k != "FunctionResponseTypes"}
    runner, _ = _runner(props, handler, n=3)
    runner.run_until_idle(timeout=5, quiet=0.05)
    assert calls == [[1, 2, 3]]


def test_filters_apply_before_batching() -> None:
    calls: list[list[int]] = []
    pattern = {"dynamodb": {"Keys": {"SK": {"S": ["TICKET#2", "TICKET#4", "TICKET#5"]}}}}
    props = {**STREAM_PROPS, "BatchSize": 2, "FilterCriteria": {"Filters": [{"Pattern": json.dumps(pattern)}]}}
    runner, _ = _runner(props, lambda event: calls.append(_keys(event)), n=6)
    assert runner.run_until_idle(timeout=5, quiet=0.05) == 3
    assert calls == [[2, 4], [5]]


def test_latest_starts_after_what_is_already_in_the_stream() -> None:
    calls: list[list[int]] = []
    runner, _ = _runner({**STREAM_PROPS, "StartingPosition": "LATEST"}, lambda e: calls.append(_keys(e)))
    assert runner.run_until_idle(timeout=5, quiet=0.05) == 0
    assert calls == []


def _messages(n: int) -> list[dict[str, Any]]:
    return [
        {"MessageId": f"m{i}", "ReceiptHandle": f"rh{i}", "Body": str(i), "MD5OfBody": "", "Attributes": {}}
        for i in range(1, n + 1)
    ]


SQS_PROPS = {
    "Queue": {"Fn::GetAtt": ["Work", "Arn"]},
    "BatchSize": 10,
    "FunctionResponseTypes": ["ReportBatchItemFailures"],
}


def test_sqs_deletes_all_but_the_reported_failures() -> None:
    runner, sqs = _runner(SQS_PROPS, lambda e: {"batchItemFailures": [{"itemIdentifier": "m2"}]}, kind="SQS")
    sqs.queue = _messages(3)
    assert runner.poll_once() == 3
    assert sqs.deleted == ["rh1", "rh3"]
    assert sqs.visibility == []  # left for the queue's visibility timeout, as Lambda does


def test_sqs_deletes_none_when_the_handler_raises() -> None:
    def handler(event: dict[str, Any]) -> None:
        raise RuntimeError("boom")

    runner, sqs = _runner(SQS_PROPS, handler, kind="SQS")
    runner.failed_message_visibility = 0
    sqs.queue = _messages(2)
    assert runner.poll_once() == 2
    assert sqs.deleted == []
    assert sqs.visibility == [("rh1", 0), ("rh2", 0)]


def test_sqs_batches_up_to_batch_size() -> None:
    seen: list[list[str]] = []
    runner, sqs = _runner({**SQS_PROPS, "BatchSize": 2}, lambda e: seen.append([r["body"] for r in e["Records"]]),
                          kind="SQS")  # fmt: skip
    sqs.queue = _messages(5)
    runner.run_until_idle(timeout=5, quiet=0.05)
    assert seen == [["1", "2"], ["3", "4"], ["5"]]
    assert sqs.deleted == [f"rh{i}" for i in range(1, 6)]


# ------------------------------------------------------------------------------------------------ template


def test_queues_are_read_from_the_template() -> None:
    queues = template.queues()
    assert {"WebhookDeliveryQueue", "WebhookDeliveryDLQ", "StreamFailureDLQ"} <= set(queues)
    q = queues["WebhookDeliveryQueue"]
    assert (q.visibility_timeout, q.message_retention_period) == (180, 1209600)
    assert (q.dead_letter_target, q.max_receive_count) == ("WebhookDeliveryDLQ", 5)
    attrs = q.attributes("arn:dlq")
    assert json.loads(attrs["RedrivePolicy"]) == {"deadLetterTargetArn": "arn:dlq", "maxReceiveCount": 5}
    assert attrs["VisibilityTimeout"] == "180"


def test_create_queues_makes_dead_letter_queues_first() -> None:
    class Recorder:
        def __init__(self) -> None:
            self.created: list[tuple[str, dict[str, str]]] = []

        def create_queue(self, QueueName: str, Attributes: dict[str, str]) -> dict[str, str]:
            self.created.append((QueueName, Attributes))
            return {"QueueUrl": f"https://q/{QueueName}"}

        def get_queue_attributes(self, QueueUrl: str, AttributeNames: list[str]) -> dict[str, Any]:
            return {"Attributes": {"QueueArn": "arn:" + QueueUrl.rsplit("/", 1)[1]}}

    rec = Recorder()
    created = template.create_queues(rec, prefix="p-")
    names = [n for n, _ in rec.created]
    assert names.index("p-WebhookDeliveryDLQ") < names.index("p-WebhookDeliveryQueue")
    attrs = dict(rec.created)["p-WebhookDeliveryQueue"]
    assert json.loads(attrs["RedrivePolicy"])["deadLetterTargetArn"] == "arn:p-WebhookDeliveryDLQ"
    assert created["StreamFailureDLQ"].url == "https://q/p-StreamFailureDLQ"


def test_event_sources_are_read_from_the_template() -> None:
    fns = template.functions()
    (fanout,) = fns["FanoutWebhooksFunction"].event_sources
    assert isinstance(fanout, template.DynamoDBStreamSource)
    assert fanout.table == "Table" and fanout.on_failure == "StreamFailureDLQ"
    assert (fanout.batch_size, fanout.starting_position, fanout.maximum_batching_window) == (100, "LATEST", 1.0)
    assert fanout.bisect_on_error and fanout.maximum_retry_attempts == 10 and fanout.report_batch_item_failures
    (deliver,) = fns["DeliverWebhookFunction"].event_sources
    assert isinstance(deliver, template.SQSSource)
    assert (deliver.queue, deliver.batch_size, deliver.report_batch_item_failures) == ("WebhookDeliveryQueue", 10, True)
    assert fns["ListTicketsFunction"].event_sources == []


def test_build_refs_resolves_every_environment_variable() -> None:
    queues = {
        name: template.CreatedQueue(name, f"https://q/{name}", f"arn:aws:sqs:us-east-1:1:{name}")
        for name in template.queues()
    }
    refs = template.build_refs(
        table={"Table": "tbl", "Table.Arn": "arn:tbl", "Table.StreamArn": "arn:stream"},
        queues=queues,
        parameters={"WebhookRetrySchedule": "1,1"},
        buckets={name: f"bucket-{name.lower()}" for name in template.buckets()},
    )
    assert refs["AttachmentsBucket.Arn"] == "arn:aws:s3:::bucket-attachmentsbucket"
    for fn in template.functions().values():
        env = template.resolve_env(fn.environment, refs, strict=True)
        assert env["TABLE_NAME"] == "tbl"
        assert env.get("ATTACHMENTS_BUCKET", "bucket-attachmentsbucket") == "bucket-attachmentsbucket"
        assert env["DELIVERY_QUEUE_URL"] == "https://q/WebhookDeliveryQueue"
        assert env["WEBHOOK_RETRY_SCHEDULE"] == "1,1"
        assert env["ALLOW_PRIVATE_WEBHOOK_TARGETS"] == "false"
    with pytest.raises(KeyError):
        template.parameter_values({"NoSuchParameter": "x"})
    with pytest.raises(KeyError):
        template.resolve_env({"X": {"Ref": "Nope"}}, refs, strict=True)
    assert template.resolve_env({"X": {"Ref": "Nope"}}, refs) == {"X": ""}  # the old, lenient behaviour
    sub = {"Fn::Sub": "arn:${AWS::Partition}:events:${AWS::Region}:${AWS::AccountId}:event-bus/${Table}"}
    assert template.resolve(sub, refs) == "arn:aws:events:us-east-1:123456789012:event-bus/tbl"


def test_the_local_receiver_verifies_standard_webhooks_signatures() -> None:
    from standardwebhooks import Webhook

    from tools.receiver import verify

    secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
    body = b'{"type": "ticket.created"}'
    at = datetime.now(UTC)
    headers = {
        "webhook-id": "evt_1",
        "webhook-timestamp": str(int(at.timestamp())),
        "webhook-signature": Webhook(secret).sign("evt_1", at, body.decode()),
    }
    assert verify(secret, headers, body)
    assert not verify(secret, headers, body + b" ")
    assert not verify(secret, {**headers, "webhook-id": "evt_2"}, body)
