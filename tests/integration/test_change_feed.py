"""The change feed (GET /v1/events, issue 15) through the real handlers against moto: the template's
RecordChangeFeedFunction fed the table's real stream records, read back through ListEventsFunction.

The safety horizon (tickets.logic.feed.SAFETY_MS, 5 s) is lowered per test so that events show up at once; the
tests about concurrency keep one large enough for moto on a busy machine, and one test shows what goes wrong
without it.
"""

from __future__ import annotations

import itertools
import json
import queue
import random
import sys
import threading
import time
import zlib
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import boto3
import pytest

from tests.conftest import TABLE, ApiResponse, TenantKey, call, items, make_tenant, reset_caches
from tickets.dal import feed as feed_dal
from tickets.dal import keys
from tickets.events import domain_events, event_id
from tickets.logic import cursor as cursors
from tickets.logic import feed
from tickets.models.events import DomainEvent
from tickets.timeutil import from_ms, iso
from tools import template
from tools.ddbcalls import count_calls
from tools.events import FakeContext
from tools.eventsources import Clients, EventSources, matches, stream_record

FUNCTIONS = template.functions()
FEED, FANOUT = "RecordChangeFeedFunction", "FanoutWebhooksFunction"
DAY_S = 86_400
SAFETY_MS = feed.SAFETY_MS  # the real horizon, before any test lowers it


# ------------------------------------------------------------------------------------------------ helpers


@pytest.fixture
def horizon(monkeypatch: pytest.MonkeyPatch) -> Callable[[int], None]:
    """Set the readers' safety horizon (ms) for this test; 0 until a test says otherwise."""

    def set_to(ms: int) -> None:
        monkeypatch.setattr(feed, "SAFETY_MS", ms)

    set_to(0)
    return set_to


@dataclass
class Pipeline:
    ddb: Any
    runner: EventSources
    results: dict[str, list[Any]] = field(default_factory=lambda: defaultdict(list))  # fn -> handler results
    batches: dict[str, list[dict[str, Any]]] = field(default_factory=lambda: defaultdict(list))  # fn -> events

    def run(self) -> None:
        self.runner.run_until_idle(timeout=30, quiet=0.2)


@pytest.fixture
def pipeline(aws: Any, monkeypatch: pytest.MonkeyPatch, horizon: Callable[[int], None]) -> Pipeline:
    """The feed consumer and the webhook fan-out on the table's stream from now on (StartingPosition LATEST), and
    every function's environment (the Globals are the same for all: the template's queues, the signing key)."""
    queues = template.create_queues(boto3.client("sqs", region_name="us-east-1"))
    refs = template.build_refs(table=template.table_refs(aws, TABLE), queues=queues)
    for key, val in template.resolve_function_env(FUNCTIONS["ListEventsFunction"], refs, strict=True).items():
        monkeypatch.setenv(key, val)
    reset_caches()

    def invoke(fn: template.Function, event: dict[str, Any]) -> Any:
        p.batches[fn.name].append(json.loads(json.dumps(event)))
        try:
            result = template.load_handler(fn)(event, FakeContext(fn.name))
        except Exception as exc:  # every record failed: Powertools raises, and Lambda retries the whole batch
            p.results[fn.name].append({"raised": str(exc)})
            raise
        p.results[fn.name].append(result)
        return result

    runner = EventSources([FUNCTIONS[FEED], FUNCTIONS[FANOUT]], invoke, refs=refs, retry_backoff=(0, 0))
    p = Pipeline(aws, runner)
    return p


def api(method: str, path: str, key: str, body: Any = None, query: dict[str, str] | None = None) -> ApiResponse:
    return call(method, path, key=key, body=body, query=query, apply_env=False)


def ok(resp: ApiResponse, status: int = 200) -> Any:
    assert resp.status == status, resp.body
    return resp.json


def page(key: str, **query: str) -> dict[str, Any]:
    return ok(api("GET", "/v1/events", key, query=query))


def walk(key: str, **query: str) -> tuple[list[dict[str, Any]], str]:
    """Every event from where `query` starts to the end of the feed; and the cursor to resume from."""
    events: list[dict[str, Any]] = []
    for _ in range(1000):
        body = page(key, **query)
        assert set(body) == {"data", "nextCursor", "endOfFeed"}, body
        events += body["data"]
        query = {k: v for k, v in query.items() if k not in ("since", "after")} | {"after": body["nextCursor"]}
        if body["endOfFeed"]:
            return events, body["nextCursor"]
    raise AssertionError("the walk never reached the end of the feed")


def problem(resp: ApiResponse, status: int, code: str, field_name: str) -> dict[str, Any]:
    assert resp.status == status, resp.body
    assert resp.headers["content-type"] == "application/problem+json", resp.headers
    body = resp.json
    assert (body["status"], body["code"]) == (status, code), body
    assert [e["field"] for e in body["errors"]] == [field_name], body
    return body


def stored_feed(client: Any, tenant: TenantKey) -> list[dict[str, Any]]:
    return items(client, keys.feed_partition(tenant.tenant_id))


def stored_markers(client: Any, tenant: TenantKey) -> list[dict[str, Any]]:
    return items(client, keys.feed_marker(tenant.tenant_id, "x")["PK"])


def envelope(item: dict[str, Any]) -> dict[str, Any]:
    return json.loads(zlib.decompress(bytes(item["event"])))


def synthetic(tenant: TenantKey, n: int, kind: str = "ticket.updated", start: int = 0) -> list[DomainEvent]:
    """`n` events of one ticket (versions start+1...), as domain_events would make them, without a stream."""
    out = []
    for i in range(start, start + n):
        at_ms = 1_777_111_200_000 + i
        ticket = {"id": "01KQ219W80SYNTHET1C000000", "version": i + 1, "subject": f"v{i + 1}"}
        out.append(
            DomainEvent(
                id=event_id(f"record-{i}", kind, at_ms, i + 1), type=kind, createdAt=iso(from_ms(at_ms)),
                data={"ticket": ticket}, tenantId=tenant.tenant_id,
            )
        )  # fmt: skip
    return out


# ------------------------------------------------------------------------------------------------ what gets in


def test_given_every_kind_of_change_then_each_event_reaches_the_feed_once_as_the_webhook_envelope_in_write_order(
    pipeline: Pipeline, tenant: TenantKey
) -> None:
    k = tenant.key
    hook = ok(api("POST", "/v1/webhooks", k, {"url": "https://93.184.216.34/hook", "events": ["*"]}), 201)
    agent = ok(api("POST", "/v1/agents", k, {"name": "Ann", "email": "ann@example.com", "level": "N1"}), 201)
    t1 = ok(api("POST", "/v1/tickets", k, {"subject": "Printer on fire", "assigneeId": agent["id"]}), 201)
    ok(api("PATCH", f"/v1/tickets/{t1['id']}", k, {"priority": "urgent"}))
    ok(api("PATCH", f"/v1/tickets/{t1['id']}", k, {"status": "in_progress"}))
    t2 = ok(api("POST", "/v1/tickets", k, {"subject": "Toner low"}), 201)
    ok(api("PATCH", f"/v1/tickets/{t2['id']}", k, {"assigneeId": agent["id"]}))
    comment = ok(api("POST", f"/v1/tickets/{t2['id']}/comments", k, {"body": "On it", "visibility": "internal"}), 201)
    assert api("DELETE", f"/v1/tickets/{t1['id']}", k).status == 204
    pipeline.run()

    events, _ = walk(k)

    ids = [e["id"] for e in events]
    assert len(ids) == len(set(ids)) == 10
    assert Counter(e["type"] for e in events) == {
        "ticket.created": 2, "ticket.assigned": 2, "ticket.updated": 3, "ticket.status_changed": 1,
        "comment.created": 1, "ticket.deleted": 1,
    }  # fmt: skip
    of_t1 = [e["type"] for e in events if (e["data"].get("ticket") or {}).get("id") == t1["id"]]
    assert of_t1 == ["ticket.created", "ticket.assigned", "ticket.updated", "ticket.updated",
                     "ticket.status_changed", "ticket.deleted"]  # fmt: skip
    deleted = next(e for e in events if e["type"] == "ticket.deleted")
    assert deleted["data"]["id"] == t1["id"] and deleted["data"]["ticket"]["status"] == "in_progress"
    created = next(e for e in events if e["type"] == "comment.created")
    assert created["data"]["comment"]["id"] == comment["id"] and created["data"]["ticket"]["id"] == t2["id"]
    # The very envelopes the webhooks got: one delivery per event, its payload equal to the feed's event.
    deliveries = [i for i in items(pipeline.ddb, keys.tenant_pk(tenant.tenant_id))
                  if i["SK"].startswith(f"DELIVERY#{hook['id']}#")]  # fmt: skip
    payloads = {d["eventId"]: json.loads(d["payload"]) for d in deliveries}
    assert payloads == {e["id"]: e for e in events}
    assert all(set(e) == {"id", "type", "createdAt", "data"} for e in events)


def test_given_a_written_event_then_its_item_and_marker_expire_after_30_days_and_hold_the_envelope(
    pipeline: Pipeline, tenant: TenantKey
) -> None:
    before = time.time()
    t = ok(api("POST", "/v1/tickets", tenant.key, {"subject": "Card declined"}), 201)
    pipeline.run()
    after = time.time()

    (item,) = stored_feed(pipeline.ddb, tenant)
    (marker,) = stored_markers(pipeline.ddb, tenant)
    written_at, _, eid = item["SK"].partition("#")
    written_s = time.mktime(time.strptime(written_at[:19], "%Y-%m-%dT%H:%M:%S")) - time.timezone
    assert int(before) - 1 <= written_s <= after
    assert int(item["expiresAt"]) == int(marker["expiresAt"]) == int(written_s) + 30 * DAY_S
    assert marker["SK"] == f"FEEDEVT#{eid}" and marker["position"] == item["SK"]
    assert (item["eventId"], item["eventType"]) == (eid, "ticket.created")
    assert envelope(item)["data"]["ticket"]["id"] == t["id"] and envelope(item)["id"] == eid


def test_given_a_stream_batch_delivered_again_then_nothing_is_written_twice(
    pipeline: Pipeline, tenant: TenantKey
) -> None:
    t = ok(api("POST", "/v1/tickets", tenant.key, {"subject": "Printer on fire"}), 201)
    ok(api("PATCH", f"/v1/tickets/{t['id']}", tenant.key, {"status": "open", "priority": "high"}))
    comment = {"body": "Looking", "visibility": "internal"}
    ok(api("POST", f"/v1/tickets/{t['id']}/comments", tenant.key, comment), 201)
    pipeline.run()
    first = sorted(json.dumps(i, sort_keys=True, default=repr) for i in stored_feed(pipeline.ddb, tenant))
    assert len(first) == 4  # created; updated + status_changed; comment.created

    handler = template.load_handler(FUNCTIONS[FEED])
    for batch in pipeline.batches[FEED] * 2:  # Lambda re-runs records after a failure, or a whole batch
        assert handler(batch, FakeContext(FEED)) == {"batchItemFailures": []}

    assert sorted(json.dumps(i, sort_keys=True, default=repr) for i in stored_feed(pipeline.ddb, tenant)) == first
    assert len(stored_markers(pipeline.ddb, tenant)) == 4
    events, _ = walk(tenant.key)
    assert len(events) == len({e["id"] for e in events}) == 4


def test_given_a_write_that_fails_then_the_later_records_of_its_batch_wait_and_one_tickets_order_is_kept(
    pipeline: Pipeline, tenant: TenantKey, monkeypatch: pytest.MonkeyPatch
) -> None:
    real, calls = feed_dal.append, [0]

    def fails_first(*args: Any, **kwargs: Any) -> Any:
        calls[0] += 1
        if calls[0] == 1:
            raise RuntimeError("injected: the first feed write fails")
        return real(*args, **kwargs)

    monkeypatch.setattr(feed_dal, "append", fails_first)
    t = ok(api("POST", "/v1/tickets", tenant.key, {"subject": "Printer on fire"}), 201)
    for priority in ("low", "high", "urgent"):
        ok(api("PATCH", f"/v1/tickets/{t['id']}", tenant.key, {"priority": priority}))
    pipeline.run()

    # The first write failed, and the three records after it failed without writing: the batch failed whole.
    assert len(pipeline.batches[FEED][0]["Records"]) == 4
    raised = pipeline.results[FEED][0]["raised"]
    assert raised.startswith("All records failed processing. 4 individual errors")
    assert raised.count("RuntimeError: injected: the first feed write fails") == 1
    assert raised.count("EarlierRecordFailed: an earlier record of this batch failed") == 3
    assert all(r == {"batchItemFailures": []} for r in pipeline.results[FEED][1:])
    events, _ = walk(tenant.key)
    assert [(e["type"], e["data"]["ticket"]["priority"]) for e in events] == [
        ("ticket.created", "medium"), ("ticket.updated", "low"), ("ticket.updated", "high"),
        ("ticket.updated", "urgent"),
    ]  # fmt: skip


@pytest.mark.parametrize("failure", ["throttled", "timed out after it was applied"])
def test_given_a_write_that_fails_transiently_then_the_writer_tries_again_at_a_new_position_and_writes_it_once(
    aws: Any, tenant: TenantKey, horizon: Callable[[int], None], monkeypatch: pytest.MonkeyPatch, failure: str
) -> None:
    from botocore.exceptions import ClientError, ReadTimeoutError

    real, positions = feed_dal.append, []

    def flaky(tenant_id: str, entries: Any, at: str, expires_at: int) -> Any:
        positions.append(at)
        if len(positions) == 1:
            if failure == "throttled":
                raise ClientError({"Error": {"Code": "ThrottlingException", "Message": "slow down"}}, "Transact")
            real(tenant_id, entries, at, expires_at)  # applied, but the answer never came
            raise ReadTimeoutError(endpoint_url="https://dynamodb.us-east-1.amazonaws.com")
        time.sleep(0.002)
        return real(tenant_id, entries, at, expires_at)

    monkeypatch.setattr(feed_dal, "append", flaky)
    monkeypatch.setattr(feed, "_clock_ms", lambda: time.time_ns() // 1_000_000 + len(positions))
    events = synthetic(tenant, 2)

    assert feed.append(events) == (2 if failure == "throttled" else 0)

    assert len(positions) == 2 and positions[0] != positions[1]
    stored = stored_feed(aws, tenant)
    assert sorted(i["eventId"] for i in stored) == sorted(e.id for e in events)  # once each, at one position
    assert {i["SK"].partition("#")[0] for i in stored} == {positions[0] if failure != "throttled" else positions[1]}


def test_given_an_event_a_newer_version_adds_to_an_old_record_then_only_that_event_is_written(
    aws: Any, tenant: TenantKey, horizon: Callable[[int], None]
) -> None:
    old, new = synthetic(tenant, 1), synthetic(tenant, 1, "ticket.status_changed")
    assert feed.append(old) == 1

    assert feed.append(old + new) == 1  # the record again, with one event more

    assert sorted(i["eventType"] for i in stored_feed(aws, tenant)) == ["ticket.status_changed", "ticket.updated"]


# ------------------------------------------------------------------------------------------------ reading


def test_given_a_walk_one_event_a_page_then_resuming_from_any_cursor_gives_exactly_the_events_after_it(
    pipeline: Pipeline, tenant: TenantKey
) -> None:
    t = ok(api("POST", "/v1/tickets", tenant.key, {"subject": "Printer on fire"}), 201)
    for status in ("open", "pending", "open"):
        ok(api("PATCH", f"/v1/tickets/{t['id']}", tenant.key, {"status": status}))
    pipeline.run()
    everything, end = walk(tenant.key)
    assert len(everything) == 7

    cursors_seen, query = [], {"limit": "1"}
    while True:
        body = page(tenant.key, **query)
        cursors_seen.append(body["nextCursor"])
        query = {"limit": "1", "after": body["nextCursor"]}
        if body["endOfFeed"]:
            break

    for i, cursor in enumerate(cursors_seen):
        rest, _ = walk(tenant.key, after=cursor)
        assert [e["id"] for e in rest] == [e["id"] for e in everything[i + 1 :]], i
    again = page(tenant.key, after=end)
    assert again["data"] == [] and again["endOfFeed"] is True


def test_given_the_end_of_the_feed_when_more_happens_and_the_reader_comes_back_later_then_it_gets_exactly_that(
    pipeline: Pipeline, tenant: TenantKey, horizon: Callable[[int], None]
) -> None:
    horizon(1_000)  # longer than pipeline.run() takes to notice it is done
    t = ok(api("POST", "/v1/tickets", tenant.key, {"subject": "Printer on fire"}), 201)
    pipeline.run()
    time.sleep(1.05)
    seen, cursor = walk(tenant.key)
    assert [e["type"] for e in seen] == ["ticket.created"]

    ok(api("PATCH", f"/v1/tickets/{t['id']}", tenant.key, {"priority": "high"}))
    ok(api("PATCH", f"/v1/tickets/{t['id']}", tenant.key, {"status": "resolved"}))
    pipeline.run()
    early = page(tenant.key, after=cursor)  # within the horizon: not yet, and the cursor has not moved past them
    time.sleep(1.05)  # the pause
    resumed, _ = walk(tenant.key, after=early["nextCursor"])

    assert early["data"] == [] and early["endOfFeed"] is True
    assert [(e["type"], e["data"]["ticket"]["version"]) for e in resumed] == [
        ("ticket.updated", 2), ("ticket.updated", 3), ("ticket.status_changed", 3),
    ]  # fmt: skip


def test_given_types_then_only_those_come_back_any_letter_case(pipeline: Pipeline, tenant: TenantKey) -> None:
    t = ok(api("POST", "/v1/tickets", tenant.key, {"subject": "Printer on fire"}), 201)
    ok(api("PATCH", f"/v1/tickets/{t['id']}", tenant.key, {"status": "open"}))
    assert api("DELETE", f"/v1/tickets/{t['id']}", tenant.key).status == 204
    pipeline.run()

    chosen, _ = walk(tenant.key, types="Ticket.Deleted,ticket.STATUS_changed")
    repeated, _ = walk(tenant.key, types="ticket.created,ticket.created")

    assert [e["type"] for e in chosen] == ["ticket.status_changed", "ticket.deleted"]
    assert [e["type"] for e in repeated] == ["ticket.created"]


def test_given_a_rare_type_behind_many_others_then_each_page_examines_at_most_the_budget_and_carries_a_cursor(
    aws: Any, tenant: TenantKey, horizon: Callable[[int], None], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(feed, "READ_BUDGET", 25)
    for chunk in range(6):
        feed.append(synthetic(tenant, 10, start=chunk * 10))
    (rare,) = synthetic(tenant, 1, "ticket.deleted", start=60)
    feed.append([rare])
    call("GET", "/v1/events", key=tenant.key)  # the key into the auth cache

    pages, query, found = [], {"types": "ticket.deleted"}, []
    while True:
        with count_calls() as calls:
            body = page(tenant.key, **query)
        pages.append((len(body["data"]), body["endOfFeed"], calls.items_read))
        found += body["data"]
        query = {"types": "ticket.deleted", "after": body["nextCursor"]}
        if body["endOfFeed"]:
            break

    assert [e["id"] for e in found] == [rare.id]
    assert all(read <= 25 for _, _, read in pages), pages
    assert [(n, end) for n, end, _ in pages] == [(0, False), (0, False), (1, True)], pages  # 25 + 25 + 11 examined


def test_given_events_larger_than_a_page_holds_then_the_page_is_short_and_the_next_continues_exactly(
    aws: Any, tenant: TenantKey, horizon: Callable[[int], None], monkeypatch: pytest.MonkeyPatch
) -> None:
    events = synthetic(tenant, 5)
    feed.append(events)
    one = len(json.dumps(events[0].model_dump(mode="json"), separators=(",", ":")))
    monkeypatch.setattr(feed, "MAX_PAGE_BYTES", 2 * one + 10)

    first = page(tenant.key, limit="5")
    rest, _ = walk(tenant.key, after=first["nextCursor"])

    assert [e["id"] for e in first["data"]] == [e.id for e in events[:2]] and first["endOfFeed"] is False
    assert [e["id"] for e in rest] == [e.id for e in events[2:]]


def test_given_since_then_the_feed_starts_at_that_time_of_recording(
    aws: Any, tenant: TenantKey, horizon: Callable[[int], None], monkeypatch: pytest.MonkeyPatch
) -> None:
    t0 = time.time_ns() // 1_000_000 - 3_600_000
    written = {}
    for i, minutes in enumerate((0, 10, 20)):
        monkeypatch.setattr(feed, "_clock_ms", lambda m=minutes: t0 + m * 60_000)
        (event,) = synthetic(tenant, 1, start=i)
        feed.append([event])
        written[minutes] = event.id
    monkeypatch.setattr(feed, "_clock_ms", lambda: time.time_ns() // 1_000_000)

    def since(ms: int) -> list[str]:
        return [e["id"] for e in walk(tenant.key, since=iso(from_ms(ms)))[0]]

    assert since(t0 + 10 * 60_000) == [written[10], written[20]]
    assert since(t0 + 10 * 60_000 + 1) == [written[20]]
    assert since(t0 - 40 * DAY_S * 1000) == [written[0], written[10], written[20]]  # before the 30 days kept
    future = page(tenant.key, since=iso(from_ms(t0 + 2 * 3_600_000)))
    assert future["data"] == [] and future["endOfFeed"] is True
    assert page(tenant.key, after=future["nextCursor"])["data"] == []


# ------------------------------------------------------------------------------------------------ refusals


def _cursor_for(tenant: TenantKey, position: str) -> str:
    fp = cursors.fingerprint(tenant.tenant_id, feed._FINGERPRINT)
    return cursors.encode(keys.feed_item(tenant.tenant_id, position), fp)


@pytest.mark.parametrize(
    ("query", "field_name"),
    [
        ({"after": "x", "since": "2026-04-25T10:00:00Z"}, "since"),
        ({"since": "yesterday"}, "since"),
        ({"since": "1777111200"}, "since"),
        ({"types": "ticket.exploded"}, "types"),
        ({"types": "webhook.test"}, "types"),
        ({"types": ","}, "types"),
        ({"limit": "0"}, "limit"),
        ({"limit": "101"}, "limit"),
        ({"limit": "1.0"}, "limit"),
        ({"cursor": "abc"}, "cursor"),
        ({"offset": "10"}, "offset"),
        ({"after": "not-a-cursor"}, "after"),
        ({"after": "A" * 3000}, "after"),
    ],
)
def test_given_bad_parameters_then_400_validation_error_naming_the_field(
    aws: Any, tenant: TenantKey, query: dict[str, str], field_name: str
) -> None:
    problem(call("GET", "/v1/events", key=tenant.key, query=query), 400, "VALIDATION_ERROR", field_name)


def test_given_foreign_or_forged_cursors_then_400_naming_after(aws: Any, tenant: TenantKey, horizon: Any) -> None:
    other = make_tenant("OTH")
    list_fp = cursors.fingerprint(tenant.tenant_id, {})  # a ticket list's, as logic/paging.py binds it
    refused = {
        "a ticket list's cursor": cursors.encode(keys.ticket(tenant.tenant_id, "01KQ219W80DEM0T1CKET000000"), list_fp),
        "another tenant's cursor": page(other.key)["nextCursor"],
        "a position that is no position": _cursor_for(tenant, "TICKET#01KQ219W80DEM0T1CKET000000"),
        "a feed key of another tenant": cursors.encode(
            keys.feed_item(other.tenant_id, "2026-04-25T10:00:00.000Z"),
            cursors.fingerprint(tenant.tenant_id, feed._FINGERPRINT),
        ),
    }
    for name, cursor in refused.items():
        body = problem(call("GET", "/v1/events", key=tenant.key, query={"after": cursor}), 400, "VALIDATION_ERROR",
                       "after")  # fmt: skip
        assert body["errors"][0]["message"] == "invalid or expired cursor", name

    old = _cursor_for(tenant, iso(from_ms(time.time_ns() // 1_000_000 - 31 * DAY_S * 1000)))
    body = problem(call("GET", "/v1/events", key=tenant.key, query={"after": old}), 400, "VALIDATION_ERROR", "after")
    assert "older than the 30 days" in body["errors"][0]["message"]


def test_given_a_key_without_tickets_read_then_403(aws: Any) -> None:
    writer = make_tenant("WRT", scopes=["tickets:write"])
    resp = call("GET", "/v1/events", key=writer.key)
    assert resp.status == 403 and resp.json["code"] == "INSUFFICIENT_SCOPE"


def test_given_two_tenants_then_each_feed_holds_its_own_events_only(
    pipeline: Pipeline, tenant: TenantKey, other_tenant: TenantKey
) -> None:
    mine = ok(api("POST", "/v1/tickets", tenant.key, {"subject": "Mine"}), 201)
    theirs = ok(api("POST", "/v1/tickets", other_tenant.key, {"subject": "Theirs"}), 201)
    pipeline.run()

    assert [e["data"]["ticket"]["id"] for e in walk(tenant.key)[0]] == [mine["id"]]
    assert [e["data"]["ticket"]["id"] for e in walk(other_tenant.key)[0]] == [theirs["id"]]
    cursor = page(tenant.key)["nextCursor"]
    problem(api("GET", "/v1/events", other_tenant.key, query={"after": cursor}), 400, "VALIDATION_ERROR", "after")


# ------------------------------------------------------------------------------------------------ the hard part


@pytest.mark.parametrize(("safety_ms", "missed"), [(0, True), (1_000, False)])
def test_given_a_write_slower_than_the_others_then_the_horizon_keeps_a_reader_from_passing_it(
    aws: Any, tenant: TenantKey, horizon: Callable[[int], None], monkeypatch: pytest.MonkeyPatch,
    safety_ms: int, missed: bool,
) -> None:  # fmt: skip
    """A write takes its position, then is slow to commit; a later write commits first. Without a horizon a reader
    passes the slow one's position before it lands, and never sees it: the failure the horizon exists for."""
    horizon(safety_ms)
    real, gate, taken = feed_dal.append, threading.Event(), threading.Event()

    def held(tenant_id: str, entries: Any, at: str, expires_at: int) -> Any:
        if entries[0].event_id == slow.id:
            taken.set()
            gate.wait(5)
        return real(tenant_id, entries, at, expires_at)

    monkeypatch.setattr(feed_dal, "append", held)
    (slow,), (fast,) = synthetic(tenant, 1), synthetic(tenant, 1, start=1)
    writer = threading.Thread(target=feed.append, args=([slow],))
    writer.start()
    assert taken.wait(5)
    time.sleep(0.01)
    feed.append([fast])
    time.sleep(0.01)
    first = page(tenant.key)  # the slow write is still in flight
    time.sleep(0.2)
    gate.set()
    writer.join(5)
    time.sleep(safety_ms / 1000 + 0.05)
    rest, _ = walk(tenant.key, after=first["nextCursor"])

    seen = [e["id"] for e in first["data"] + rest]
    if missed:
        assert seen == [fast.id], "without a horizon the slow write lands behind the reader"
    else:
        assert first["data"] == [] and seen == [slow.id, fast.id]


def container(fn: template.Function) -> Callable[..., Any]:
    """A fresh import of the function's module, as a new Lambda container has (its own batch processor)."""
    saved = sys.modules.pop(fn.module_name, None)
    try:
        return template.load_handler(fn)
    finally:
        sys.modules.pop(fn.module_name, None)
        if saved is not None:
            sys.modules[fn.module_name] = saved


@dataclass
class Walk:
    events: list[dict[str, Any]] = field(default_factory=list)
    pages: int = 0
    pages_during_writes: int = 0
    events_during_writes: int = 0


@pytest.mark.slow  # about 20 s: 200 writes through the handlers, the stream, four consumers and a reader
def test_given_200_writes_and_four_concurrent_stream_shards_when_a_reader_walks_meanwhile_then_it_sees_every_event_once(
    aws: Any, tenant: TenantKey, horizon: Callable[[int], None], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Four writer threads make 200 ticket writes through the real handlers. A dispatcher reads the table's real
    stream and deals each ticket's records to one of four consumer threads ("shards": in order per ticket, as
    DynamoDB Streams keeps a ticket's records in one shard), each with its own copy of RecordChangeFeedFunction
    (a container), which run it on small batches with random delays, and sometimes deliver a batch twice.
    Meanwhile a reader walks the feed with its cursor.

    The feed writes run truly concurrently. API requests take turns (Powertools keeps the current request on the
    resolver class, process-wide: two at once in one process would read each other's), as tools/devstack.py does.
    """
    horizon(SAFETY_MS)  # the real one: moto on a busy machine can take a second or more for a write
    fn = FUNCTIONS[FEED]
    patterns = fn.event_sources[0].filters
    api_turn = threading.Lock()

    def api(method: str, path: str, key: str, body: Any = None, query: dict[str, str] | None = None) -> ApiResponse:
        with api_turn:
            return call(method, path, key=key, body=body, query=query, apply_env=False)

    rng = random.Random(15)
    slow: list[float] = []  # writes that took longer than the horizon allows: the design's one precondition
    real = feed_dal.append

    def timed(tenant_id: str, entries: Any, at: str, expires_at: int) -> Any:
        try:
            return real(tenant_id, entries, at, expires_at)
        finally:
            took = time.time() - datetime.fromisoformat(at.replace("Z", "+00:00")).timestamp()
            if took * 1000 > feed.SAFETY_MS - feed.CLOCK_ALLOWANCE_MS:
                slow.append(round(took, 2))

    monkeypatch.setattr(feed_dal, "append", timed)

    # the stream, from now on
    streams = Clients.create("us-east-1").streams
    arn = aws.describe_table(TableName=TABLE)["Table"]["LatestStreamArn"]
    (shard,) = streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"]
    iterator = streams.get_shard_iterator(StreamArn=arn, ShardId=shard["ShardId"], ShardIteratorType="LATEST")[
        "ShardIterator"
    ]
    expected: list[str] = []
    shards: list[queue.Queue[dict[str, Any] | None]] = [queue.Queue() for _ in range(4)]
    writing, dispatching = threading.Event(), threading.Event()
    writing.set()
    dispatching.set()
    errors: list[BaseException] = []

    def guarded(target: Callable[[], None]) -> Callable[[], None]:
        def run() -> None:
            try:
                target()
            except BaseException as exc:  # reported by the main thread
                errors.append(exc)

        return run

    def dispatch() -> None:
        nonlocal iterator
        idle_since = None
        while True:
            resp = streams.get_records(ShardIterator=iterator, Limit=100)
            iterator = resp["NextShardIterator"]
            for raw in resp["Records"]:
                record = stream_record(raw, arn, "us-east-1")
                if not matches(patterns, record):
                    continue
                expected.extend(e.id for e in domain_events(record))
                sk = record["dynamodb"]["Keys"]["SK"]["S"]
                ticket = sk.split("#")[1]
                shards[hash(ticket) % len(shards)].put(record)
            if resp["Records"] or writing.is_set():
                idle_since = None
            elif idle_since is None:
                idle_since = time.monotonic()
            elif time.monotonic() - idle_since > 0.5:
                break
            time.sleep(0.01)
        for q in shards:
            q.put(None)

    def consume(q: queue.Queue[dict[str, Any] | None]) -> Callable[[], None]:
        handler = container(fn)

        def run() -> None:
            done = False
            while not done:
                batch = [q.get()]
                while len(batch) < rng.randint(1, 8) and not q.empty():
                    batch.append(q.get())
                if batch[-1] is None:
                    batch.pop()
                    done = True
                if not batch:
                    continue
                time.sleep(rng.uniform(0, 0.05))  # shards lag differently: events land out of their time order
                records: list[dict[str, Any]] = batch
                for _ in range(2 if rng.random() < 0.25 else 1):  # sometimes delivered again
                    result = handler({"Records": records}, FakeContext(FEED))
                    assert result == {"batchItemFailures": []}, result

        return run

    def write(n: int, worker: int) -> Callable[[], None]:
        # The writes span twice the horizon however fast the machine is: on a quiet one 200 writes take less than
        # the horizon, and the reader would see nothing before they end (no walk "while writes happen").
        pace = 2 * feed.SAFETY_MS / 1000 / n

        def run() -> None:
            mine: list[str] = []
            for i in range(n):
                time.sleep(pace)
                if i % 5 == 0:
                    t = ok(api("POST", "/v1/tickets", tenant.key, {"subject": f"w{worker}-{i}"}), 201)
                    mine.append(t["id"])
                    continue
                changes = [
                    {"priority": rng.choice(["low", "high", "urgent"])},
                    {"status": rng.choice(["open", "pending"])},
                    {"tags": [f"t{i}"]},
                ]
                body = changes[i % 3]
                resp = api("PATCH", f"/v1/tickets/{rng.choice(mine)}", tenant.key, body)
                assert resp.status == 200, resp.body

        return run

    result = Walk()
    finished_at: list[float] = []

    def read() -> None:
        cursor: str | None = None
        while True:
            asked = time.time()
            body = ok(api("GET", "/v1/events", tenant.key, query={"after": cursor} if cursor else {}))
            result.pages += 1
            result.events += body["data"]
            if writing.is_set():
                result.pages_during_writes += 1
                result.events_during_writes += len(body["data"])
            cursor = body["nextCursor"]
            if body["endOfFeed"] and finished_at and asked * 1000 - feed.SAFETY_MS > finished_at[0] * 1000 + 50:
                return
            time.sleep(0.02)

    threads = [threading.Thread(target=guarded(dispatch))]
    threads += [threading.Thread(target=guarded(consume(q))) for q in shards]
    writers = [threading.Thread(target=guarded(write(50, w))) for w in range(4)]
    reader = threading.Thread(target=guarded(read))
    for th in [*threads, *writers, reader]:
        th.start()
    for th in writers:
        th.join(120)
    writing.clear()
    for th in threads:
        th.join(120)
    finished_at.append(time.time())  # every feed write has been acknowledged
    reader.join(120)
    assert not errors, errors
    assert not reader.is_alive()

    seen = [e["id"] for e in result.events]
    assert len(expected) >= 200 and len(set(expected)) == len(expected)
    assert len(seen) == len(set(seen)), "an event came twice"
    missed, extra = set(expected) - set(seen), set(seen) - set(expected)
    assert not missed and not extra, f"missed {len(missed)}, extra {len(extra)}; writes slower than allowed: {slow}"
    assert result.pages_during_writes >= 5 and result.events_during_writes > 0, result.pages
    by_ticket: dict[str, list[str]] = defaultdict(list)
    for e in result.events:
        by_ticket[e["data"]["ticket"]["id"]].append(e["id"])
    assert all(ids == sorted(ids) for ids in by_ticket.values()), "one ticket's events out of their write order"
    # The race was real: the feed's order is not the events' own time order.
    created = [e["createdAt"] for e in result.events]
    assert any(a > b for a, b in itertools.pairwise(created))


@pytest.fixture(autouse=True)
def _no_leftover_threads() -> Iterator[None]:
    before = set(threading.enumerate())
    yield
    leftover = [t for t in threading.enumerate() if t not in before and t.is_alive() and not t.daemon]
    assert not leftover, leftover
