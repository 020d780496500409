"""Business metrics through the real handlers: the EMF lines they print (stdout), read back as CloudWatch would.

TicketsCreated by channel, WebhookDeliveries by outcome, EmailsSent, Throttles by source; namespace and
service from template.yaml's Globals. Each test reads what one or more invocations printed and nothing else.
"""

from __future__ import annotations

import json
from collections import Counter, deque
from typing import Any

import pytest

from tests.conftest import call
from tests.integration import test_assignment_emails, test_faults, test_pipeline
from tests.integration.test_assignment_emails import ANN, BOB, assigned, batch, record
from tests.integration.test_assignment_emails import invoke as invoke_email
from tests.integration.test_faults import ATTEMPTS, Faults
from tests.integration.test_pipeline import DELIVER
from tools import localmail, template

# Their fixtures, under their own names: the email consumer's handler, fault injection, the event pipeline.
handler = test_assignment_emails.handler
faults = test_faults.faults
make_pipeline = test_pipeline.make_pipeline

GLOBAL_ENV = template.load()["Globals"]["Function"]["Environment"]["Variables"]
NAMESPACE, SERVICE = GLOBAL_ENV["POWERTOOLS_METRICS_NAMESPACE"], GLOBAL_ENV["POWERTOOLS_SERVICE_NAME"]
NO_MORE = 10_000  # a fault that outlasts every retry


def emitted(out: str) -> Counter[tuple[str, tuple[tuple[str, str], ...]]]:
    """Sum of every EMF metric printed in `out`, by (metric, dimensions other than service)."""
    found: Counter[tuple[str, tuple[tuple[str, str], ...]]] = Counter()
    for line in out.splitlines():
        if '"_aws"' not in line:
            continue
        doc = json.loads(line)
        (directive,) = doc["_aws"]["CloudWatchMetrics"]
        assert directive["Namespace"] == NAMESPACE
        names = [name for group in directive["Dimensions"] for name in group]
        assert doc["service"] == SERVICE and "service" in names
        dimensions = tuple(sorted((name, doc[name]) for name in names if name != "service"))
        for metric in directive["Metrics"]:
            assert metric["Unit"] == "Count", metric
            value = doc[metric["Name"]]
            found[(metric["Name"], dimensions)] += int(sum(value) if isinstance(value, list) else value)
    return found


def m(metric: str, **dimensions: str) -> tuple[str, tuple[tuple[str, str], ...]]:
    return metric, tuple(sorted(dimensions.items()))


# ---------------------------------------------------------------- TicketsCreated


def test_given_tickets_created_on_two_channels_then_each_is_counted_once_under_its_channel(tenant, capsys):
    capsys.readouterr()
    email = call("POST", "/v1/tickets", key=tenant.key, body={"subject": "Mail in", "channel": "email"})
    assert email.status == 201, email.body
    assert emitted(capsys.readouterr().out) == {m("TicketsCreated", channel="email"): 1}

    default = call("POST", "/v1/tickets", key=tenant.key, body={"subject": "No channel given"})
    assert default.status == 201 and default.json["channel"] == "api"
    assert emitted(capsys.readouterr().out) == {m("TicketsCreated", channel="api"): 1}

    listed = call("GET", "/v1/tickets", key=tenant.key)
    assert listed.status == 200 and emitted(capsys.readouterr().out) == {}  # a read counts nothing


def test_given_an_api_create_event_repeated_with_its_dedupe_key_then_only_the_new_ticket_is_counted(tenant, capsys):
    customer = call("POST", "/v1/customers", key=tenant.key, body={"externalId": "crm-9", "name": "Cy"})
    assert customer.status == 201, customer.body
    body = {"customerExternalId": "crm-9", "subject": "Payment failed", "dedupeKey": "pay:1"}
    capsys.readouterr()

    first = call("POST", "/v1/tickets/api-create", key=tenant.key, body=body)
    assert first.status == 201, first.body
    assert emitted(capsys.readouterr().out) == {m("TicketsCreated", channel="api"): 1}

    again = call("POST", "/v1/tickets/api-create", key=tenant.key, body=body)
    assert again.status == 200 and again.json["id"] == first.json["id"] and again.json["occurrences"] == 2
    assert emitted(capsys.readouterr().out) == {}  # deduplicated: no ticket was created


# ---------------------------------------------------------------- Throttles


def test_given_dynamodb_throttling_outlasting_the_retries_then_the_503_is_counted_and_no_ticket(
    tenant, faults: Faults, capsys
):
    rule = faults.add("dynamodb", "TransactWriteItems", times=NO_MORE)
    capsys.readouterr()

    resp = call("POST", "/v1/tickets", key=tenant.key, body={"subject": "Busy", "channel": "web"})

    assert resp.status == 503 and resp.json["code"] == "SERVICE_UNAVAILABLE" and rule.fired >= ATTEMPTS
    assert emitted(capsys.readouterr().out) == {m("Throttles", source="api"): 1}


def test_given_one_ticket_of_a_bulk_change_throttled_then_that_item_is_counted_as_a_throttle(
    tenant, faults: Faults, capsys
):
    ids = [call("POST", "/v1/tickets", key=tenant.key, body={"subject": f"B{i}"}).json["id"] for i in range(3)]
    victim = ids[1]

    def victims_write(body: dict[str, Any]) -> bool:
        puts = [i["Put"]["Item"] for i in body.get("TransactItems", []) if "Put" in i]
        return any(p.get("id", {}).get("S") == victim for p in puts)

    faults.add("dynamodb", "TransactWriteItems", times=NO_MORE, when=victims_write)
    capsys.readouterr()

    resp = call("POST", "/v1/tickets/bulk/status", key=tenant.key, body={"ids": ids, "status": "pending"})

    assert resp.status == 200 and (resp.json["succeeded"], resp.json["failed"]) == (2, 1)
    assert [r["status"] for r in resp.json["results"]] == [200, 503, 200]
    assert emitted(capsys.readouterr().out) == {m("Throttles", source="api"): 1}


# ---------------------------------------------------------------- EmailsSent (and a consumer's throttled record)


def test_given_an_assignment_email_sent_then_counted_once_and_not_again_when_the_stream_redelivers(handler, capsys):
    event = batch(record(assigned(ANN, 2), assigned(None, 1), "100"))
    capsys.readouterr()

    assert invoke_email(handler, event)["batchItemFailures"] == []
    assert len(localmail.sent_emails()) == 1
    assert emitted(capsys.readouterr().out) == {m("EmailsSent"): 1}

    assert invoke_email(handler, event)["batchItemFailures"] == []  # the same record again
    assert len(localmail.sent_emails()) == 1
    assert emitted(capsys.readouterr().out) == {}


def test_given_ses_throttling_a_record_then_a_consumer_throttle_is_counted_and_the_retry_counts_the_email(
    handler, faults: Faults, capsys
):
    faults.add("sesv2", "SendEmail", times=ATTEMPTS)  # every attempt of the first call
    first, second = (
        record(assigned(ANN, 2), assigned(None, 1), "100"),
        record(assigned(BOB, 3), assigned(ANN, 2), "200"),
    )
    capsys.readouterr()

    result = invoke_email(handler, batch(first, second))
    assert [f["itemIdentifier"] for f in result["batchItemFailures"]] == ["100"]
    assert emitted(capsys.readouterr().out) == {m("Throttles", source="consumer"): 1, m("EmailsSent"): 1}

    assert invoke_email(handler, batch(first, second))["batchItemFailures"] == []
    assert emitted(capsys.readouterr().out) == {m("EmailsSent"): 1}  # Bob's email is not sent twice
    assert sorted(e["to"][0] for e in localmail.sent_emails()) == ["ann@example.com", "bob@example.com"]


# ---------------------------------------------------------------- WebhookDeliveries


def _deliveries(out: str) -> dict[str, int]:
    return {dict(dims)["outcome"]: n for (metric, dims), n in emitted(out).items() if metric == "WebhookDeliveries"}


def test_given_a_receiver_failing_once_then_one_retry_scheduled_and_one_success_are_counted(
    make_pipeline, tenant, capsys
):
    pipeline = make_pipeline()
    receiver = pipeline.receiver(answers=deque([500]))
    pipeline.subscribe(tenant, receiver.url, receiver)
    pipeline.ticket(tenant)
    capsys.readouterr()

    pipeline.run()

    assert len(receiver.requests) == 2
    assert _deliveries(capsys.readouterr().out) == {"retry_scheduled": 1, "succeeded": 1}


def test_given_a_receiver_failing_every_attempt_then_retries_and_one_final_failure_are_counted(
    make_pipeline, tenant, capsys
):
    pipeline = make_pipeline(schedule="0,0")  # 3 attempts
    receiver = pipeline.receiver(default=500)
    pipeline.subscribe(tenant, receiver.url, receiver)
    pipeline.ticket(tenant)
    capsys.readouterr()

    pipeline.run()

    assert len(receiver.requests) == 3
    assert _deliveries(capsys.readouterr().out) == {"retry_scheduled": 2, "failed": 1}


def test_given_an_endpoint_disabled_before_its_delivery_then_the_attempt_is_counted_as_endpoint_disabled(
    make_pipeline, tenant, capsys
):
    pipeline = make_pipeline()
    receiver = pipeline.receiver()
    hook = pipeline.subscribe(tenant, receiver.url, receiver)
    pipeline.ticket(tenant)

    def disable_first(handler: Any, event: dict[str, Any], context: Any) -> Any:
        off = pipeline.api("PATCH", f"/v1/webhooks/{hook['id']}", tenant.key, {"enabled": False})
        assert off.status == 200, off.body
        return handler(event, context)

    pipeline.wrappers[DELIVER] = disable_first
    capsys.readouterr()

    pipeline.run()

    assert receiver.requests == []
    assert _deliveries(capsys.readouterr().out) == {"endpoint_disabled": 1}


@pytest.mark.parametrize(
    ("state", "enabled", "outcome"),
    [
        ("succeeded", True, "succeeded"),
        ("pending", True, "retry_scheduled"),
        ("failed", True, "failed"),
        ("failed", False, "endpoint_disabled"),
    ],
)
def test_given_a_recorded_attempt_then_its_outcome_is_named_for_the_metric(state, enabled, outcome):
    from tickets.logic.deliveries import attempt_outcome

    assert attempt_outcome(state, endpoint_enabled=enabled) == outcome
