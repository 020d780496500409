"""Bulk routes (bulk/status, bulk/priority, bulk/delete, batch, solve-unfinished, unlink-customer) through the real
handlers against moto, written against the contract in ../shared/API.md ("Bulk results"):

- every bulk route answers 200 {"results": [{id, status, error?}], "succeeded", "failed"}, one result per distinct
  id in first-occurrence order; a missing or another tenant's id is 404 NOT_FOUND, a closed ticket 409
  TICKET_CLOSED (bulk/delete deletes it: 200), an unknown assignee 400 INVALID_ASSIGNEE, per item;
- counters (list totals, per-status totals, agents' openTickets, customers' ticket counts) stay exact;
- every changed ticket makes the normal stream events (webhooks, history, assignment emails), once each;
- each item's write is conditional on the ticket's version, so a racing PATCH of another field is never lost;
- Idempotency-Key replays; tickets are read with one BatchGetItem per 100 ids and written one transaction each.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any

import boto3
import pytest

from tests.conftest import TABLE, ApiResponse, TenantKey, call, items, make_tenant, reset_caches
from tools import localmail, template
from tools.ddbcalls import count_calls
from tools.events import FakeContext
from tools.eventsources import EventSources

REPLAYED = "idempotent-replayed"
UNFINISHED = ("new", "open", "in_progress", "pending", "on_hold")


# ---------------------------------------------------------------- helpers


def _ticket(key: str, **fields: Any) -> dict[str, Any]:
    r = call("POST", "/v1/tickets", key=key, body={"subject": "Printer on fire", **fields})
    assert r.status == 201, r.body
    return r.json


def _tickets(key: str, n: int, **fields: Any) -> list[dict[str, Any]]:
    return [_ticket(key, subject=f"ticket {i}", **fields) for i in range(n)]


def _closed(key: str, **fields: Any) -> dict[str, Any]:
    t = _ticket(key, **fields)
    r = call("PATCH", f"/v1/tickets/{t['id']}", key=key, body={"status": "closed"})
    assert r.status == 200 and r.json["status"] == "closed", r.body
    return r.json


def _get(key: str, ticket_id: str) -> ApiResponse:
    return call("GET", f"/v1/tickets/{ticket_id}", key=key)


def _total(key: str, **query: str) -> int:
    r = call("GET", "/v1/tickets", key=key, query={"limit": "100", **query})  # a page that sees every match
    assert r.status == 200, r.body
    assert r.json["totalExact"] is True, r.json
    return r.json["total"]


def _all(key: str, **query: str) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    cursor = None
    while True:
        q = {"limit": "100", **query, **({"cursor": cursor} if cursor else {})}
        r = call("GET", "/v1/tickets", key=key, query=q)
        assert r.status == 200, r.body
        out += r.json["data"]
        cursor = r.json["nextCursor"]
        if not cursor:
            return out


def _agent(key: str, name: str = "Ann") -> dict[str, Any]:
    body = {"name": name, "email": f"{name.lower()}@example.com", "level": "N2", "available": True}
    r = call("POST", "/v1/agents", key=key, body=body)
    assert r.status == 201, r.body
    return r.json


def _open_tickets(key: str, agent_id: str) -> int:
    r = call("GET", f"/v1/agents/{agent_id}", key=key)
    assert r.status == 200, r.body
    return r.json["openTickets"]


def _customer(key: str, external_id: str = "cus_1") -> dict[str, Any]:
    body = {"externalId": external_id, "name": "Bob", "email": "bob@example.com"}
    r = call("POST", "/v1/customers", key=key, body=body)
    assert r.status == 201, r.body
    return r.json


def _missing_id() -> str:
    """A well-formed ULID that no ticket has."""
    from tickets import ids

    return ids.new_id()


def _post(key: str, path: str, body: Any, headers: dict[str, str] | None = None) -> ApiResponse:
    return call("POST", path, key=key, body=body, headers=headers)


def _bulk(key: str, path: str, body: Any, headers: dict[str, str] | None = None) -> dict[str, Any]:
    r = _post(key, path, body, headers)
    assert r.status == 200, r.body
    return r.json


def _outcomes(result: dict[str, Any]) -> list[tuple[str, int, str | None]]:
    """(id, status, error code) per result, in the order given; a 200 must carry no error."""
    out = []
    for item in result["results"]:
        error = item.get("error")
        if item["status"] == 200:
            assert not error, item
        else:
            assert error and error["code"] and "detail" in error, item
        out.append((item["id"], item["status"], error["code"] if error else None))
    return out


def _raw(aws: Any, tenant: TenantKey) -> list[dict[str, Any]]:
    return sorted(items(aws, f"TENANT#{tenant.tenant_id}"), key=lambda i: i["SK"])


def _raw_ticket(aws: Any, tenant: TenantKey, ticket_id: str) -> dict[str, Any]:
    return next(i for i in items(aws, f"TENANT#{tenant.tenant_id}") if i["SK"] == f"TICKET#{ticket_id}")


# One change per route, what a changed ticket then looks like, and the list filter that finds it.
ROUTES: dict[str, dict[str, Any]] = {
    "bulk/status": {
        "path": "/v1/tickets/bulk/status",
        "scope": "tickets:status",
        "body": lambda ids: {"ids": ids, "status": "In_Progress"},
        "changed": lambda t: t["status"] == "in_progress",
        "filter": {"status": "in_progress"},
    },
    "bulk/priority": {
        "path": "/v1/tickets/bulk/priority",
        "scope": "tickets:write",
        "body": lambda ids: {"ids": ids, "priority": "URGENT"},
        "changed": lambda t: t["priority"] == "urgent",
        "filter": {"priority": "urgent"},
    },
    "batch": {
        "path": "/v1/tickets/batch",
        "scope": "tickets:bulk",
        "body": lambda ids: {
            "ids": ids,
            "actions": [{"type": "set_status", "value": "PENDING"}, {"type": "add_tags", "value": ["vip"]}],
        },
        "changed": lambda t: t["status"] == "pending" and t["tags"] == ["vip"],
        "filter": {"status": "pending", "tag": "vip"},
    },
    "bulk/delete": {
        "path": "/v1/tickets/bulk/delete",
        "scope": "tickets:delete",
        "body": lambda ids: {"ids": ids},
        "changed": None,  # gone: GET is 404
        "filter": None,
    },
}


# ---------------------------------------------------------------- 1. mixed batches: per-item outcomes


@pytest.mark.parametrize("route", list(ROUTES))
def test_given_valid_missing_closed_duplicate_and_foreign_ids_when_bulk_then_each_id_gets_its_own_outcome(
    aws: Any, tenant: TenantKey, other_tenant: TenantKey, route: str
) -> None:
    spec = ROUTES[route]
    v1, v2, v3 = _tickets(tenant.key, 3)
    closed = _closed(tenant.key)
    theirs = _ticket(other_tenant.key)
    missing = _missing_id()
    their_items_before = _raw(aws, other_tenant)
    closed_before = _raw_ticket(aws, tenant, closed["id"])

    ids = [v1["id"], missing, closed["id"], v2["id"], v1["id"], theirs["id"], missing, v3["id"], v2["id"]]
    result = _bulk(tenant.key, spec["path"], spec["body"](ids))

    deleting = route == "bulk/delete"
    closed_outcome = (closed["id"], 200, None) if deleting else (closed["id"], 409, "TICKET_CLOSED")
    assert _outcomes(result) == [
        (v1["id"], 200, None),
        (missing, 404, "NOT_FOUND"),
        closed_outcome,
        (v2["id"], 200, None),
        (theirs["id"], 404, "NOT_FOUND"),
        (v3["id"], 200, None),
    ]
    assert (result["succeeded"], result["failed"]) == ((4, 2) if deleting else (3, 3))

    # The other tenant's ticket (and everything else of theirs) is byte for byte what it was.
    assert _raw(aws, other_tenant) == their_items_before
    assert _get(other_tenant.key, theirs["id"]).json == theirs
    assert _total(other_tenant.key) == 1

    if deleting:
        for t in (v1, v2, v3, closed):
            assert _get(tenant.key, t["id"]).status == 404
        assert _total(tenant.key) == 0
        for status in ("new", "closed"):
            assert _total(tenant.key, status=status) == 0
        return
    for t in (v1, v2, v3):
        now = _get(tenant.key, t["id"])
        assert spec["changed"](now.json), now.json
        assert now.json["version"] == t["version"] + 1  # changed once, although listed twice
        assert now.headers["etag"] == f'"{now.json["version"]}"'
    assert _raw_ticket(aws, tenant, closed["id"]) == closed_before
    assert _total(tenant.key) == 4
    assert _total(tenant.key, **spec["filter"]) == 3
    assert _total(tenant.key, status="closed") == 1
    if "status" in spec["filter"]:
        assert _total(tenant.key, status="new") == 0
    else:
        assert _total(tenant.key, status="new") == 3


def test_given_only_missing_and_foreign_ids_when_bulk_status_then_200_with_nothing_succeeded(
    aws: Any, tenant: TenantKey, other_tenant: TenantKey
) -> None:
    theirs = _ticket(other_tenant.key)
    missing = _missing_id()
    result = _bulk(tenant.key, "/v1/tickets/bulk/status", {"ids": [missing, theirs["id"]], "status": "open"})
    assert _outcomes(result) == [(missing, 404, "NOT_FOUND"), (theirs["id"], 404, "NOT_FOUND")]
    assert (result["succeeded"], result["failed"]) == (0, 2)
    assert _get(other_tenant.key, theirs["id"]).json["status"] == "new"


def test_given_an_unknown_or_foreign_agent_when_batch_assigns_then_each_item_is_400_invalid_assignee(
    aws: Any, tenant: TenantKey, other_tenant: TenantKey
) -> None:
    tickets = _tickets(tenant.key, 2)
    closed = _closed(tenant.key)
    theirs = _agent(other_tenant.key, "Zed")
    for agent_id in (_missing_id(), theirs["id"]):
        ids = [t["id"] for t in tickets] + [closed["id"], _missing_id()]
        body = {
            "ids": ids,
            "actions": [{"type": "assign", "value": agent_id}, {"type": "set_priority", "value": "low"}],
        }
        result = _bulk(tenant.key, "/v1/tickets/batch", body)
        outcomes = _outcomes(result)
        assert outcomes[:2] == [(t["id"], 400, "INVALID_ASSIGNEE") for t in tickets]
        assert outcomes[2][:2] in {(closed["id"], 409), (closed["id"], 400)}  # either refusal is fair for it
        assert outcomes[3] == (ids[3], 404, "NOT_FOUND")
        assert (result["succeeded"], result["failed"]) == (0, 4)
    for t in tickets:  # nothing of the batch applied: the actions of one item stand or fall together
        now = _get(tenant.key, t["id"]).json
        assert (now["assigneeId"], now["priority"], now["version"]) == (None, "medium", 1)
    assert _open_tickets(other_tenant.key, theirs["id"]) == 0


# ---------------------------------------------------------------- 2. batch actions on 100 tickets


@pytest.mark.slow  # 100 tickets or more
def test_given_100_tickets_when_a_batch_sets_five_fields_then_every_change_applies_and_counts_are_exact(
    aws: Any, tenant: TenantKey
) -> None:
    ann = _agent(tenant.key, "Ann")
    tickets = _tickets(tenant.key, 100, tags=["billing"])
    ids = [t["id"] for t in tickets]
    actions = [
        {"type": "set_status", "value": "in_progress"},
        {"type": "set_priority", "value": "urgent"},
        {"type": "assign", "value": ann["id"]},
        {"type": "add_tags", "value": ["vip"]},
        {"type": "set_category", "value": "billing"},
    ]
    started = time.perf_counter()
    result = _bulk(tenant.key, "/v1/tickets/batch", {"ids": ids, "actions": actions})
    print(f"\nbatch of 5 actions on 100 tickets: {time.perf_counter() - started:.2f} s")
    assert _outcomes(result) == [(i, 200, None) for i in ids]
    assert (result["succeeded"], result["failed"]) == (100, 0)

    listed = {t["id"]: t for t in _all(tenant.key)}
    assert set(listed) == set(ids)
    for t in listed.values():
        assert (t["status"], t["priority"], t["assigneeId"], t["category"]) == (
            "in_progress",
            "urgent",
            ann["id"],
            "billing",
        ), t
        assert t["assignee"] == {"id": ann["id"], "name": "Ann", "email": "ann@example.com"}
        assert t["tags"] == ["billing", "vip"] and t["version"] == 2  # every action in one write
    assert _total(tenant.key) == 100
    assert _total(tenant.key, status="in_progress") == 100
    assert _total(tenant.key, status="new") == 0
    assert _total(tenant.key, priority="urgent") == 100
    assert _total(tenant.key, assigneeId=ann["id"]) == 100
    assert _total(tenant.key, tag="vip") == 100
    assert _total(tenant.key, category="billing") == 100
    assert _open_tickets(tenant.key, ann["id"]) == 100

    undo = [{"type": "remove_tags", "value": ["vip"]}, {"type": "unassign"}]
    result = _bulk(tenant.key, "/v1/tickets/batch", {"ids": ids, "actions": undo})
    assert (result["succeeded"], result["failed"]) == (100, 0)
    assert _open_tickets(tenant.key, ann["id"]) == 0
    assert _total(tenant.key, tag="vip") == 0
    assert _total(tenant.key, assigneeId="none") == 100
    assert _total(tenant.key, tag="billing") == 100
    for t in _all(tenant.key):
        assert (t["assigneeId"], t["assignee"], t["tags"], t["status"]) == (None, None, ["billing"], "in_progress")
        assert t["version"] == 3
    # An unassigned, resolved-then-reassigned ticket does not count towards openTickets.
    _bulk(tenant.key, "/v1/tickets/bulk/status", {"ids": ids[:10], "status": "resolved"})
    _bulk(tenant.key, "/v1/tickets/batch", {"ids": ids[:20], "actions": [{"type": "assign", "value": ann["id"]}]})
    assert _open_tickets(tenant.key, ann["id"]) == 10
    assert (_total(tenant.key, status="resolved"), _total(tenant.key, status="in_progress")) == (10, 90)


def test_given_set_category_null_and_unassign_with_null_value_then_both_clear(aws: Any, tenant: TenantKey) -> None:
    ann = _agent(tenant.key, "Ann")
    t = _ticket(tenant.key, category="billing", assigneeId=ann["id"])
    actions = [{"type": "set_category", "value": None}, {"type": "unassign", "value": None}]
    result = _bulk(tenant.key, "/v1/tickets/batch", {"ids": [t["id"]], "actions": actions})
    assert _outcomes(result) == [(t["id"], 200, None)]
    now = _get(tenant.key, t["id"]).json
    assert (now["category"], now["assigneeId"], now["assignee"]) == (None, None, None)
    assert _open_tickets(tenant.key, ann["id"]) == 0


# ---------------------------------------------------------------- 2b. the same through the event pipeline

FANOUT, HISTORY, STATUS, DELIVER, EMAIL = (
    "FanoutWebhooksFunction",
    "RecordTicketHistoryFunction",
    "PublishStatusEventsFunction",
    "DeliverWebhookFunction",
    "SendAssignmentEmailFunction",
)
# The webhook part runs on 30 tickets, not 100: each event is a moto stream record, an SQS message and an HTTP
# delivery, and 100 tickets (500 events) took over 120 s in moto. The 100-ticket batch itself is tested above.
PIPELINE_TICKETS = 30


def _clear_consumer_stores() -> None:
    """Forget the once-per-event idempotency stores of the consumers (they hold a client and the table name)."""
    from tickets.logic import assignment_emails, status_events

    status_events.publish_once.cache_clear()
    assignment_emails.send_once.cache_clear()


class Pipeline:
    """The template's stream and queue consumers (incl. assignment emails) run in-process by EventSources."""

    def __init__(self, aws: Any, monkeypatch: pytest.MonkeyPatch) -> None:
        functions = template.functions()
        queues = template.create_queues(boto3.client("sqs", region_name="us-east-1"))
        parameters = {
            "AllowPrivateWebhookTargets": "true",
            "WebhookRetrySchedule": "0,0,0,0,0,0,0",
            "LogLevel": "WARNING",
        }
        refs = template.build_refs(table=template.table_refs(aws, TABLE), queues=queues, parameters=parameters)
        for name in (FANOUT, DELIVER, EMAIL, "CreateTicketFunction"):
            for k, v in template.resolve_function_env(functions[name], refs, strict=True).items():
                monkeypatch.setenv(k, v)
        reset_caches()
        _clear_consumer_stores()
        self.functions = functions

        def invoke(fn: template.Function, event: dict[str, Any]) -> Any:
            return template.load_handler(fn)(event, FakeContext(fn.name))

        consumers = [functions[n] for n in (FANOUT, HISTORY, STATUS, DELIVER, EMAIL)]
        self.runner = EventSources(consumers, invoke, refs=refs, retry_backoff=(0, 0), failed_message_visibility=0)

    def api(self, method: str, path: str, key: str, body: Any = None, query: dict[str, Any] | None = None) -> Any:
        """Like tests.conftest.call, without re-applying the template's default environment."""
        return call(method, path, key=key, body=body, query=query, apply_env=False)

    def run(self, timeout: float = 120) -> None:
        self.runner.run_until_idle(timeout=timeout, quiet=0.3)


@pytest.mark.slow  # 100 tickets or more
def test_given_a_webhook_on_everything_when_batches_change_and_delete_tickets_then_each_event_is_delivered_once(
    aws: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.e2e.test_webhooks import Receiver

    tenant = make_tenant("PIP")
    ann = _agent(tenant.key, "Ann")
    tickets = _tickets(tenant.key, PIPELINE_TICKETS)  # made before the streams are read: no created events
    ids = [t["id"] for t in tickets]
    pipeline = Pipeline(aws, monkeypatch)
    receiver = Receiver()
    try:
        hook = pipeline.api("POST", "/v1/webhooks", tenant.key, {"url": receiver.url, "events": ["*"]})
        assert hook.status == 201, hook.body
        receiver.secret = hook.json["secret"]
        emails_before = len(localmail.sent_emails())

        started = time.perf_counter()
        actions = [
            {"type": "set_status", "value": "in_progress"},
            {"type": "set_priority", "value": "urgent"},
            {"type": "assign", "value": ann["id"]},
            {"type": "add_tags", "value": ["vip"]},
            {"type": "set_category", "value": "billing"},
        ]
        r = pipeline.api("POST", "/v1/tickets/batch", tenant.key, {"ids": ids, "actions": actions})
        assert r.status == 200 and r.json["succeeded"] == PIPELINE_TICKETS, r.body
        pipeline.run()
        first = time.perf_counter() - started

        expected = Counter({(kind, i): 1 for i in ids for kind in ("updated", "status_changed", "assigned")})
        _assert_delivered_once(receiver, expected)
        for i in ids:
            history = pipeline.api("GET", f"/v1/tickets/{i}/history", tenant.key).json["data"]
            assert sorted((h["type"], h["from"], h["to"]) for h in history if h["type"] != "updated") == [
                ("assigned", None, ann["id"]),
                ("status_changed", "new", "in_progress"),
            ], history
            (updated,) = [h for h in history if h["type"] == "updated"]
            assert updated["to"] == {"category": "billing", "priority": "urgent", "tags": ["vip"]}, updated
        emails = localmail.sent_emails()[: len(localmail.sent_emails()) - emails_before]
        assert Counter(tuple(e["to"]) for e in emails) == {("ann@example.com",): PIPELINE_TICKETS}
        assert {e["subject"] for e in emails} == {f"[{t['reference']}] {t['subject']}" for t in tickets}

        # Undo: one ticket.updated each, no assigned and no status_changed; no email.
        receiver.requests.clear()
        undo = [{"type": "remove_tags", "value": ["vip"]}, {"type": "unassign"}]
        r = pipeline.api("POST", "/v1/tickets/batch", tenant.key, {"ids": ids, "actions": undo})
        assert r.status == 200 and r.json["succeeded"] == PIPELINE_TICKETS, r.body
        pipeline.run()
        _assert_delivered_once(receiver, Counter({("updated", i): 1 for i in ids}))
        for req in receiver.requests:
            changes = req.json["data"]["changes"]
            assert set(changes) == {"tags", "assigneeId", "assignee"}, changes
        assert len(localmail.sent_emails()) - emails_before == PIPELINE_TICKETS

        # Delete: one ticket.deleted each, carrying the last state.
        receiver.requests.clear()
        r = pipeline.api("POST", "/v1/tickets/bulk/delete", tenant.key, {"ids": ids})
        assert r.status == 200 and r.json["succeeded"] == PIPELINE_TICKETS, r.body
        pipeline.run()
        _assert_delivered_once(receiver, Counter({("deleted", i): 1 for i in ids}))
        for req in receiver.requests:
            assert req.json["data"]["ticket"]["status"] == "in_progress"
        total = time.perf_counter() - started
        print(f"\npipeline, {PIPELINE_TICKETS} tickets: first batch {first:.1f} s, all three {total:.1f} s")
    finally:
        receiver.close()
        reset_caches()
        _clear_consumer_stores()


def _assert_delivered_once(receiver: Any, expected: Counter[tuple[str, str]]) -> None:
    assert receiver.verification_failures == 0
    by_id: dict[str, tuple[str, str]] = {}
    for r in receiver.requests:
        payload = r.json
        data = payload["data"]
        ticket_id = (data.get("ticket") or {}).get("id") or data.get("id")
        by_id[r.webhook_id] = (payload["type"].removeprefix("ticket."), ticket_id)
    assert Counter(by_id.values()) == expected  # every expected event, as exactly one distinct webhook-id
    assert len(receiver.requests) == len(by_id)  # ... and nothing delivered twice


# ---------------------------------------------------------------- 3. concurrency with single PATCHes


def test_given_a_patch_landing_between_the_bulk_read_and_its_writes_then_both_changes_survive(
    aws: Any, tenant: TenantKey
) -> None:
    """Deterministic race: right after the bulk's BatchGetItem, every ticket gets a PATCH (a new version)."""
    from tickets.dal.client import ddb

    tickets = _tickets(tenant.key, 20)
    ids = [t["id"] for t in tickets]
    fired: list[int] = []

    def patch_all(model: Any, **_: Any) -> None:
        if model.name != "BatchGetItem" or fired:
            return
        fired.append(1)
        for i, ticket_id in enumerate(ids):
            body = {"priority": "high"} if i % 2 else {"description": f"patched {i}"}
            r = call("PATCH", f"/v1/tickets/{ticket_id}", key=tenant.key, body=body)
            assert r.status == 200, r.body

    events = ddb().meta.events
    events.register("after-call.dynamodb", patch_all, unique_id="bulk-race")
    try:
        result = _bulk(tenant.key, "/v1/tickets/bulk/status", {"ids": ids, "status": "open"})
    finally:
        events.unregister("after-call.dynamodb", unique_id="bulk-race")
    assert fired, "the bulk route read no tickets with BatchGetItem"
    assert _outcomes(result) == [(i, 200, None) for i in ids]
    for i, ticket_id in enumerate(ids):
        now = _get(tenant.key, ticket_id).json
        assert now["status"] == "open", now
        if i % 2:
            assert now["priority"] == "high", now
        else:
            assert now["description"] == f"patched {i}", now
        assert now["version"] == 3  # created, patched, bulk: none lost, none doubled
    assert (_total(tenant.key, status="open"), _total(tenant.key, status="new")) == (20, 0)


@pytest.mark.slow  # 100 tickets or more
def test_given_bulk_status_racing_single_patches_when_all_finish_then_every_ticket_has_both_changes(
    aws: Any, tenant: TenantKey
) -> None:
    tickets = _tickets(tenant.key, 20)
    ids = [t["id"] for t in tickets]
    rounds = [("open", "high"), ("pending", "low"), ("on_hold", "urgent")]
    for n, (status, priority) in enumerate(rounds):
        start = threading.Barrier(2)

        def bulk(status: str = status, gate: threading.Barrier = start) -> dict[str, Any]:
            gate.wait()
            return _bulk(tenant.key, "/v1/tickets/bulk/status", {"ids": ids, "status": status})

        def patches(priority: str = priority, n: int = n, gate: threading.Barrier = start) -> list[int]:
            gate.wait()
            statuses = []
            for ticket_id in ids:  # one thread: the update handler's resolver is not re-entrant across threads
                body = {"priority": priority, "description": f"round {n}"}
                statuses.append(call("PATCH", f"/v1/tickets/{ticket_id}", key=tenant.key, body=body).status)
            return statuses

        with ThreadPoolExecutor(2) as pool:
            bulk_result, patch_statuses = pool.submit(bulk), pool.submit(patches)
            result, statuses = bulk_result.result(), patch_statuses.result()
        assert statuses == [200] * 20
        assert _outcomes(result) == [(i, 200, None) for i in ids]
        for ticket_id in ids:
            now = _get(tenant.key, ticket_id)
            t = now.json
            assert (t["status"], t["priority"], t["description"]) == (status, priority, f"round {n}"), t
            assert t["version"] == 1 + 2 * (n + 1)  # each round: one bulk write and one PATCH, none lost
            assert now.headers["etag"] == f'"{t["version"]}"'
        assert _total(tenant.key, status=status) == 20 and _total(tenant.key) == 20


# ---------------------------------------------------------------- 4. solve-unfinished


@contextmanager
def _moto_without_transaction_snapshots(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Make moto's TransactWriteItems affordable at 1,875 tickets, for a test where none may be cancelled.

    moto deep-copies the whole table before every transaction (its rollback), and tracks every copy for its
    dashboard until the mock ends: 1,500 transactions took over 7 minutes of CPU and, without forgetting the
    copies, 18 GB (the process was OOM-killed). Here the table is not copied, so a cancelled transaction would
    not be rolled back; any cancellation therefore fails the test instead of passing unnoticed.
    """
    from moto.core.model_instances import reset_model_data
    from moto.dynamodb.models.table import Table

    from tickets.dal.client import ddb

    cancelled: list[Any] = []

    def watch(model: Any, parsed: dict[str, Any], **_: Any) -> None:
        if model.name == "TransactWriteItems" and "Error" in parsed:
            cancelled.append(parsed["Error"])

    monkeypatch.setattr(Table, "__deepcopy__", lambda self, memo: self, raising=False)
    events = ddb().meta.events
    events.register("after-call.dynamodb", watch, unique_id="bulk-watch-cancellations")
    try:
        yield
    finally:
        events.unregister("after-call.dynamodb", unique_id="bulk-watch-cancellations")
        monkeypatch.undo()
        reset_model_data()
    assert cancelled == [], f"transactions were cancelled while moto could not roll them back: {cancelled[:3]}"


@pytest.mark.slow  # 100 tickets or more
def test_given_1500_unfinished_tickets_when_solved_then_1000_per_call_and_counts_follow(
    aws: Any, tenant: TenantKey, monkeypatch: pytest.MonkeyPatch
) -> None:
    from bench._harness import seed_tickets

    # 1875 tickets cycling new/open/in_progress/pending/resolved: 1500 unfinished, 375 already resolved.
    seeded = seed_tickets(tenant, 1875, method="direct")
    assert sum(v for k, v in seeded["per_status"].items() if k in UNFINISHED) == 1500
    assert _total(tenant.key) == 1875

    timings = []
    answers = []
    with _moto_without_transaction_snapshots(monkeypatch):
        for _ in range(3):
            started = time.perf_counter()
            r = _post(tenant.key, "/v1/tickets/solve-unfinished", {})
            timings.append(time.perf_counter() - started)
            assert r.status == 200, r.body
            answers.append(r.json)
    print(f"\nsolve-unfinished over 1500: {', '.join(f'{t:.1f} s' for t in timings)}")
    assert answers == [
        {"resolved": 1000, "remaining": 500},
        {"resolved": 500, "remaining": 0},
        {"resolved": 0, "remaining": 0},
    ]

    assert _total(tenant.key) == 1875
    assert _total(tenant.key, status="resolved") == 1875
    for status in UNFINISHED:
        assert _total(tenant.key, status=status) == 0
    sample = [t for t in _all(tenant.key, status="resolved")[:300]]
    assert all(t["resolvedAt"] and t["status"] == "resolved" for t in sample)


def test_given_a_customer_id_when_solving_then_only_that_customers_unfinished_tickets_are_resolved(
    aws: Any, tenant: TenantKey, other_tenant: TenantKey
) -> None:
    cus = _customer(tenant.key)
    ann = _agent(tenant.key)
    theirs = _ticket(tenant.key, customerId=cus["id"], assigneeId=ann["id"])  # new, counted for Ann
    on_hold = _ticket(tenant.key, customerId=cus["id"])
    call("PATCH", f"/v1/tickets/{on_hold['id']}", key=tenant.key, body={"status": "on_hold"})
    pending = _ticket(tenant.key, customerId=cus["id"], status="pending")
    _closed(tenant.key, customerId=cus["id"])
    others = _tickets(tenant.key, 2, assigneeId=ann["id"])
    foreign = _ticket(other_tenant.key)
    assert _open_tickets(tenant.key, ann["id"]) == 3

    r = _post(tenant.key, "/v1/tickets/solve-unfinished", {"customerId": cus["id"]})
    assert r.status == 200, r.body
    assert r.json == {"resolved": 3, "remaining": 0}
    for t in (theirs, on_hold, pending):
        now = _get(tenant.key, t["id"]).json
        assert now["status"] == "resolved" and now["resolvedAt"], now
    for t in others:
        assert _get(tenant.key, t["id"]).json["status"] == "new"
    assert _total(tenant.key, customerId=cus["id"], status="resolved") == 3
    assert _total(tenant.key, status="closed") == 1 and _total(tenant.key, status="new") == 2
    assert _open_tickets(tenant.key, ann["id"]) == 2

    r = _post(tenant.key, "/v1/tickets/solve-unfinished", {})
    assert r.status == 200 and r.json == {"resolved": 2, "remaining": 0}, r.body
    assert _open_tickets(tenant.key, ann["id"]) == 0
    assert _total(tenant.key, status="resolved") == 5
    assert _get(other_tenant.key, foreign["id"]).json["status"] == "new"


# ---------------------------------------------------------------- 5. bulk/delete, bulk/priority, unlink-customer


def test_given_tickets_of_a_customer_and_an_agent_when_bulk_deleted_then_counts_fall_and_the_customer_can_go(
    aws: Any, tenant: TenantKey
) -> None:
    cus = _customer(tenant.key)
    ann = _agent(tenant.key)
    linked = _tickets(tenant.key, 3, customerId=cus["id"], assigneeId=ann["id"])
    closed = _closed(tenant.key, customerId=cus["id"])
    keep = _ticket(tenant.key)
    missing = _missing_id()
    r = call("DELETE", f"/v1/customers/{cus['id']}", key=tenant.key)
    assert r.status == 409, r.body  # still referenced
    assert (_total(tenant.key), _open_tickets(tenant.key, ann["id"])) == (5, 3)

    ids = [t["id"] for t in linked] + [closed["id"], missing]
    result = _bulk(tenant.key, "/v1/tickets/bulk/delete", {"ids": ids})
    assert _outcomes(result) == [(i, 200, None) for i in ids[:4]] + [(missing, 404, "NOT_FOUND")]
    assert (result["succeeded"], result["failed"]) == (4, 1)
    assert _total(tenant.key) == 1 and _total(tenant.key, status="new") == 1
    assert _total(tenant.key, status="closed") == 0
    assert _total(tenant.key, customerId=cus["id"]) == 0
    assert _open_tickets(tenant.key, ann["id"]) == 0
    assert _get(tenant.key, keep["id"]).status == 200
    assert call("DELETE", f"/v1/customers/{cus['id']}", key=tenant.key).status == 204
    assert call("DELETE", f"/v1/agents/{ann['id']}", key=tenant.key).status == 204
    again = _bulk(tenant.key, "/v1/tickets/bulk/delete", {"ids": ids[:2]})
    assert _outcomes(again) == [(i, 404, "NOT_FOUND") for i in ids[:2]]


def test_given_tickets_when_bulk_priority_then_priorities_change_and_status_counts_do_not(
    aws: Any, tenant: TenantKey
) -> None:
    tickets = _tickets(tenant.key, 5, priority="low")
    ids = [t["id"] for t in tickets[:4]]
    result = _bulk(tenant.key, "/v1/tickets/bulk/priority", {"ids": ids, "priority": "Critical"})
    assert _outcomes(result) == [(i, 200, None) for i in ids]
    assert _total(tenant.key, priority="critical") == 4 and _total(tenant.key, priority="low") == 1
    assert _total(tenant.key, status="new") == 5
    again = _bulk(tenant.key, "/v1/tickets/bulk/priority", {"ids": ids, "priority": "critical"})
    assert (again["succeeded"], again["failed"]) == (4, 0)  # already so: fine, and no new version
    assert {_get(tenant.key, i).json["version"] for i in ids} == {2}


def test_given_a_linked_ticket_when_unlinked_then_no_customer_and_the_customer_filter_total_drops(
    aws: Any, tenant: TenantKey, other_tenant: TenantKey
) -> None:
    cus = _customer(tenant.key)
    one, two = _tickets(tenant.key, 2, customerId=cus["id"])
    closed = _closed(tenant.key, customerId=cus["id"])
    theirs = _ticket(other_tenant.key)
    assert _total(tenant.key, customerId=cus["id"]) == 3

    r = _post(tenant.key, f"/v1/tickets/{one['id']}/unlink-customer", None)
    assert r.status == 200, r.body
    assert (r.json["id"], r.json["customerId"], r.json["customer"]) == (one["id"], None, None)
    assert r.json["version"] == one["version"] + 1
    assert _get(tenant.key, one["id"]).json["customerId"] is None
    assert _total(tenant.key, customerId=cus["id"]) == 2

    r = _post(tenant.key, f"/v1/tickets/{closed['id']}/unlink-customer", None)
    assert r.status == 409 and r.json["code"] == "TICKET_CLOSED", r.body
    assert _get(tenant.key, closed["id"]).json["customerId"] == cus["id"]
    for unknown in (_missing_id(), theirs["id"]):
        r = _post(tenant.key, f"/v1/tickets/{unknown}/unlink-customer", None)
        assert r.status == 404 and r.json["code"] == "NOT_FOUND", r.body

    # Unlinking the last open ticket and deleting the closed one frees the customer.
    assert _post(tenant.key, f"/v1/tickets/{two['id']}/unlink-customer", None).status == 200
    assert call("DELETE", f"/v1/customers/{cus['id']}", key=tenant.key).status == 409
    assert call("DELETE", f"/v1/tickets/{closed['id']}", key=tenant.key).status == 204
    assert _total(tenant.key, customerId=cus["id"]) == 0
    assert call("DELETE", f"/v1/customers/{cus['id']}", key=tenant.key).status == 204


# ---------------------------------------------------------------- 6. validation, scopes, idempotency


def _validation(resp: ApiResponse) -> None:
    assert resp.status == 400, resp.body
    assert resp.json["code"] == "VALIDATION_ERROR", resp.body
    assert resp.headers["content-type"] == "application/problem+json"


@pytest.mark.parametrize("route", list(ROUTES))
def test_given_101_or_no_ids_when_bulk_then_400_and_nothing_changes(aws: Any, tenant: TenantKey, route: str) -> None:
    spec = ROUTES[route]
    t = _ticket(tenant.key)
    ids = [t["id"]] + [_missing_id() for _ in range(100)]
    _validation(_post(tenant.key, spec["path"], spec["body"](ids)))
    _validation(_post(tenant.key, spec["path"], spec["body"]([])))
    _validation(_post(tenant.key, spec["path"], {**spec["body"]([t["id"]]), "extra": 1}))
    body = spec["body"]([t["id"]])
    del body["ids"]
    _validation(_post(tenant.key, spec["path"], body))
    assert _get(tenant.key, t["id"]).json["version"] == 1


@pytest.mark.parametrize(
    "body",
    [
        {"actions": [{"type": "explode", "value": 1}]},
        {"actions": []},
        {"actions": [{"type": "set_status", "value": "sleeping"}]},
        {"actions": [{"type": "set_priority", "value": "whenever"}]},
        {"actions": [{"type": "add_tags", "value": "vip"}]},
        {"actions": [{"type": "assign"}]},
    ],
    ids=["unknown type", "no actions", "bad status", "bad priority", "tags not a list", "assign without agent"],
)
def test_given_an_invalid_action_when_batch_then_400_for_the_request(aws: Any, tenant: TenantKey, body: Any) -> None:
    t = _ticket(tenant.key)
    _validation(_post(tenant.key, "/v1/tickets/batch", {"ids": [t["id"]], **body}))
    assert _get(tenant.key, t["id"]).json["version"] == 1


def test_given_enum_values_and_action_types_in_upper_case_when_batch_then_accepted(aws: Any, tenant: TenantKey) -> None:
    t = _ticket(tenant.key)
    actions = [{"type": "SET_STATUS", "value": "ON_HOLD"}, {"type": "Set_Priority", "value": "High"}]
    result = _bulk(tenant.key, "/v1/tickets/batch", {"ids": [t["id"]], "actions": actions})
    assert _outcomes(result) == [(t["id"], 200, None)]
    now = _get(tenant.key, t["id"]).json
    assert (now["status"], now["priority"]) == ("on_hold", "high")


def test_given_bad_bodies_for_status_and_priority_then_400(aws: Any, tenant: TenantKey) -> None:
    t = _ticket(tenant.key)
    _validation(_post(tenant.key, "/v1/tickets/bulk/status", {"ids": [t["id"]], "status": "sleeping"}))
    _validation(_post(tenant.key, "/v1/tickets/bulk/status", {"ids": [t["id"]]}))
    _validation(_post(tenant.key, "/v1/tickets/bulk/priority", {"ids": [t["id"]], "priority": "asap"}))
    _validation(_post(tenant.key, "/v1/tickets/solve-unfinished", {"status": "resolved"}))
    _validation(_post(tenant.key, "/v1/tickets/bulk/status", {"ids": "all", "status": "open"}))
    assert _get(tenant.key, t["id"]).json["version"] == 1


ALL_ROUTES = {
    "bulk/status": ("tickets:status", "/v1/tickets/bulk/status", lambda i: {"ids": [i], "status": "open"}),
    "bulk/priority": ("tickets:write", "/v1/tickets/bulk/priority", lambda i: {"ids": [i], "priority": "high"}),
    "bulk/delete": ("tickets:delete", "/v1/tickets/bulk/delete", lambda i: {"ids": [i]}),
    "batch": (
        "tickets:bulk",
        "/v1/tickets/batch",
        lambda i: {"ids": [i], "actions": [{"type": "set_category", "value": "x"}]},
    ),
    "solve-unfinished": ("tickets:status", "/v1/tickets/solve-unfinished", lambda i: {}),
    "unlink-customer": ("tickets:write", "/v1/tickets/{id}/unlink-customer", lambda i: None),
}


@pytest.mark.parametrize("route", list(ALL_ROUTES))
def test_given_a_key_without_the_routes_scope_when_called_then_403_and_nothing_changes(
    aws: Any, tenant: TenantKey, route: str
) -> None:
    from tickets.logic import admin
    from tickets.models.tenants import SCOPES

    scope, path, body = ALL_ROUTES[route]
    cus = _customer(tenant.key)
    t = _ticket(tenant.key, customerId=cus["id"])
    lacking = admin.create_api_key(tenant.tenant_id, [s for s in SCOPES if s != scope])["key"]
    r = _post(lacking, path.format(id=t["id"]), body(t["id"]))
    assert r.status == 403 and r.json["code"] == "INSUFFICIENT_SCOPE", r.body
    assert _get(tenant.key, t["id"]).json == t
    only = admin.create_api_key(tenant.tenant_id, [scope])["key"]
    r = _post(only, path.format(id=t["id"]), body(t["id"]))
    assert r.status == 200, r.body


@pytest.mark.parametrize("route", list(ALL_ROUTES))
def test_given_an_idempotency_key_when_a_bulk_route_is_replayed_then_the_first_answer_comes_back(
    aws: Any, tenant: TenantKey, route: str
) -> None:
    _, path, body = ALL_ROUTES[route]
    cus = _customer(tenant.key)
    t = _ticket(tenant.key, customerId=cus["id"])
    target = path.format(id=t["id"])
    headers = {"Idempotency-Key": f"bulk-{route}"}
    first = _post(tenant.key, target, body(t["id"]), headers)
    assert first.status == 200, first.body
    after_first = _raw(aws, tenant)
    again = _post(tenant.key, target, body(t["id"]), headers)
    assert again.status == 200 and again.headers.get(REPLAYED) == "true", (again.status, again.headers, again.body)
    assert again.json == first.json and REPLAYED not in first.headers
    assert _raw(aws, tenant) == after_first  # the replay wrote nothing (its records live in another partition)
    if isinstance(body(t["id"]), dict) and "ids" in body(t["id"]):  # the same key with another body: 422
        other = {**body(t["id"]), "ids": [t["id"], _missing_id()]}
        r = _post(tenant.key, target, other, headers)
        assert r.status == 422 and r.json["code"] == "IDEMPOTENCY_KEY_REUSED", r.body


# ---------------------------------------------------------------- 7. DynamoDB calls for 100 ids


@pytest.fixture
def warm_100(aws: Any, tenant: TenantKey) -> tuple[TenantKey, list[str]]:
    """100 tickets, and the key already in the container's auth cache, as on a warm Lambda."""
    ids = [t["id"] for t in _tickets(tenant.key, 100)]
    assert call("GET", "/v1/tickets", key=tenant.key).status == 200
    return tenant, ids


CALL_BUDGETS = {
    "bulk/status": ({"status": "open"}, "/v1/tickets/bulk/status"),
    "batch": (
        {"actions": [{"type": "set_status", "value": "pending"}, {"type": "add_tags", "value": ["vip"]}]},
        "/v1/tickets/batch",
    ),
    "bulk/delete": ({}, "/v1/tickets/bulk/delete"),
    "bulk/priority": ({"priority": "urgent"}, "/v1/tickets/bulk/priority"),
}


@pytest.mark.slow  # 100 tickets or more
@pytest.mark.parametrize("route", list(CALL_BUDGETS))
def test_given_100_ids_when_bulk_then_one_read_and_one_write_per_ticket(
    warm_100: tuple[TenantKey, list[str]], route: str
) -> None:
    tenant, ids = warm_100
    extra, path = CALL_BUDGETS[route]
    started = time.perf_counter()
    with count_calls() as calls:
        result = _bulk(tenant.key, path, {"ids": ids, **extra})
    seconds = time.perf_counter() - started
    assert (result["succeeded"], result["failed"]) == (100, 0)
    ops = Counter(calls.operations)
    print(f"\n{route} x100: {len(calls)} DynamoDB calls {dict(ops)} in {seconds:.2f} s")
    assert ops["GetItem"] == 0  # no contention here: no re-reads
    assert ops["Query"] == ops["Scan"] == 0
    if route == "bulk/delete":  # each ticket is read by the UpdateItem that stamps its deletion time
        assert ops["BatchGetItem"] == 0 and ops["UpdateItem"] == ops["TransactWriteItems"] == 100, ops
        assert len(calls) == 200, ops
        return
    assert ops["BatchGetItem"] == 1
    if route == "bulk/priority":  # no counter moves with a priority: a conditional Put/Update is one write too
        assert ops["TransactWriteItems"] + ops["PutItem"] + ops["UpdateItem"] == 100, ops
    else:
        assert ops["TransactWriteItems"] == 100, ops
    assert len(calls) == 101, ops


@pytest.mark.slow  # 100 tickets or more
def test_given_100_ids_when_a_batch_assigns_then_the_agent_is_read_once(
    warm_100: tuple[TenantKey, list[str]],
) -> None:
    tenant, ids = warm_100
    ann = _agent(tenant.key)
    with count_calls() as calls:
        result = _bulk(
            tenant.key, "/v1/tickets/batch", {"ids": ids, "actions": [{"type": "assign", "value": ann["id"]}]}
        )
    ops = Counter(calls.operations)
    print(f"\nbatch assign x100: {len(calls)} DynamoDB calls {dict(ops)}")
    assert (result["succeeded"], result["failed"]) == (100, 0)
    assert ops["TransactWriteItems"] == 100
    assert ops["BatchGetItem"] + ops["GetItem"] <= 2, ops  # tickets in one BatchGetItem, the agent at most once
    assert _open_tickets(tenant.key, ann["id"]) == 100
