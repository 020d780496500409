"""Run template.yaml's non-HTTP event sources (DynamoDB streams, SQS queues) against moto, as Lambda would.

    runner = EventSources(template.functions(), invoke, refs=refs)   # refs: template.build_refs(...)
    runner.run_until_idle()        # tests: poll synchronously until nothing is left to deliver
    runner.start() ... runner.stop()  # make dev: background threads

Every setting comes from the functions' `Events` (tools.template.event_sources): BatchSize, StartingPosition,
MaximumBatchingWindowInSeconds, BisectBatchOnFunctionError, MaximumRetryAttempts, MaximumRecordAgeInSeconds,
FunctionResponseTypes, DestinationConfig.OnFailure and FilterCriteria. The same code works against moto's server
(boto3 with AWS_ENDPOINT_URL, make dev) and in-process `mock_aws` (tests).

What Lambda does, and so does this:
- DynamoDB streams: one position per (function, shard), like one event source mapping per function. Records are
  filtered with Lambda's event-filtering rules before batching (a record that matches no filter is skipped and
  counts as processed), batched up to BatchSize, and delivered in order, one batch at a time per shard. If the
  handler raises, the batch is retried, split in halves first with BisectBatchOnFunctionError. If it returns
  `{"batchItemFailures": [{"itemIdentifier": <SequenceNumber>}]}` the records before the lowest failed sequence
  number are done and the rest is delivered again. After MaximumRetryAttempts retries (or once a record is older
  than MaximumRecordAgeInSeconds) an invocation record goes to the OnFailure SQS queue and the shard moves on.
- SQS: receive up to BatchSize messages, invoke; on success delete them all; with ReportBatchItemFailures delete
  all but the reported ones; if the handler raises, delete none. Undeleted messages come back after the queue's
  visibility timeout (and go to the dead-letter queue after maxReceiveCount, which moto implements). Batches run
  concurrently on a thread pool, so a slow batch holds up no other. moto honours DelaySeconds itself.

Local differences, on purpose:
- Polling is fast (every `poll_interval`, 0.05 s) and MaximumBatchingWindowInSeconds is capped at
  `max_batching_window` (0.2 s), so a write reaches a webhook receiver in well under a second. With a batching
  window Lambda also waits up to that long; Lambda's own stream polling adds ~0.25 s or more.
- Receives are short polls (WaitTimeSeconds=0): tools/motolock.py runs one moto action at a time, so a long poll
  would stall every other AWS call in the process.
- Retries of a failed stream batch wait `retry_backoff` (exponential, short); Lambda's backoff is longer.
- The OnFailure record has Lambda's shape (requestContext, responseContext, DDBStreamBatchInfo) plus a local
  `records` list with the records themselves (Lambda only gives their sequence numbers).
- Shards are polled one after another by one thread per event source (moto has one shard per stream).
- Schedules (`ScheduleV2`, `Schedule`) run every `schedule_interval` seconds instead of their rate (make dev:
  DEV_SCHEDULE_SECONDS, 5 by default), with a "Scheduled Event" payload; without `schedule_interval` they run only
  when `run_schedules()` is called (tests, which also control the clock). A failed run is logged and not retried,
  as the template's schedules ask (MaximumRetryAttempts 0): the next run starts over.
"""

from __future__ import annotations

import base64
import json
import sys
import threading
import time
import traceback
import uuid
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from tools import iam, template

Invoke = Callable[[template.Function, dict[str, Any]], Any]

POLL_INTERVAL = 0.05
MAX_BATCHING_WINDOW = 0.2  # local cap on MaximumBatchingWindowInSeconds (see the module docstring)
SQS_WORKERS = 8
SHARD_REFRESH_SECONDS = 5.0

# ------------------------------------------------------------------------------------------------ event filtering

_MISSING = object()


def matches(patterns: Iterable[dict[str, Any]], event: dict[str, Any]) -> bool:
    """Lambda event filtering: no patterns match everything; otherwise any one pattern (OR) must match."""
    pats = list(patterns)
    return not pats or any(match_pattern(p, event) for p in pats)


def match_pattern(pattern: dict[str, Any], event: Any) -> bool:
    """One pattern: every key must match (AND); a nested object descends, a list holds alternative matchers."""
    if not isinstance(event, dict):
        event = {}
    for key, sub in pattern.items():
        value = event.get(key, _MISSING)
        if isinstance(sub, dict):
            if value is not _MISSING and not isinstance(value, dict):
                return False
            if not match_pattern(sub, {} if value is _MISSING else value):
                return False
        elif isinstance(sub, list):
            if not any(_match_value(m, value) for m in sub):
                return False
        else:
            raise ValueError(f"filter pattern values must be lists or objects, got {sub!r} for {key!r}")
    return True


def _equal(expected: Any, value: Any) -> bool:
    if isinstance(expected, bool) or isinstance(value, bool):  # true never equals 1
        return isinstance(expected, bool) and isinstance(value, bool) and expected is value
    if isinstance(expected, int | float) and isinstance(value, int | float):
        return float(expected) == float(value)
    return type(expected) is type(value) and expected == value


def _match_value(matcher: Any, value: Any) -> bool:
    if isinstance(matcher, dict) and len(matcher) == 1 and "exists" in matcher:
        return (value is not _MISSING) == bool(matcher["exists"])
    if value is _MISSING:
        return False
    if isinstance(value, list):  # an array matches if any of its elements does
        return any(_match_value(matcher, v) for v in value)
    if not isinstance(matcher, dict):
        return _equal(matcher, value)
    if len(matcher) != 1:
        raise ValueError(f"unsupported filter matcher {matcher!r}")
    ((op, arg),) = matcher.items()
    if op == "prefix":
        return isinstance(value, str) and isinstance(arg, str) and value.startswith(arg)
    if op == "suffix":
        return isinstance(value, str) and isinstance(arg, str) and value.endswith(arg)
    if op == "equals-ignore-case":
        return isinstance(value, str) and isinstance(arg, str) and value.lower() == arg.lower()
    if op == "anything-but":
        if isinstance(arg, dict):
            return not _match_value(arg, value)
        options = arg if isinstance(arg, list) else [arg]
        return not any(_equal(o, value) for o in options)
    if op == "numeric":
        return _numeric(arg, value)
    raise ValueError(f"unsupported filter matcher {op!r}")


_NUMERIC_OPS: dict[str, Callable[[float, float], bool]] = {
    "=": lambda a, b: a == b,
    "<": lambda a, b: a < b,
    "<=": lambda a, b: a <= b,
    ">": lambda a, b: a > b,
    ">=": lambda a, b: a >= b,
}


def _numeric(spec: list[Any], value: Any) -> bool:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return False
    return all(_NUMERIC_OPS[spec[i]](float(value), float(spec[i + 1])) for i in range(0, len(spec), 2))


# ------------------------------------------------------------------------------------------------ event shapes


def _jsonable(value: Any) -> Any:
    """boto3 gives blobs as bytes (Lambda events carry base64) and numbers as Decimal in some shapes."""
    if isinstance(value, bytes | bytearray):
        return base64.b64encode(value).decode()
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_jsonable(v) for v in value]
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    return value


def stream_record(raw: dict[str, Any], stream_arn: str, region: str) -> dict[str, Any]:
    """A dynamodbstreams GetRecords record -> the record Lambda puts in a DynamoDB stream event."""
    src = raw.get("dynamodb") or {}
    dyn: dict[str, Any] = {}
    created = src.get("ApproximateCreationDateTime")
    if isinstance(created, datetime):
        created = created.timestamp()
    if created is not None:
        dyn["ApproximateCreationDateTime"] = int(created)  # Lambda sends whole epoch seconds
    for key in ("Keys", "NewImage", "OldImage"):
        if key in src:
            dyn[key] = _jsonable(src[key])
    for key in ("SequenceNumber", "SizeBytes", "StreamViewType"):
        if key in src:
            dyn[key] = src[key]
    record: dict[str, Any] = {
        "eventID": raw.get("eventID") or uuid.uuid4().hex,
        "eventName": raw["eventName"],
        "eventVersion": "1.1",
        "eventSource": "aws:dynamodb",
        "awsRegion": raw.get("awsRegion") or region,
        "dynamodb": dyn,
        "eventSourceARN": stream_arn,
    }
    if raw.get("userIdentity"):  # TTL deletions
        record["userIdentity"] = raw["userIdentity"]
    return record


def _message_attribute(attr: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {"stringListValues": [], "binaryListValues": [], "dataType": attr.get("DataType")}
    if "StringValue" in attr:
        out["stringValue"] = attr["StringValue"]
    if "BinaryValue" in attr:
        out["binaryValue"] = _jsonable(attr["BinaryValue"])
    return out


def sqs_record(message: dict[str, Any], queue_arn: str, region: str) -> dict[str, Any]:
    """A ReceiveMessage message -> the record Lambda puts in an SQS event."""
    record: dict[str, Any] = {
        "messageId": message["MessageId"],
        "receiptHandle": message["ReceiptHandle"],
        "body": message.get("Body", ""),
        "attributes": dict(message.get("Attributes") or {}),
        "messageAttributes": {k: _message_attribute(v) for k, v in (message.get("MessageAttributes") or {}).items()},
        "md5OfBody": message.get("MD5OfBody"),
        "eventSource": "aws:sqs",
        "eventSourceARN": queue_arn,
        "awsRegion": region,
    }
    if message.get("MD5OfMessageAttributes"):
        record["md5OfMessageAttributes"] = message["MD5OfMessageAttributes"]
    return record


def failed_items(result: Any, ids: list[str]) -> set[int] | None:
    """Indexes (into `ids`) a ReportBatchItemFailures response reports; None when it reports none.

    As Lambda: a null / empty response or list is a success; an itemIdentifier that is empty, null or not in
    the batch, or a malformed response, fails the whole batch.
    """
    if result is None or result == "" or (isinstance(result, dict) and not result.get("batchItemFailures")):
        return None
    everything = set(range(len(ids)))
    if not isinstance(result, dict) or not isinstance(result["batchItemFailures"], list):
        return everything
    index = {item_id: i for i, item_id in enumerate(ids)}
    failed: set[int] = set()
    for item in result["batchItemFailures"]:
        ident = item.get("itemIdentifier") if isinstance(item, dict) else None
        if not ident or ident not in index:
            return everything
        failed.add(index[ident])
    return failed


# ------------------------------------------------------------------------------------------------ the runner


@dataclass
class Clients:
    """The AWS clients the runner polls with (boto3's standard configuration: AWS_ENDPOINT_URL, region...)."""

    streams: Any
    sqs: Any
    region: str

    @classmethod
    def create(cls, region: str | None = None) -> Clients:
        import boto3
        from botocore.config import Config

        session = boto3.session.Session(region_name=region)
        # Account-id endpoints (<account>.streams-ddb...) are not routed by moto's in-process mock.
        config = Config(account_id_endpoint_mode="disabled", max_pool_connections=SQS_WORKERS * 2 + 8)
        return cls(
            streams=session.client("dynamodbstreams", config=config),
            sqs=session.client("sqs", config=config),
            region=session.region_name or "us-east-1",
        )


@dataclass
class _Batch:
    records: list[dict[str, Any]]
    retries: int = 0
    invocations: int = 0
    not_before: float = 0.0


@dataclass
class _Shard:
    shard_id: str
    iterator: str | None
    buffer: deque[dict[str, Any]] = field(default_factory=deque)
    window_started: float | None = None
    pending: deque[_Batch] = field(default_factory=deque)
    checkpoint: str | None = None  # last sequence number done with (delivered, skipped or sent to OnFailure)

    @property
    def busy(self) -> bool:
        return bool(self.buffer or self.pending)


class _StreamConsumer:
    """One DynamoDB stream event source of one function: its own position in every shard."""

    def __init__(self, runner: EventSources, fn: template.Function, source: template.DynamoDBStreamSource) -> None:
        self.runner, self.fn, self.source = runner, fn, source
        self.label = f"{fn.name}.{source.name}"
        self.stream_arn = str(template.resolve(source.stream, runner.refs, strict=True))
        self.on_failure_url = (
            str(template.resolve({"Ref": source.on_failure}, runner.refs, strict=True)) if source.on_failure else None
        )
        self.window = min(source.maximum_batching_window, runner.max_batching_window)
        self.shards: dict[str, _Shard] = {}
        self.lock = threading.Lock()
        self._refreshed = 0.0
        self._refresh(runner.starting_position or source.starting_position)

    def _refresh(self, position: str) -> None:
        """Pick up shards (new ones, after the first call, start at their beginning, as Lambda reads children)."""
        client = self.runner.clients.streams
        desc = client.describe_stream(StreamArn=self.stream_arn)["StreamDescription"]
        for shard in desc.get("Shards") or []:
            sid = shard["ShardId"]
            if sid in self.shards:
                continue
            it = client.get_shard_iterator(StreamArn=self.stream_arn, ShardId=sid, ShardIteratorType=position)
            self.shards[sid] = _Shard(sid, it["ShardIterator"])
        self._refreshed = time.monotonic()

    @property
    def busy(self) -> bool:
        return any(s.busy for s in self.shards.values())

    def poll(self) -> int:
        with self.lock:
            if time.monotonic() - self._refreshed > SHARD_REFRESH_SECONDS:
                self._refresh("TRIM_HORIZON")
            delivered = 0
            for shard in list(self.shards.values()):
                delivered += self._poll_shard(shard)
                if shard.iterator is None and not shard.busy:  # a closed shard, read to its end
                    del self.shards[shard.shard_id]
            return delivered

    def _fetch(self, shard: _Shard) -> None:
        if shard.iterator is None or len(shard.buffer) >= self.source.batch_size:
            return
        resp = self.runner.clients.streams.get_records(ShardIterator=shard.iterator, Limit=1000)
        shard.iterator = resp.get("NextShardIterator")
        for raw in resp.get("Records") or []:
            record = stream_record(raw, self.stream_arn, self.runner.clients.region)
            if not matches(self.source.filters, record):
                if not shard.busy:
                    shard.checkpoint = record["dynamodb"].get("SequenceNumber")
                continue
            if shard.window_started is None:
                shard.window_started = time.monotonic()
            shard.buffer.append(record)

    def _poll_shard(self, shard: _Shard) -> int:
        self._fetch(shard)
        now = time.monotonic()
        if not shard.pending and shard.buffer:
            waited = now - (shard.window_started or now)
            if len(shard.buffer) < self.source.batch_size and waited < self.window:
                return 0
            take = min(self.source.batch_size, len(shard.buffer))
            shard.pending.append(_Batch([shard.buffer.popleft() for _ in range(take)]))
            if not shard.buffer:
                shard.window_started = None
        if not shard.pending or shard.pending[0].not_before > now:
            return 0
        return self._run(shard, shard.pending[0])

    def _expire(self, shard: _Shard, batch: _Batch) -> None:
        """Records older than MaximumRecordAgeInSeconds are dropped to OnFailure, as Lambda does."""
        if self.source.maximum_record_age < 0:
            return
        cutoff = time.time() - self.source.maximum_record_age
        expired = 0
        while expired < len(batch.records) and (
            batch.records[expired]["dynamodb"].get("ApproximateCreationDateTime", cutoff) < cutoff
        ):
            expired += 1
        if expired:
            self._give_up(shard, batch, batch.records[:expired], "RecordAgeExceeded", None)
            batch.records = batch.records[expired:]

    def _run(self, shard: _Shard, batch: _Batch) -> int:
        self._expire(shard, batch)
        if not batch.records:
            shard.pending.popleft()
            return 0
        records = batch.records
        batch.invocations += 1
        error, result, ms = self.runner.call(self.fn, {"Records": records})
        seqs = [r["dynamodb"]["SequenceNumber"] for r in records]
        if error is None and self.source.report_batch_item_failures:
            failed = failed_items(result, seqs)
            first = min(failed) if failed else None
        else:
            first = 0 if error is not None else None
        failures = 0 if first is None else len(records) - first
        self.runner.log_invocation(self.label, "stream", len(records), failures, ms, error, batch.retries)
        if first is None:
            shard.pending.popleft()
            shard.checkpoint = seqs[-1]
            return len(records)
        if first:
            shard.checkpoint = seqs[first - 1]
        rest = records[first:]
        limit = self.source.maximum_retry_attempts
        if 0 <= limit <= batch.retries:
            shard.pending.popleft()
            self._give_up(shard, batch, rest, "RetryAttemptsExhausted", error)
            return len(records)
        retries, not_before = batch.retries + 1, time.monotonic() + self.runner.backoff(batch.retries + 1)
        if error is not None and self.source.bisect_on_error and len(rest) > 1:
            shard.pending.popleft()
            half = len(rest) // 2
            shard.pending.appendleft(_Batch(rest[half:], retries, batch.invocations, not_before))
            shard.pending.appendleft(_Batch(rest[:half], retries, batch.invocations, not_before))
        else:
            batch.records, batch.retries, batch.not_before = rest, retries, not_before
        return len(records)

    def _give_up(
        self, shard: _Shard, batch: _Batch, records: list[dict[str, Any]], condition: str, error: Exception | None
    ) -> None:
        shard.checkpoint = records[-1]["dynamodb"]["SequenceNumber"]
        if not self.on_failure_url:
            self.runner.say(f"{self.label}: {condition}, {len(records)} records dropped (no OnFailure destination)")
            return

        def arrival(rec: dict[str, Any]) -> str:
            ts = rec["dynamodb"].get("ApproximateCreationDateTime") or 0
            return datetime.fromtimestamp(ts, UTC).isoformat().replace("+00:00", "Z")

        region = self.runner.clients.region
        body = {
            "requestContext": {
                "requestId": str(uuid.uuid4()),
                "functionArn": f"arn:aws:lambda:{region}:{self.runner.account_id}:function:{self.fn.name}",
                "condition": condition,
                "approximateInvokeCount": batch.invocations,
            },
            "responseContext": {
                "statusCode": 200,
                "executedVersion": "$LATEST",
                "functionError": "Unhandled" if error is not None else None,
            },
            "version": "1.0",
            "timestamp": datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "DDBStreamBatchInfo": {
                "shardId": shard.shard_id,
                "startSequenceNumber": records[0]["dynamodb"]["SequenceNumber"],
                "endSequenceNumber": records[-1]["dynamodb"]["SequenceNumber"],
                "approximateArrivalOfFirstRecord": arrival(records[0]),
                "approximateArrivalOfLastRecord": arrival(records[-1]),
                "batchSize": len(records),
                "streamArn": self.stream_arn,
            },
            "records": records,  # local extension: Lambda leaves reading them from the stream to you
        }
        with iam.running(self.fn.name):  # Lambda sends it with the function's role: its policy must allow it
            self.runner.clients.sqs.send_message(QueueUrl=self.on_failure_url, MessageBody=json.dumps(body))
        self.runner.say(f"{self.label}: {condition}, {len(records)} records sent to {self.source.on_failure}")


class _QueueConsumer:
    """One SQS event source of one function."""

    def __init__(self, runner: EventSources, fn: template.Function, source: template.SQSSource) -> None:
        self.runner, self.fn, self.source = runner, fn, source
        self.label = f"{fn.name}.{source.name}"
        self.url = str(template.resolve({"Ref": source.queue}, runner.refs, strict=True))
        self.arn = str(template.resolve({"Fn::GetAtt": [source.queue, "Arn"]}, runner.refs, strict=True))
        self.window = min(source.maximum_batching_window, runner.max_batching_window)
        self.in_flight = 0
        self.lock = threading.Lock()

    def _receive(self, count: int) -> list[dict[str, Any]]:
        resp = self.runner.clients.sqs.receive_message(
            QueueUrl=self.url,
            MaxNumberOfMessages=max(1, min(10, count)),
            WaitTimeSeconds=0,  # short polls only: see the module docstring
            MessageSystemAttributeNames=["All"],
            MessageAttributeNames=["All"],
        )
        return list(resp.get("Messages") or [])

    def gather(self) -> list[dict[str, Any]]:
        """Up to BatchSize messages, waiting at most the (capped) batching window once the first has arrived."""
        messages = self._receive(self.source.batch_size)
        if not messages:
            return []
        deadline = time.monotonic() + self.window
        while len(messages) < self.source.batch_size and time.monotonic() < deadline:
            more = self._receive(self.source.batch_size - len(messages))
            if more:
                messages.extend(more)
            else:
                time.sleep(min(self.runner.poll_interval, max(0.0, deadline - time.monotonic())))
        return messages

    def process(self, messages: list[dict[str, Any]]) -> int:
        region = self.runner.clients.region
        records = [sqs_record(m, self.arn, region) for m in messages]
        error, result, ms = self.runner.call(self.fn, {"Records": records})
        ids = [r["messageId"] for r in records]
        if error is not None:
            failed = set(range(len(ids)))
        elif self.source.report_batch_item_failures:
            failed = failed_items(result, ids) or set()
        else:
            failed = set()
        done = [m for i, m in enumerate(messages) if i not in failed]
        sqs = self.runner.clients.sqs
        for start in range(0, len(done), 10):
            chunk = done[start : start + 10]
            entries = [{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(chunk)]
            sqs.delete_message_batch(QueueUrl=self.url, Entries=entries)
        visibility = self.runner.failed_message_visibility
        if failed and visibility is not None:
            kept = [m for i, m in enumerate(messages) if i in failed]
            for start in range(0, len(kept), 10):
                chunk = kept[start : start + 10]
                entries = [
                    {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"], "VisibilityTimeout": int(visibility)}
                    for i, m in enumerate(chunk)
                ]
                sqs.change_message_visibility_batch(QueueUrl=self.url, Entries=entries)
        self.runner.log_invocation(self.label, "sqs", len(records), len(failed), ms, error, None)
        return len(records)

    def delayed(self) -> int:
        attrs = self.runner.clients.sqs.get_queue_attributes(
            QueueUrl=self.url, AttributeNames=["ApproximateNumberOfMessagesDelayed"]
        )["Attributes"]
        return int(attrs.get("ApproximateNumberOfMessagesDelayed", 0))


def scheduled_event(source: template.ScheduleSource, region: str, account_id: str, at: datetime) -> dict[str, Any]:
    """What a schedule hands its function: EventBridge's "Scheduled Event" (Scheduler sends the same shape)."""
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "Scheduled Event",
        "source": "aws.scheduler" if source.event_type == "ScheduleV2" else "aws.events",
        "account": account_id,
        "time": at.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": region,
        "resources": [f"arn:aws:scheduler:{region}:{account_id}:schedule/default/{source.function}-{source.name}"],
        "detail": {},
    }


class EventSources:
    """The template's DynamoDB-stream and SQS event sources for `functions`, delivering through `invoke`.

    log(line) gets one line per invocation (function, records, failures, duration; only failures with
    log_invocations=False), handler tracebacks and OnFailure hand-offs.
    invoke(fn, event) runs the function's handler with a Lambda event and returns its result (or raises).
    refs resolves the sources' references (tools.template.build_refs): "Table.StreamArn", each queue's logical
    id (URL) and "<Queue>.Arn". Stream positions are taken when the runner is made: at each source's
    StartingPosition (LATEST in template.yaml), or at `starting_position` if given (e.g. "TRIM_HORIZON").
    """

    def __init__(
        self,
        functions: Mapping[str, template.Function] | Iterable[template.Function],
        invoke: Invoke,
        *,
        refs: Mapping[str, str],
        clients: Clients | None = None,
        starting_position: str | None = None,
        poll_interval: float = POLL_INTERVAL,
        max_batching_window: float = MAX_BATCHING_WINDOW,
        retry_backoff: tuple[float, float] = (0.05, 1.0),
        failed_message_visibility: int | None = None,
        sqs_workers: int = SQS_WORKERS,
        log: Callable[[str], None] | None = None,
        log_invocations: bool = True,
        account_id: str = "123456789012",
        schedule_interval: float | None = None,
    ) -> None:
        fns = list(functions.values()) if isinstance(functions, Mapping) else list(functions)
        self.invoke = invoke
        self.refs = dict(refs)
        self.clients = clients or Clients.create()
        self.starting_position = starting_position
        self.poll_interval = poll_interval
        self.max_batching_window = max_batching_window
        self.retry_backoff = retry_backoff
        self.failed_message_visibility = failed_message_visibility
        self.sqs_workers = sqs_workers
        self.log = log
        self.log_invocations = log_invocations
        self.account_id = account_id
        self.schedule_interval = schedule_interval
        _bound_moto_shard_iterators()
        self.streams: list[_StreamConsumer] = []
        self.queues: list[_QueueConsumer] = []
        self.schedules: list[tuple[template.Function, template.ScheduleSource]] = []
        for fn in fns:
            for source in fn.event_sources:
                if not source.enabled:
                    continue
                if isinstance(source, template.DynamoDBStreamSource):
                    self.streams.append(_StreamConsumer(self, fn, source))
                elif isinstance(source, template.ScheduleSource):
                    self.schedules.append((fn, source))
                else:
                    self.queues.append(_QueueConsumer(self, fn, source))
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._pool: ThreadPoolExecutor | None = None

    # -------------------------------------------------------------- helpers the consumers use

    def call(self, fn: template.Function, event: dict[str, Any]) -> tuple[Exception | None, Any, float]:
        started = time.monotonic()
        try:
            result, error = self.invoke(fn, event), None
        except Exception as exc:
            result, error = None, exc
            if self.log:
                self.log(f"{fn.name} raised:\n{traceback.format_exc().rstrip()}")
        return error, result, (time.monotonic() - started) * 1000

    def backoff(self, retry: int) -> float:
        base, cap = self.retry_backoff
        return min(cap, base * 2 ** (retry - 1)) if base > 0 else 0.0

    def say(self, line: str) -> None:
        if self.log:
            self.log(line)

    def log_invocation(
        self, label: str, kind: str, count: int, failed: int, ms: float, error: Exception | None, retry: int | None
    ) -> None:
        if not (self.log and (self.log_invocations or error is not None or failed)):
            return
        unit = "record" if kind == "stream" else "message"
        parts = [f"{label} <- {kind}: {count} {unit}{'s' if count != 1 else ''}"]
        if error is not None:
            parts.append(f"raised {type(error).__name__}")
        elif failed:
            parts.append(f"{failed} failed")
        if retry:
            parts.append(f"retry {retry}")
        self.log(", ".join(parts) + f" ({ms:.0f} ms)")

    # -------------------------------------------------------------- synchronous use (tests)

    @property
    def busy(self) -> bool:
        """Records buffered or awaiting a retry, or SQS batches being processed."""
        return any(c.busy for c in self.streams) or any(q.in_flight for q in self.queues)

    def poll_once(self) -> int:
        """One pass over every source, delivering inline; returns how many records and messages were delivered."""
        if self._threads:
            raise RuntimeError("poll_once() while the background pollers run")
        delivered = sum(c.poll() for c in self.streams)
        for q in self.queues:
            messages = q.gather()
            if messages:
                delivered += q.process(messages)
        return delivered

    def run_until_idle(self, timeout: float = 10.0, quiet: float = 0.3, *, include_delayed: bool = True) -> int:
        """poll_once() until nothing was delivered, buffered or (with include_delayed) delayed in a source queue
        for `quiet` seconds; returns the number delivered. Raises TimeoutError if still busy after `timeout` s.

        Messages a handler failed stay invisible for the queue's VisibilityTimeout (unless
        failed_message_visibility is set) and do not count as work left.
        """
        started = time.monotonic()
        last_work = started
        total = 0
        while True:
            n = self.poll_once()
            total += n
            now = time.monotonic()
            if n or self.busy or (include_delayed and any(q.delayed() for q in self.queues)):
                last_work = now
            if now - last_work >= quiet:
                return total
            if now - started >= timeout:
                raise TimeoutError(f"event sources still busy after {timeout} s ({total} delivered)")
            time.sleep(self.poll_interval)

    def run_schedules(self) -> list[tuple[str, Exception | None, Any]]:
        """Run every schedule's function once, now: (function, error, result) each."""
        out = []
        for fn, source in self.schedules:
            out.append((fn.name, *self._run_schedule(fn, source)))
        return out

    def _run_schedule(self, fn: template.Function, source: template.ScheduleSource) -> tuple[Exception | None, Any]:
        region = self.clients.region
        error, result, ms = self.call(fn, scheduled_event(source, region, self.account_id, datetime.now(UTC)))
        if self.log and (self.log_invocations or error is not None):
            outcome = f", raised {type(error).__name__}" if error else ""
            self.log(f"{fn.name} <- schedule {source.expression}{outcome} ({ms:.0f} ms)")
        return error, result

    # -------------------------------------------------------------- background use (make dev)

    def start(self) -> EventSources:
        if self._threads:
            return self
        self._stop.clear()
        self._pool = ThreadPoolExecutor(max_workers=self.sqs_workers, thread_name_prefix="sqs-batch")
        for c in self.streams:
            self._threads.append(threading.Thread(target=self._stream_loop, args=(c,), name=c.label, daemon=True))
        for q in self.queues:
            self._threads.append(threading.Thread(target=self._queue_loop, args=(q,), name=q.label, daemon=True))
        if self.schedule_interval:
            for fn, source in self.schedules:
                self._threads.append(threading.Thread(
                    target=self._schedule_loop, args=(fn, source), name=f"{fn.name}:{source.name}", daemon=True
                ))  # fmt: skip
        for t in self._threads:
            t.start()
        return self

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        for t in self._threads:
            t.join(timeout)
        self._threads = []
        if self._pool:
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None

    def _stream_loop(self, consumer: _StreamConsumer) -> None:
        while not self._stop.is_set():
            try:
                consumer.poll()
            except Exception:
                self.say(f"{consumer.label}: poll failed:\n{traceback.format_exc().rstrip()}")
                self._stop.wait(1.0)
            self._stop.wait(self.poll_interval)

    def _schedule_loop(self, fn: template.Function, source: template.ScheduleSource) -> None:
        assert self.schedule_interval
        while not self._stop.wait(self.schedule_interval):
            self._run_schedule(fn, source)

    def _queue_loop(self, consumer: _QueueConsumer) -> None:
        limit = min(self.sqs_workers, consumer.source.maximum_concurrency or self.sqs_workers)
        slots = threading.Semaphore(limit)
        assert self._pool is not None
        pool = self._pool

        def done(_: Future[int]) -> None:
            with consumer.lock:
                consumer.in_flight -= 1
            slots.release()

        while not self._stop.is_set():
            if not slots.acquire(timeout=self.poll_interval):
                continue  # every worker busy: leave the messages in the queue
            try:
                messages = consumer.gather()
            except Exception:
                slots.release()
                self.say(f"{consumer.label}: receive failed:\n{traceback.format_exc().rstrip()}")
                self._stop.wait(1.0)
                continue
            if not messages:
                slots.release()
                self._stop.wait(self.poll_interval)
                continue
            with consumer.lock:
                consumer.in_flight += 1
            try:
                pool.submit(self._process_logged, consumer, messages).add_done_callback(done)
            except RuntimeError:  # the pool was shut down by stop()
                done(Future())
                return

    def _process_logged(self, consumer: _QueueConsumer, messages: list[dict[str, Any]]) -> int:
        try:
            return consumer.process(messages)
        except Exception:
            self.say(f"{consumer.label}: failed:\n{traceback.format_exc().rstrip()}")
            return 0


def print_log(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


_ITERATORS_KEPT = 1000


def _bound_moto_shard_iterators() -> None:
    """moto keeps every shard iterator it ever issued (each GetRecords issues one): polling 20 times a second
    would grow the process by ~100 MB an hour. Keep the newest _ITERATORS_KEPT, as AWS expires old ones."""
    if "moto" not in sys.modules:
        return
    try:
        from moto.dynamodbstreams import models
    except ImportError:
        return
    backend = models.DynamoDBStreamsBackend
    if getattr(backend.get_records, "_bounded", False):
        return
    original = backend.get_records

    def get_records(self: Any, iterator_arn: str, limit: int) -> Any:
        result = original(self, iterator_arn, limit)
        iterators = self.shard_iterators
        while len(iterators) > _ITERATORS_KEPT:
            iterators.pop(next(iter(iterators)))
        return result

    get_records._bounded = True  # type: ignore[attr-defined]
    backend.get_records = get_records  # type: ignore[method-assign]
