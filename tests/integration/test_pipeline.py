"""The event pipeline in-process: moto, the template's stream and queue consumers run by tools.eventsources, the
real handlers, and a real HTTP receiver on 127.0.0.1. Crashes are injected at the points that matter for
exactly-once fan-out, at-least-once delivery and once-only status events; SSRF rules are checked with
ALLOW_PRIVATE_WEBHOOK_TARGETS=false, which the dev stack cannot do.
"""

from __future__ import annotations

import importlib
import json
import socket
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import boto3
import pytest

from tests.conftest import TABLE, TenantKey, call, items, make_tenant, reset_caches
from tests.e2e.test_webhooks import Receiver
from tickets.integrations import queue
from tools import template
from tools.events import FakeContext
from tools.eventsources import EventSources

FUNCTIONS = template.functions()
FANOUT, HISTORY, STATUS, DELIVER = (
    "FanoutWebhooksFunction",
    "RecordTicketHistoryFunction",
    "PublishStatusEventsFunction",
    "DeliverWebhookFunction",
)
PUBLIC_IP = "93.184.216.34"

Handler = Callable[[dict[str, Any], Any], Any]
Wrapper = Callable[[Handler, dict[str, Any], Any], Any]


@dataclass
class Pipeline:
    ddb: Any
    runner: EventSources
    invocations: dict[str, list[int]] = field(default_factory=lambda: defaultdict(list))  # records per call
    wrappers: dict[str, Wrapper] = field(default_factory=dict)  # fn name -> wrapper(handler, event, context)
    receivers: list[Receiver] = field(default_factory=list)

    def api(self, method: str, path: str, key: str, body: Any = None, query: dict[str, Any] | None = None) -> Any:
        """Invoke the function template.yaml routes (method, path) to, as API Gateway would."""
        return call(method, path, key=key, body=body, query=query, apply_env=False)

    def receiver(self, **kwargs: Any) -> Receiver:
        self.receivers.append(Receiver(**kwargs))
        return self.receivers[-1]

    def subscribe(self, tenant: TenantKey, url: str, receiver: Receiver | None = None) -> dict[str, Any]:
        resp = self.api("POST", "/v1/webhooks", tenant.key, {"url": url, "events": ["*"]})
        assert resp.status == 201, resp.body
        if receiver is not None:
            receiver.secret = resp.json["secret"]
        return resp.json

    def ticket(self, tenant: TenantKey, **fields: Any) -> dict[str, Any]:
        resp = self.api("POST", "/v1/tickets", tenant.key, {"subject": "Printer on fire", **fields})
        assert resp.status == 201, resp.body
        return resp.json

    def patch(self, tenant: TenantKey, ticket_id: str, body: dict[str, Any]) -> dict[str, Any]:
        resp = self.api("PATCH", f"/v1/tickets/{ticket_id}", tenant.key, body)
        assert resp.status == 200, resp.body
        return resp.json

    def run(self) -> None:
        self.runner.run_until_idle(timeout=30, quiet=0.2)

    def stored(self, tenant: TenantKey, kind: str) -> list[dict[str, Any]]:
        return [i for i in items(self.ddb, f"TENANT#{tenant.tenant_id}") if i.get("type") == kind]

    def log(self, tenant: TenantKey, webhook_id: str) -> list[dict[str, Any]]:
        resp = self.api("GET", f"/v1/webhooks/{webhook_id}/deliveries", tenant.key, query={"limit": 100})
        assert resp.status == 200, resp.body
        return resp.json["data"]


@pytest.fixture
def make_pipeline(aws: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    """The template's queues, every function's environment (parameters as given), and a runner for the consumers.

    Streams start at LATEST when the pipeline is made, as a freshly deployed event source mapping would.
    """
    from tickets.logic import status_events

    made: list[Pipeline] = []

    def make(*, allow_private: bool = True, schedule: str = "0,0,0,0,0,0,0") -> Pipeline:
        queues = template.create_queues(boto3.client("sqs", region_name="us-east-1"))
        parameters = {
            "AllowPrivateWebhookTargets": str(allow_private).lower(),
            "WebhookRetrySchedule": schedule,
            "LogLevel": "WARNING",
        }
        refs = template.build_refs(table=template.table_refs(aws, TABLE), queues=queues, parameters=parameters)
        for name in (FANOUT, DELIVER, "CreateTicketFunction"):  # Globals: the same for every function
            for key, val in template.resolve_function_env(FUNCTIONS[name], refs, strict=True).items():
                monkeypatch.setenv(key, val)
        reset_caches()
        status_events.publish_once.cache_clear()  # its idempotency store holds a client and the table name

        def invoke(fn: template.Function, event: dict[str, Any]) -> Any:
            pipeline.invocations[fn.name].append(len(event["Records"]))
            handler = template.load_handler(fn)
            context = FakeContext(fn.name)
            wrapper = pipeline.wrappers.get(fn.name)
            return wrapper(handler, event, context) if wrapper else handler(event, context)

        functions = [FUNCTIONS[n] for n in (FANOUT, HISTORY, STATUS, DELIVER)]
        runner = EventSources(functions, invoke, refs=refs, retry_backoff=(0, 0), failed_message_visibility=0)
        pipeline = Pipeline(aws, runner)
        made.append(pipeline)
        return pipeline

    yield make
    for p in made:
        for r in p.receivers:
            r.close()
    reset_caches()
    status_events.publish_once.cache_clear()


def fail_once_on_call(n: int, real: Callable[..., Any], fired: list[int]) -> Callable[..., Any]:
    """`real`, except that its n-th call raises (once) instead of running."""
    calls = [0]

    def wrapped(*args: Any, **kwargs: Any) -> Any:
        calls[0] += 1
        if calls[0] == n and not fired:
            fired.append(n)
            raise RuntimeError(f"injected crash on call {n}")
        return real(*args, **kwargs)

    return wrapped


# ---------------------------------------------------------------- 1. fan-out crashes: exactly once per endpoint

CRASH_POINTS = {
    "the handler dies after half the batch": None,
    "enqueue fails on its 3rd call": ("tickets.logic.deliveries", "enqueue"),
    "the delivery is recorded but its message not sent": ("tickets.integrations.queue", "send_delivery"),
    "the message is sent but not marked as sent": ("tickets.dal.webhooks", "mark_enqueued"),
}


@pytest.mark.slow  # every crash point
@pytest.mark.parametrize("crash", list(CRASH_POINTS))
def test_given_fanout_crashing_mid_batch_when_the_batch_is_retried_then_every_event_is_delivered_once_per_endpoint(
    make_pipeline: Any, monkeypatch: pytest.MonkeyPatch, crash: str
) -> None:
    pipeline = make_pipeline()
    tenant = make_tenant("FAN")
    first, second = pipeline.receiver(), pipeline.receiver()
    hooks = [pipeline.subscribe(tenant, r.url, r) for r in (first, second)]

    first_sends: Counter[tuple[str, str]] = Counter()  # (endpoint, delivery) -> messages for its first attempt
    real_send = queue.send_delivery

    def counting_send(message: dict[str, Any], delay_seconds: float = 0) -> None:
        real_send(message, delay_seconds)
        if message["attempt"] == 1:
            first_sends[message["webhookId"], message["deliveryId"]] += 1

    monkeypatch.setattr(queue, "send_delivery", counting_send)
    fired: list[int] = []
    target = CRASH_POINTS[crash]
    if target is None:

        def half_then_die(handler: Handler, event: dict[str, Any], context: Any) -> Any:
            if fired:
                return handler(event, context)
            fired.append(1)
            half = len(event["Records"]) // 2
            result = handler({"Records": event["Records"][:half]}, context)
            assert result == {"batchItemFailures": []}
            raise RuntimeError("injected crash: the invocation dies after half of its records")

        pipeline.wrappers[FANOUT] = half_then_die
    else:
        module = importlib.import_module(target[0])
        monkeypatch.setattr(module, target[1], fail_once_on_call(3, getattr(module, target[1]), fired))

    tickets = [pipeline.ticket(tenant) for _ in range(4)]
    pipeline.run()

    assert fired, "the crash was never injected"
    assert len(pipeline.invocations[FANOUT]) >= 2 and pipeline.invocations[FANOUT][0] == 4
    expected = Counter(t["id"] for t in tickets)
    for r in (first, second):
        assert r.verification_failures == 0
        assert {r_.json["data"]["ticket"]["id"] for r_ in r.requests} == set(expected)  # every event arrived
        assert len({r_.webhook_id for r_ in r.requests}) == 4  # ... as exactly 4 distinct events
        if target is None or target[1] != "mark_enqueued":  # sent twice there: at least once, same webhook-id
            assert Counter(r_.json["data"]["ticket"]["id"] for r_ in r.requests) == expected  # no duplicate
    # Whatever the receivers saw, the table has exactly one delivery per (event, endpoint), each delivered once.
    deliveries = pipeline.stored(tenant, "delivery")
    assert Counter(d["webhookId"] for d in deliveries) == {h["id"]: 4 for h in hooks}
    assert len({(d["webhookId"], d["eventId"]) for d in deliveries}) == 8
    assert {(d["state"], d["attempt"]) for d in deliveries} == {("succeeded", 1)}
    assert all(d.get("enqueuedAt") for d in deliveries)
    # A re-run queues nothing for a delivery already queued: one first-attempt message each, except where the
    # crash came between sending and marking it sent (then exactly that one is sent again).
    resent = 1 if target is not None and target[1] == "mark_enqueued" else 0
    assert sorted(first_sends) == sorted((d["webhookId"], d["id"]) for d in deliveries)
    assert sum(first_sends.values()) == 8 + resent, first_sends
    for hook, r in zip(hooks, (first, second), strict=True):
        log = pipeline.log(tenant, hook["id"])
        assert sorted(a["eventId"] for a in log) == sorted({r_.webhook_id for r_ in r.requests})
        assert {(a["attempt"], a["state"], a["responseStatus"]) for a in log} == {(1, "succeeded", 200)}


# ---------------------------------------------------------------- 2. delivery crashes between POST and record


def test_given_delivery_crashing_after_the_post_when_the_message_comes_back_then_the_attempt_is_logged_once(
    make_pipeline: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tickets.dal import webhooks as dal

    pipeline = make_pipeline()
    tenant = make_tenant("DLV")
    receiver = pipeline.receiver()
    hook = pipeline.subscribe(tenant, receiver.url, receiver)
    fired: list[int] = []
    monkeypatch.setattr(dal, "record_attempt", fail_once_on_call(1, dal.record_attempt, fired))

    ticket = pipeline.ticket(tenant)
    pipeline.run()

    assert fired and len(pipeline.invocations[DELIVER]) == 2  # the failed message was delivered again
    # At least once: the receiver saw the event twice, with the same webhook-id and a valid signature each time.
    assert len(receiver.requests) == 2 and receiver.verification_failures == 0
    assert len({r.webhook_id for r in receiver.requests}) == 1
    assert receiver.requests[0].json["data"]["ticket"]["id"] == ticket["id"]
    # ... but the log counts one attempt, and the delivery ended succeeded.
    log = pipeline.log(tenant, hook["id"])
    assert [(a["attempt"], a["state"], a["responseStatus"]) for a in log] == [(1, "succeeded", 200)]
    assert log[0]["eventId"] == receiver.requests[0].webhook_id
    (delivery,) = pipeline.stored(tenant, "delivery")
    assert (delivery["state"], delivery["attempt"]) == ("succeeded", 1)


# ---------------------------------------------------------------- 3. SSRF at registration


@dataclass
class Resolver:
    """What the patched getaddrinfo answers: name -> IPv4 address (change it to rebind a name)."""

    answers: dict[str, str] = field(default_factory=dict)
    asked: list[str] = field(default_factory=list)


@pytest.fixture
def resolver(monkeypatch: pytest.MonkeyPatch) -> Resolver:
    """DNS for the SSRF checks: only the names in `answers` resolve."""
    from tickets.integrations import ssrf

    fake = Resolver()

    def getaddrinfo(host: str, port: Any, *args: Any, **kwargs: Any) -> list[Any]:
        fake.asked.append(host)
        if host not in fake.answers:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (fake.answers[host], int(port)))]

    monkeypatch.setattr(ssrf.socket, "getaddrinfo", getaddrinfo)
    return fake


BLOCKED_URLS = [
    "http://example.com/hook",  # plain http
    "https://127.0.0.1/",
    "https://localhost/",
    "https://10.0.0.1/",
    "https://169.254.169.254/latest",
    "https://[::1]/",
    "https://[::ffff:127.0.0.1]/",
    "https://2130706433/",  # 127.0.0.1 as one decimal number
    "https://0x7f000001/",
    "https://0177.0.0.1/",  # octal
    "https://127.1/",
    "https://224.0.0.1/",
    "https://[fe80::1]/",
    "https://metadata.google.internal/",
    "https://private.example.com/",  # resolves to 10.0.0.5 (below)
]


def test_given_private_targets_not_allowed_when_webhooks_point_inside_then_every_spelling_is_refused(
    make_pipeline: Any, resolver: Resolver
) -> None:
    pipeline = make_pipeline(allow_private=False)
    tenant = make_tenant("SSR")
    resolver.answers["private.example.com"] = "10.0.0.5"
    resolver.answers["public.example.com"] = PUBLIC_IP

    accepted = []
    for url in BLOCKED_URLS:
        resp = pipeline.api("POST", "/v1/webhooks", tenant.key, {"url": url, "events": ["*"]})
        body = resp.json
        if resp.status != 400 or body["code"] != "VALIDATION_ERROR" or [e["field"] for e in body["errors"]] != ["url"]:
            accepted.append((url, resp.status, body))
    assert accepted == []
    assert "private.example.com" in resolver.asked  # refused for its answer, not its name
    # The same rules let a public name through, and nothing refused was stored.
    ok = pipeline.api("POST", "/v1/webhooks", tenant.key, {"url": "https://public.example.com/hook"})
    assert ok.status == 201 and ok.json["url"] == "https://public.example.com/hook"
    assert [w["url"] for w in pipeline.stored(tenant, "webhook")] == ["https://public.example.com/hook"]


# ---------------------------------------------------------------- 4. SSRF at delivery (DNS rebinding)


def test_given_a_name_rebound_to_loopback_after_registration_when_delivering_then_it_is_blocked_without_connecting(
    make_pipeline: Any, resolver: Resolver
) -> None:
    pipeline = make_pipeline(allow_private=False, schedule="0,0")  # 3 attempts
    tenant = make_tenant("REB")
    local = pipeline.receiver()
    port = int(local.url.rsplit(":", 1)[1].split("/")[0])
    resolver.answers["hooks.example.com"] = PUBLIC_IP  # what the name resolved to at registration
    hook = pipeline.subscribe(tenant, f"https://hooks.example.com:{port}/hook", local)

    resolver.answers["hooks.example.com"] = "127.0.0.1"  # ... and what it resolves to when the delivery is made
    resolver.asked.clear()
    pipeline.ticket(tenant)
    pipeline.run()

    assert resolver.asked and set(resolver.asked) == {"hooks.example.com"}  # resolved again at delivery time
    assert local.connections == 0 and local.requests == []
    log = sorted(pipeline.log(tenant, hook["id"]), key=lambda a: a["attempt"])
    assert log, "no attempt was recorded"
    for attempt in log:
        assert attempt["responseStatus"] is None and attempt["error"].startswith("blocked: "), attempt
        assert "127.0.0.1" in attempt["error"] and attempt["state"] != "succeeded"
    (delivery,) = pipeline.stored(tenant, "delivery")
    # Today a blocked attempt is retried like a network error (all 3 attempts); stopping at the first is fine too.
    assert delivery["state"] == "failed" and delivery["attempt"] == len(log) and 1 <= len(log) <= 3


# ---------------------------------------------------------------- 5-6. status events


def _capture_status_events() -> tuple[Any, str]:
    """A rule on the default bus that sends the `tickets` events to an SQS queue; (sqs client, queue url)."""
    sqs = boto3.client("sqs", region_name="us-east-1")
    url = sqs.create_queue(QueueName="captured-status-events")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    events = boto3.client("events", region_name="us-east-1")
    events.put_rule(Name="capture", EventPattern=json.dumps({"source": ["tickets"]}), State="ENABLED")
    events.put_targets(Rule="capture", Targets=[{"Id": "queue", "Arn": arn}])
    return sqs, url


def _drain(sqs: Any, url: str) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    while batch := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", []):
        out.extend(json.loads(m["Body"]) for m in batch)
        sqs.delete_message_batch(
            QueueUrl=url, Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(batch)]
        )
    return out


@pytest.mark.parametrize("rerun", ["twice in a row", "crash after publishing, then the runner retries"])
def test_given_a_status_change_when_its_stream_batch_runs_twice_then_one_eventbridge_event_and_one_history_entry(
    make_pipeline: Any, rerun: str
) -> None:
    pipeline = make_pipeline()
    tenant = make_tenant("STA")
    sqs, captured = _capture_status_events()
    runs: list[Any] = []

    def twice(handler: Handler, event: dict[str, Any], context: Any) -> Any:
        runs.append(handler(event, context))
        if rerun == "twice in a row":
            runs.append(handler(event, context))
        elif len(runs) == 1:
            raise RuntimeError("injected crash after the batch was processed")
        return runs[-1]

    pipeline.wrappers[STATUS] = twice
    ticket = pipeline.ticket(tenant)
    pipeline.patch(tenant, ticket["id"], {"status": "open"})
    pipeline.run()

    assert len(runs) == 2 and runs[-1] == {"batchItemFailures": []}
    published = _drain(sqs, captured)
    assert len(published) == 1, published
    (event,) = published
    assert (event["source"], event["detail-type"]) == ("tickets", "TicketStatusChanged")
    detail = event["detail"]
    assert (detail["previousStatus"], detail["newStatus"]) == ("new", "open")
    assert detail["ticket"]["id"] == ticket["id"] and detail["tenantId"] == tenant.tenant_id
    assert detail["eventId"].startswith("evt_")

    history = pipeline.api("GET", f"/v1/tickets/{ticket['id']}/history", tenant.key).json["data"]
    assert [(h["type"], h["from"], h["to"]) for h in history] == [
        ("created", None, "new"),
        ("status_changed", "new", "open"),
    ]


def test_given_plain_field_patches_when_the_stream_is_read_then_the_status_consumer_is_invoked_only_for_status(
    make_pipeline: Any,
) -> None:
    pipeline = make_pipeline()
    tenant = make_tenant("FLT")
    ticket = pipeline.ticket(tenant)
    pipeline.run()
    assert pipeline.invocations[STATUS] == [] and sum(pipeline.invocations[FANOUT]) == 1

    pipeline.patch(tenant, ticket["id"], {"priority": "high"})
    pipeline.run()
    assert pipeline.invocations[STATUS] == [] and sum(pipeline.invocations[FANOUT]) == 2

    pipeline.patch(tenant, ticket["id"], {"status": "pending"})
    pipeline.run()
    assert pipeline.invocations[STATUS] == [1]

    # After a status change, plain patches still do not reach the status consumer (the marker is cleared).
    pipeline.patch(tenant, ticket["id"], {"priority": "low"})
    pipeline.patch(tenant, ticket["id"], {"subject": "Printer fixed?"})
    pipeline.run()
    assert pipeline.invocations[STATUS] == [1]
    assert sum(pipeline.invocations[FANOUT]) == sum(pipeline.invocations[HISTORY]) == 5
