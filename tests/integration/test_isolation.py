"""Tenant-isolation matrix (issue 7), generated from template.yaml's routes.

Tenant A owns one of everything: tickets (with customer, assignee, group, tags, parent, history), customers, tags,
agents, groups, webhooks with deliveries and their attempt log (made by the template's own stream and queue consumers),
API keys and an Idempotency-Key record. Every item A has is snapshotted straight from the table, base table and
every index. Then tenant B, with a key holding every scope, goes through every route:

- a route with path parameters is called with A's real ids (and A's reference), mixed with B's own, and with
  forged ids (`#`, `%23`, `/` as `%2F`, `TENANT#<A>#...`, unicode, over-long): A's ids are 404, forged ones 400
  or 404, all problem+json, never a 500;
- a list answers B's items only, also when filtered by A's ids; A's cursor replayed by B, and every edit of it
  (by A or by B), is a 400 VALIDATION_ERROR on `cursor`;
- the routes without path parameters that name A's data in their body (bulk, batch, solve-unfinished, creates
  with A's customer / agent / parent / tag / externalId / dedupeKey / Idempotency-Key) reach nothing of A's.

After each route, and at the end, A's items must be byte-for-byte what they were. A route that is neither
probed here nor listed in EXEMPT with a reason fails test_every_route_is_covered_or_exempt.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote

import boto3
import pytest
import requests
from moto import mock_aws

from tests.conftest import TABLE, ApiResponse, TenantKey, make_tenant, reset_caches
from tests.e2e.test_webhooks import Receiver
from tools import localmail, template
from tools.events import FakeContext, http_event
from tools.eventsources import EventSources

pytestmark = pytest.mark.slow  # every route, probed with another tenant's ids, keys and cursors

FUNCTIONS = template.functions()
ROUTES: list[tuple[str, str]] = sorted({(r.method, r.path) for fn in FUNCTIONS.values() for r in fn.routes})
PROBLEM_JSON = "application/problem+json"


def _params(path: str) -> list[str]:
    return re.findall(r"\{(\w+)\+?\}", path)


# Routes without path parameters that list nothing: their probes name A's data in the body (see BODY_PROBES).
# A route that should not be probed at all goes here, with the reason.
EXEMPT: dict[tuple[str, str], str] = {
    ("GET", "/console"): "the agent console's page: no API key, the same bytes for everyone, no tenant data",
    ("GET", "/console/{proxy+}"): "the agent console's files (an allow-list): no API key, no tenant data; "
    "tests/integration/test_console.py checks that they ignore keys and read nothing",
}

# GET routes without an id that answer one object about the caller (not a list): B must see its own only.
SINGLETON_ROUTES = [("GET", "/v1/me"), ("GET", "/v1/usage")]


# GET routes under an id that answer one object about it, not a list: probed as id routes only.
OBJECT_ROUTES = [("GET", "/v1/views/{id}/count")]


def _is_list(method: str, path: str) -> bool:
    return (
        method == "GET"
        and not path.endswith("}")
        and (method, path) not in SINGLETON_ROUTES
        and (method, path) not in OBJECT_ROUTES
    )


ID_ROUTES = [r for r in ROUTES if _params(r[1]) and r not in EXEMPT]
LIST_ROUTES = [r for r in ROUTES if _is_list(*r) and r not in EXEMPT]

# Which of A's resources a path parameter names: the collection segment just before it.
RESOURCE_OF_SEGMENT = {
    "tickets": "ticket",
    "customers": "customer",
    "tags": "tag",
    "agents": "agent",
    "groups": "group",
    "webhooks": "webhook",
    "api-keys": "api_key",
    "deliveries": "delivery",
    "comments": "comment",
    "attachments": "attachment",
    "views": "view",
    "business-hours": "business_hours",
    "sla-policies": "sla_policy",
}

# Bodies of the id routes that take one; anything else gets none (POST) or {} (PATCH). Each would change A's
# resource if B could reach it.
ID_ROUTE_BODIES: dict[tuple[str, str], dict[str, Any]] = {
    ("PATCH", "/v1/tickets/{id}"): {"status": "closed", "priority": "critical", "subject": "taken over"},
    ("PATCH", "/v1/customers/{id}"): {"name": "taken over", "externalId": "stolen"},
    ("PATCH", "/v1/tags/{id}"): {"name": "taken-over"},
    ("PATCH", "/v1/agents/{id}"): {"available": False, "level": "N3"},
    ("PATCH", "/v1/groups/{id}"): {"name": "taken over", "routing": "manual", "agentIds": []},
    ("PATCH", "/v1/webhooks/{id}"): {"enabled": False, "url": "https://attacker.example.com/hook"},
    ("POST", "/v1/tickets/{id}/comments"): {"body": "B writes into A's conversation", "status": "closed"},
    ("PATCH", "/v1/views/{id}"): {"name": "taken over", "conditions": {"all": []}, "agentId": None},
    ("PATCH", "/v1/business-hours/{id}"): {"timeZone": "Asia/Tokyo", "holidays": ["2026-12-31"]},
    ("PATCH", "/v1/sla-policies/{id}"): {"position": 0, "conditions": {}, "businessHoursId": None},
}

# Filters of a list that name A's data: B must still see only its own items (or get a 400/404).
LIST_FILTERS: dict[str, Callable[[World], list[dict[str, str]]]] = {
    "/v1/tickets": lambda w: [
        {"customerId": w.a_ids["customer"]},
        {"assigneeId": w.a_ids["agent"]},
        {"groupId": w.a_ids["group"]},
        {"tag": "billing"},
        {"q": "printer"},
        {"status": "closed"},
        {"customerId": f"TENANT#{w.a.tenant_id}#CUSTOMER#{w.a_ids['customer']}"},
        {"assigneeId": f"TENANT%23{w.a.tenant_id}"},
        {"sort": "-updatedAt", "updatedSince": "2000-01-01T00:00:00.000Z"},
    ],
    "/v1/customers": lambda w: [{"externalId": "cus_a_only"}, {"externalId": f"TENANT#{w.a.tenant_id}"}],
    "/v1/events": lambda w: [{"since": "2000-01-01T00:00:00.000Z"}, {"types": "ticket.created,ticket.deleted"}],
}

# The query parameter a list's cursor goes back in (and the field its refusal names): `cursor`, except the change
# feed's `after` (GET /v1/events).
CURSOR_PARAMS: dict[str, str] = {"/v1/events": "after"}

PROBES: Counter[str] = Counter()  # what was sent, by kind (printed at the end with -s)


# ------------------------------------------------------------------------------------------------ the world


@dataclass
class World:
    client: Any
    a: TenantKey
    b: TenantKey
    a_ids: dict[str, str]  # resource -> one of A's ids (see RESOURCE_OF_SEGMENT), plus "reference"
    b_ids: dict[str, str]  # resource -> one of B's own ids, where B has one
    a_values: set[str]  # A's ids, key ids, delivery ids, references: none may show in B's 2xx answers
    a_tickets: list[str]  # every ticket of A's: open, in progress, closed, with and without customer
    hook_url: str  # the receiver both tenants' webhooks point at
    a_cursors: dict[tuple[str, str], tuple[str, dict[str, str], str]] = field(default_factory=dict)
    snapshot: str = ""


def _route_of(method: str, raw_path: str) -> tuple[template.Function, template.Route, dict[str, str]]:
    for fn in FUNCTIONS.values():
        for route in fn.routes:
            if (params := route.match(method, raw_path)) is not None:
                return fn, route, params
    raise LookupError(f"no route for {method} {raw_path}")


def api(
    method: str,
    raw_path: str,
    key: str,
    *,
    body: Any = None,
    query: dict[str, str] | None = None,
    headers: dict[str, str] | None = None,
    kind: str = "setup",
) -> ApiResponse:
    """Invoke the function the template routes to, with the event API Gateway would send.

    `raw_path` is what is on the wire (percent-encoded); like HTTP API, `pathParameters` carry the decoded
    values while `rawPath` keeps the encoding (the resolver routes on rawPath).
    """
    fn, route, params = _route_of(method, raw_path)
    event = http_event(
        method,
        raw_path,
        route_path=route.path,
        path_params={k: unquote(v) for k, v in params.items()},
        headers={"x-api-key": key, **(headers or {})},
        query=query,
        body=body,
    )
    result = template.load_handler(fn)(event, FakeContext(fn.name))
    PROBES[kind] += 1
    out = {k.lower(): v for k, v in (result.get("headers") or {}).items()}
    return ApiResponse(result["statusCode"], out, result.get("body") or "")


def _ok(resp: ApiResponse, status: int = 200) -> Any:
    assert resp.status == status, resp.body
    return resp.json


def _snapshot(client: Any, tenant_id: str) -> str:
    """Every item of the tenant as DynamoDB stores it (raw attribute values), base table and every index."""
    prefix = f"TENANT#{tenant_id}"

    def mine(item: dict[str, Any], pk_attr: str) -> bool:
        pk = item.get(pk_attr, {}).get("S", "")
        if pk == prefix or pk.startswith(prefix + "#"):
            return True
        return pk_attr == "PK" and pk.startswith("APIKEY#") and item.get("tenantId", {}).get("S") == tenant_id

    def scan(**kw: Any) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        for page in client.get_paginator("scan").paginate(TableName=TABLE, **kw):
            out.extend(page["Items"])
        return out

    def text(item: dict[str, Any]) -> str:
        return json.dumps(item, sort_keys=True, default=lambda b: bytes(b).hex())  # binary: the feed's events

    views: dict[str, list[str]] = {"table": sorted(text(i) for i in scan() if mine(i, "PK"))}
    for gsi in template.table_definition().get("GlobalSecondaryIndexes", []):
        pk_attr = gsi["KeySchema"][0]["AttributeName"]
        views[gsi["IndexName"]] = sorted(text(i) for i in scan(IndexName=gsi["IndexName"]) if mine(i, pk_attr))
    return json.dumps(views, sort_keys=True)


def _assert_a_unchanged(world: World) -> None:
    now = _snapshot(world.client, world.a.tenant_id)
    if now != world.snapshot:
        before, after = json.loads(world.snapshot), json.loads(now)
        diff = {
            view: {
                "gone": sorted(set(before[view]) - set(after[view])),
                "new": sorted(set(after[view]) - set(before[view])),
            }
            for view in before
            if before[view] != after.get(view)
        }
        pytest.fail(f"tenant A's items changed: {json.dumps(diff, indent=1)[:4000]}")


def _aws_key_checks(mp: pytest.MonkeyPatch) -> None:
    """Two validations DynamoDB makes and moto skips; without them a forged input is a 500 only on AWS.

    - A key's partition value is at most 2048 bytes and its sort value at most 1024 (GetItem, UpdateItem,
      DeleteItem, BatchGetItem and transactions refuse a longer one with a ValidationException).
    - A Query's ExclusiveStartKey must lie inside its key condition.
    """
    from moto.dynamodb.exceptions import MockValidationException
    from moto.dynamodb.responses import DynamoHandler

    def check_keys(body: dict[str, Any]) -> None:
        found = [body["Key"]] if "Key" in body else []
        for request in (body.get("RequestItems") or {}).values():
            found.extend(request.get("Keys") or [])
        for item in body.get("TransactItems") or []:
            found.extend(op["Key"] for op in item.values() if "Key" in op)
        for key in found:
            for attr, av in key.items():
                size = len(str(next(iter(av.values()))).encode())
                if attr == "SK" and size > 1024:
                    raise MockValidationException(
                        "One or more parameter values were invalid: Aggregated size of all range keys has "
                        "exceeded the size limit of 1024 bytes"
                    )
                if attr == "PK" and size > 2048:
                    raise MockValidationException(
                        "One or more parameter values were invalid: Size of hashkey has exceeded the maximum "
                        "size limit of 2048 bytes"
                    )

    def check_start(body: dict[str, Any]) -> None:
        start = body.get("ExclusiveStartKey")
        if not start:
            return
        names, values = body.get("ExpressionAttributeNames") or {}, body.get("ExpressionAttributeValues") or {}
        cond = body.get("KeyConditionExpression", "")
        inside = True
        if m := re.match(r"\s*(#?\w+)\s*=\s*(:\w+)", cond):
            inside = start.get(names.get(m[1], m[1])) == values[m[2]]
        if inside and (m := re.search(r"(#?\w+)\s+BETWEEN\s+(:\w+)\s+AND\s+(:\w+)", cond)):
            sk = (start.get(names.get(m[1], m[1])) or {}).get("S", "")
            inside = values[m[2]]["S"] <= sk <= values[m[3]]["S"]
        if not inside:
            raise MockValidationException(
                "The provided starting key is outside query boundaries based on provided conditions"
            )

    for action in (
        "get_item",
        "update_item",
        "delete_item",
        "batch_get_item",
        "transact_get_items",
        "transact_write_items",
        "query",
    ):
        original = getattr(DynamoHandler, action)

        def checked(self: Any, _original: Any = original, _action: str = action) -> Any:
            check_start(self.body) if _action == "query" else check_keys(self.body)
            return _original(self)

        mp.setattr(DynamoHandler, action, checked)


def _clear_consumer_stores() -> None:
    from tickets.logic import assignment_emails, status_events

    status_events.publish_once.cache_clear()
    assignment_emails.send_once.cache_clear()


@pytest.fixture(scope="module")
def world() -> Iterator[World]:
    mp = pytest.MonkeyPatch()
    _aws_key_checks(mp)
    receiver = Receiver()
    with mock_aws():
        reset_caches()
        client = boto3.client("dynamodb", region_name="us-east-1")
        template.create_table(client, TABLE)
        with pytest.raises(client.exceptions.ClientError, match="1024 bytes"):  # the checks above are live
            client.get_item(TableName=TABLE, Key={"PK": {"S": "TENANT#x"}, "SK": {"S": "x" * 1025}})
        localmail.verify_sender(
            boto3.client("sesv2", region_name="us-east-1"), template.parameter_defaults()["SenderEmail"]
        )
        queues = template.create_queues(boto3.client("sqs", region_name="us-east-1"))
        buckets = template.create_buckets(boto3.client("s3", region_name="us-east-1"), queues)
        parameters = {"AllowPrivateWebhookTargets": "true", "WebhookRetrySchedule": "0,0,0,0,0,0,0"}
        refs = template.build_refs(
            table=template.table_refs(client, TABLE), queues=queues, parameters=parameters, buckets=buckets
        )
        # Globals only: every function has this environment, so it is set once for the whole module.
        for k, v in template.resolve_function_env(FUNCTIONS["ListTicketsFunction"], refs, strict=True).items():
            mp.setenv(k, v)
        mp.setenv("ATTACHMENTS_BUCKET", refs["AttachmentsBucket"])  # what the attachments' functions get too
        mp.setenv("POWERTOOLS_LOG_LEVEL", "WARNING")
        mp.setattr("tickets.logic.feed.SAFETY_MS", 0)  # A's change feed readable at once, so B has something to miss
        reset_caches()
        _clear_consumer_stores()
        consumers = [fn for fn in FUNCTIONS.values() if fn.event_sources]
        runner = EventSources(
            consumers,
            lambda fn, event: template.load_handler(fn)(event, FakeContext(fn.name)),
            refs=refs,
            retry_backoff=(0, 0),
            failed_message_visibility=0,
        )
        try:
            yield _build_world(client, runner, receiver)
        finally:
            receiver.close()
            mp.undo()
            reset_caches()
            _clear_consumer_stores()


def _build_world(client: Any, runner: EventSources, receiver: Receiver) -> World:
    a, b = make_tenant("INV"), make_tenant("OTH")
    k = a.key

    def post(path: str, body: Any, headers: dict[str, str] | None = None) -> dict[str, Any]:
        resp = api("POST", path, k, body=body, headers=headers)
        assert resp.status in (200, 201, 202), (path, resp.body)
        return resp.json

    agent = post("/v1/agents", {"name": "Ann Agent", "email": "ann@a.example.com", "level": "N1"})
    agent2 = post("/v1/agents", {"name": "Bob Agent", "email": "bob@a.example.com", "level": "N2"})
    group = post("/v1/groups", {"name": "Tier 1", "agentIds": [agent2["id"]], "routing": "manual"})
    group2 = post("/v1/groups", {"name": "Tier 2", "agentIds": [agent["id"], agent2["id"]]})
    customer = post("/v1/customers", {"externalId": "cus_shared", "name": "Cy", "email": "cy@a.example.com"})
    customer2 = post("/v1/customers", {"externalId": "cus_a_only"})
    customer3 = post("/v1/customers", {"externalId": "cus_a_claim"})
    week = [{"day": d, "start": "09:00", "end": "17:00"} for d in ("mon", "tue", "wed", "thu", "fri")]
    hours = post("/v1/business-hours", {"name": "Paris office", "timeZone": "Europe/Paris", "weekly": week})
    hours2 = post("/v1/business-hours", {"name": "Always", "timeZone": "UTC", "weekly": week[:1]})
    targets = {"high": {"firstReplyMinutes": 60, "resolutionMinutes": 480}}
    policy = post(
        "/v1/sla-policies", {"name": "High", "position": 1, "targets": targets, "businessHoursId": hours["id"]}
    )
    email_targets = {"medium": {"firstReplyMinutes": 5, "resolutionMinutes": 60}}
    policy2 = post("/v1/sla-policies", {"name": "Email", "position": 2, "conditions": {"channel": ["email"]},
                                        "targets": email_targets})  # fmt: skip
    tag = post("/v1/tags", {"name": "billing"})
    tag2 = post("/v1/tags", {"name": "vip"})
    hook = post("/v1/webhooks", {"url": receiver.url, "events": ["*"]})
    hook2 = post("/v1/webhooks", {"url": receiver.url, "events": ["ticket.created"]})
    key2 = post("/v1/api-keys", {"scopes": ["tickets:read"], "name": "second"})
    ticket = post(
        "/v1/tickets",
        {"subject": "Printer on fire", "priority": "high", "customerId": customer["id"], "assigneeId": agent["id"]},
    )
    shared_body = {"subject": "Same body, same Idempotency-Key"}
    replayable = post("/v1/tickets", shared_body, headers={"Idempotency-Key": "shared-idem-key"})
    intake = post(
        "/v1/tickets/api-create",
        {"customerExternalId": "cus_shared", "subject": "Payment failed", "tagIds": [tag2["id"]], "dedupeKey": "dk-1"},
    )
    child = post("/v1/tickets", {"subject": "Child", "parentId": ticket["id"], "tags": ["billing"]})
    assert api("PATCH", f"/v1/tickets/{child['id']}", k, body={"status": "in_progress"}).status == 200
    closed = post("/v1/tickets", {"subject": "Done", "groupId": group["id"]})
    assert api("PATCH", f"/v1/tickets/{closed['id']}", k, body={"status": "closed"}).status == 200
    test_delivery = post(f"/v1/webhooks/{hook['id']}/test", None)
    attachment = _uploaded(k, runner)
    reply = post(f"/v1/tickets/{ticket['id']}/comments", {"body": "We are on it, Cy.", "attachmentIds": [attachment]})
    note = post(f"/v1/tickets/{ticket['id']}/comments", {"body": "Internal: toner again", "visibility": "internal"})
    runner.run_until_idle(timeout=60)  # history, deliveries and their log, emails: the template's consumers
    view = post("/v1/views", {"name": "Everything open", "conditions": {
        "all": [{"field": "status", "operator": "is_not", "value": "closed"}]}})  # fmt: skip
    view2 = post("/v1/views", {"name": "Ann's", "agentId": agent["id"]})

    key_ids = [row["id"] for row in _ok(api("GET", "/v1/api-keys", k))["data"]]
    a_ids = {
        "ticket": ticket["id"],
        "reference": ticket["reference"],
        "customer": customer["id"],
        "tag": tag["id"],
        "agent": agent["id"],
        "group": group["id"],
        "webhook": hook["id"],
        "api_key": key2["id"],
        "delivery": test_delivery["id"],
        "comment": reply["id"],
        "attachment": attachment,
        "view": view["id"],
        "business_hours": hours["id"],
        "sla_policy": policy["id"],
    }
    assert ticket["sla"]["policyId"] == policy["id"]  # A's own policy applies to A's tickets
    deliveries = _ok(api("GET", f"/v1/webhooks/{hook['id']}/deliveries", k, query={"limit": "100"}))["data"]
    history = _ok(api("GET", f"/v1/tickets/{child['id']}/history", k))["data"]
    assert len(deliveries) >= 2 and len(history) >= 2, (deliveries, history)
    a_values = {a.tenant_id, *a_ids.values(), *key_ids, *(d["id"] for d in deliveries)}
    a_values |= {x["id"] for x in (agent2, group2, customer2, customer3, tag2, hook2, replayable, intake, child, closed,
                                   note)}  # fmt: skip
    a_values.add(view2["id"])
    a_values |= {hours2["id"], policy2["id"]}
    a_values |= {t["reference"] for t in (ticket, replayable, intake, child, closed)}

    # B's own resources: the other half of mixed probes, and the parents of B's nested lists.
    b_ticket = _ok(api("POST", "/v1/tickets", b.key, body={"subject": "B's own"}), 201)
    b_hook = _ok(api("POST", "/v1/webhooks", b.key, body={"url": receiver.url}), 201)
    b_customer = _ok(api("POST", "/v1/customers", b.key, body={"externalId": "cus_shared"}), 201)  # unique per tenant
    b_attachment = _ok(api("POST", "/v1/attachments", b.key, body=ATTACHMENT), 201)  # pending: B never uploads it
    b_view = _ok(api("POST", "/v1/views", b.key, body={"name": "B's view"}), 201)
    b_group = _ok(api("POST", "/v1/groups", b.key, body={"name": "Tier 1"}), 201)
    b_ids = {"ticket": b_ticket["id"], "webhook": b_hook["id"], "customer": b_customer["id"],
             "attachment": b_attachment["id"], "view": b_view["id"], "group": b_group["id"]}  # fmt: skip
    assert not {b_ticket["reference"], *b_ids.values()} & a_values

    a_tickets = [t["id"] for t in (ticket, replayable, intake, child, closed)]
    w = World(client, a, b, a_ids, b_ids, a_values, a_tickets, receiver.url)
    # A cursor of A's for every list (limit=1 leaves more to read), on A's parent for nested lists.
    for method, path in LIST_ROUTES:
        a_path = _fill(path, w, "a")
        query = {"limit": "1"}
        page = _ok(api(method, a_path, k, query=query))
        assert page["nextCursor"], f"A needs two items in {path} to have a cursor"
        w.a_cursors[(method, path)] = (a_path, query, page["nextCursor"])
    # A's change feed holds A's events (so that B's reading it has something to miss).
    feed = _ok(api("GET", "/v1/events", k, query={"limit": "100"}))["data"]
    assert {e["data"]["ticket"]["id"] for e in feed if e["type"] == "ticket.created"} == set(a_tickets), feed
    w.snapshot = _snapshot(client, a.tenant_id)
    return w


ATTACHMENT = {"filename": "invoice.pdf", "contentType": "application/pdf", "size": 9}


def _uploaded(key: str, runner: EventSources) -> str:
    """A ready attachment: created, uploaded with its presigned POST, checked by the template's checker."""
    created = api("POST", "/v1/attachments", key, body=ATTACHMENT).json
    form = created["upload"]
    assert requests.post(form["url"], data=form["fields"], files={"file": ("i.pdf", b"%PDF-1.7\n")}, timeout=10).ok
    runner.run_until_idle(timeout=30)
    assert api("GET", f"/v1/attachments/{created['id']}", key).json["state"] == "ready"
    return str(created["id"])


def _fill(path: str, w: World, whose: str, override: dict[str, str] | None = None) -> str:
    """The route's path with A's ids ("a") or B's own ids where B has one ("b"); `override` by parameter name."""
    segments = path.strip("/").split("/")
    out = []
    for i, seg in enumerate(segments):
        m = re.fullmatch(r"\{(\w+)\+?\}", seg)
        if not m:
            out.append(seg)
            continue
        name = m.group(1)
        if override and name in override:
            out.append(override[name])
            continue
        resource = RESOURCE_OF_SEGMENT.get(segments[i - 1])
        assert resource in w.a_ids, f"{path}: no id of A's for {{{name}}}: add one to RESOURCE_OF_SEGMENT and the world"
        ids = w.b_ids if whose == "b" and resource in w.b_ids else w.a_ids
        out.append(ids[resource])
    return "/" + "/".join(out)


# ------------------------------------------------------------------------------------------------ checks


def _problem(resp: ApiResponse, *statuses: int) -> dict[str, Any]:
    assert resp.status in statuses, f"{resp.status} (wanted {statuses}): {resp.body[:500]}"
    assert resp.headers.get("content-type", "").startswith(PROBLEM_JSON), resp.headers
    body = resp.json
    assert body["status"] == resp.status and body["code"], body
    return body


def _no_a_data(w: World, resp: ApiResponse, where: str) -> None:
    leaked = sorted(v for v in w.a_values if v in resp.body)
    assert not leaked, f"{where}: B's answer carries A's {leaked}: {resp.body[:500]}"


def _forged_ids(w: World) -> list[str]:
    """Path segments as they would arrive in rawPath (percent-encoded where a client encodes)."""
    a, t = w.a.tenant_id, w.a_ids["ticket"]
    return [
        f"TENANT%23{a}%23TICKET%23{t}",  # A's whole key, '#' encoded
        f"TENANT#{a}#TICKET#{t}",  # ... and raw, as only a hand-made event could carry it
        f"{t}%23",
        f"%23{t}",
        "%23",
        f"{w.b_ids['ticket']}%23..%23{t}",
        f"..%2F..%2F{a}%2F{t}",  # '/' encoded: one path parameter, never two segments
        f"{t}%2Fhistory",
        "%2F",
        "%252F",  # double-encoded
        "%25",
        "%00",
        t.lower(),
        w.a_ids["reference"].lower(),
        "İNV-1",  # dotted capital I: upper() and casefold() disagree
        "\uff29\uff2e\uff36-1",  # fullwidth INV-1
        "%C3%A9%F0%9F%98%80",  # é and an emoji, encoded
        "é😀",  # ... and raw
        "%E2%80%AE" + t,  # right-to-left override
        "A" * 2000,
        "%F0%9F%98%80" * 300,
    ]


def _edited_cursors(cursor: str, w: World) -> list[tuple[str, str]]:
    raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
    data = json.loads(raw)

    def enc(obj: Any, *, sort: bool = True) -> str:
        text = json.dumps(obj, separators=(",", ":"), sort_keys=sort)
        return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")

    def resign(obj: dict[str, Any], secret: bytes) -> str:
        body = json.dumps({"k": obj["k"], "f": obj["f"]}, separators=(",", ":"), sort_keys=True).encode()
        sig = base64.urlsafe_b64encode(hmac.new(secret, b"tickets-cursor-v1\n" + body, hashlib.sha256).digest())
        return enc({**obj, "s": sig.decode().rstrip("=")})

    mid = len(cursor) // 2
    flip = "A" if cursor[mid] != "A" else "B"
    first_key = sorted(data["k"])[0]
    moved = {n: v.replace(w.a.tenant_id, w.b.tenant_id) for n, v in data["k"].items()}
    # A ticket list's cursor holds a position (a ULID), no tenant: there is nothing of A's in it to move.
    move = [("key moved to B's tenant", enc({**data, "k": moved}))] if moved != data["k"] else []
    return [
        ("a byte flipped", cursor[:mid] + flip + cursor[mid + 1 :]),
        ("last character changed", cursor[:-1] + ("A" if cursor[-1] != "A" else "B")),
        ("key changed", enc({**data, "k": {**data["k"], first_key: data["k"][first_key] + "0"}})),
        *move,
        ("fingerprint changed", enc({**data, "f": "0" * len(data["f"])})),
        ("signature removed", enc({"k": data["k"], "f": data["f"]})),
        ("signature emptied", enc({**data, "s": ""})),
        ("re-signed with a guessed key", resign(data, b"secret")),
        ("re-signed with an empty key", resign(data, b"")),
        ("moved and re-signed with a guessed key", resign({**data, "k": moved}, b"secret")),
        ("the same JSON spelled otherwise", base64.urlsafe_b64encode(json.dumps(data, indent=1).encode()).decode()),
        ("padding added", cursor + "=="),
        ("truncated by one", cursor[:-1]),
        ("truncated by half", cursor[:mid]),
        ("not base64", "!!not*base64!!"),
        ("percent signs", "%%%"),
        ("unicode", "é😀"),
        ("JSON array", enc([])),
        ("JSON null", enc(None)),
        ("empty JSON cursor", enc({"k": {}, "f": "", "s": ""})),
        ("deeply nested JSON", base64.urlsafe_b64encode(b"[" * 1400).decode()),
        ("huge", "A" * 5000),
    ]


# ------------------------------------------------------------------------------------------------ the matrix


def test_every_route_is_covered_or_exempt() -> None:
    covered = set(ID_ROUTES) | set(LIST_ROUTES) | set(BODY_PROBES) | set(SINGLETON_ROUTES)
    missing = [f"{m} {p}" for m, p in ROUTES if (m, p) not in covered and (m, p) not in EXEMPT]
    assert not missing, f"routes neither probed for isolation nor EXEMPT (with a reason): {missing}"
    stale = [r for r in (*BODY_PROBES, *EXEMPT, *ID_ROUTE_BODIES, *SINGLETON_ROUTES) if r not in ROUTES]
    assert not stale, f"isolation probes for routes the template no longer has: {stale}"
    assert all(reason.strip() for reason in EXEMPT.values())
    assert len(ROUTES) >= 40 and ID_ROUTES and LIST_ROUTES


@pytest.mark.parametrize(("method", "path"), ID_ROUTES, ids=[f"{m} {p}" for m, p in ID_ROUTES])
def test_given_a_route_with_ids_when_b_names_a_resources_or_forges_ids_then_404_or_400_and_a_is_unchanged(
    world: World, method: str, path: str
) -> None:
    w = world
    body = ID_ROUTE_BODIES.get((method, path), {} if method == "PATCH" else None)
    params = _params(path)

    # A's real ids; with several parameters, each of A's among B's own (B's webhook, A's delivery).
    paths = {_fill(path, w, "a")}
    if len(params) > 1:
        paths |= {_fill(path, w, "b", {name: w.a_ids[str(_resource(path, name))]}) for name in params}
    if _resource(path, params[0]) == "ticket":  # a ticket is also named by its reference
        paths.add(_fill(path, w, "a", {params[0]: w.a_ids["reference"]}))
    for p in sorted(paths):
        resp = api(method, p, w.b.key, body=body, kind="A's id by B")
        _problem(resp, 404)

    # Forged ids in each parameter, the others B's own (or A's where B has none).
    for name in params:
        for forged in _forged_ids(w):
            p = _fill(path, w, "b", {name: forged})
            try:
                resp = api(method, p, w.b.key, body=body, kind="forged id")
            except LookupError:  # no route of the template matches: API Gateway answers 404 itself
                PROBES["forged id (no route)"] += 1
                continue
            _problem(resp, 400, 404)

    # The route works for B's own resources (so the 404s above are isolation, not a broken route).
    if method == "GET" and all(_resource(path, n) in w.b_ids for n in params):
        _ok(api(method, _fill(path, w, "b"), w.b.key, kind="B's own"))
    _assert_a_unchanged(w)


def _resource(path: str, name: str) -> str | None:
    segments = path.strip("/").split("/")
    return RESOURCE_OF_SEGMENT.get(segments[segments.index(f"{{{name}}}") - 1])


@pytest.mark.parametrize(("method", "path"), SINGLETON_ROUTES, ids=[f"{m} {p}" for m, p in SINGLETON_ROUTES])
def test_given_a_route_about_the_caller_when_b_calls_it_then_only_b_and_never_a(
    world: World, method: str, path: str
) -> None:
    w = world
    resp = api(method, path, w.b.key, kind="about the caller")
    _ok(resp)
    _no_a_data(w, resp, f"{method} {path}")
    assert w.a.tenant_id not in resp.body
    for headers in ({"x-tenant-id": w.a.tenant_id}, {"x-api-key": w.b.key, "authorization": f"Bearer {w.a.key}"}):
        resp = api(method, path, w.b.key, headers=headers, kind="about the caller, naming A")
        assert resp.status != 200 or w.a.tenant_id not in resp.body, resp.body
    _assert_a_unchanged(w)


@pytest.mark.parametrize(("method", "path"), LIST_ROUTES, ids=[f"{m} {p}" for m, p in LIST_ROUTES])
def test_given_a_list_when_b_reads_it_or_replays_or_edits_a_cursor_then_only_b_items_or_400(
    world: World, method: str, path: str
) -> None:
    w = world
    nested = bool(_params(path))
    b_path = _fill(path, w, "b")
    assert not nested or all(_resource(path, n) in w.b_ids for n in _params(path)), f"B needs its own parent: {path}"

    resp = api(method, b_path, w.b.key, query={"limit": "100"}, kind="list")
    page = _ok(resp)
    assert isinstance(page["data"], list)
    _no_a_data(w, resp, f"{method} {b_path}")
    for query in LIST_FILTERS.get(path, lambda _: [])(w):
        resp = api(method, b_path, w.b.key, query=query, kind="list filtered by A's data")
        if resp.status == 200:
            _no_a_data(w, resp, f"{method} {b_path} {query}")
        else:
            _problem(resp, 400, 404)

    a_path, a_query, a_cursor = w.a_cursors[(method, path)]
    param = CURSOR_PARAMS.get(path, "cursor")
    # A's own cursor works for A: the 400s below are about who presents it and how it was changed.
    assert api(method, a_path, w.a.key, query={**a_query, param: a_cursor}, kind="A's cursor by A").status == 200
    attempts = [("A's cursor replayed by B", w.b.key, b_path, a_cursor)]
    if nested:  # within A's tenant, but for another parent: B's parent path is not A's, so use A's other one
        attempts.append(("A's cursor replayed by B on A's parent", w.b.key, a_path, a_cursor))
    for name, edited in _edited_cursors(a_cursor, w):
        attempts.append((f"{name}, by A", w.a.key, a_path, edited))
        attempts.append((f"{name}, by B", w.b.key, b_path, edited))
    for name, key, p, cursor in attempts:
        resp = api(method, p, key, query={**a_query, param: cursor}, kind="tampered or replayed cursor")
        if resp.status == 404 and key == w.b.key and p == a_path:
            continue  # B on A's parent: 404 before any cursor is read
        body = _problem(resp, 400)
        assert body["code"] == "VALIDATION_ERROR" and body["errors"][0]["field"] == param, (name, body)
    _assert_a_unchanged(w)


def test_given_a_nested_list_when_a_cursor_of_one_parent_is_used_on_another_then_400(world: World) -> None:
    """Same tenant, same filters, another ticket or webhook: DynamoDB would refuse the start key (a 500)."""
    w = world
    for method, path in LIST_ROUTES:
        if not _params(path):
            continue
        resource = _resource(path, _params(path)[0])
        a_path, a_query, a_cursor = w.a_cursors[(method, path)]
        parents = {"ticket": "tickets", "webhook": "webhooks", "view": "views"}
        rows = _ok(api("GET", f"/v1/{parents[str(resource)]}", w.a.key))["data"]
        other = next(r["id"] for r in rows if r["id"] not in a_path)
        resp = api(
            method, _fill(path, w, "a", {_params(path)[0]: other}), w.a.key, query={**a_query, "cursor": a_cursor}
        )
        PROBES["cursor on another parent"] += 1
        body = _problem(resp, 400)
        assert body["errors"][0]["field"] == "cursor"
    _assert_a_unchanged(w)


# ------------------------------------------------------------------------------------------------ bodies naming A


def _all_404(resp: ApiResponse, ids: list[str]) -> None:
    body = _ok(resp)
    assert [r["id"] for r in body["results"]] == ids, body
    assert {r["status"] for r in body["results"]} == {404} and body["succeeded"] == 0, body


def _bulk(body_of: Callable[[list[str]], dict[str, Any]]) -> Callable[[World, str, str], None]:
    def probe(w: World, method: str, path: str) -> None:
        ids = w.a_tickets
        _all_404(api(method, path, w.b.key, body=body_of(ids), kind="bulk with A's ids"), ids)
        forged = [f"TENANT#{w.a.tenant_id}#TICKET#{ids[0]}", f"{ids[0]}%2F", ids[0].lower(), "é", "A" * 300]
        resp = api(method, path, w.b.key, body=body_of(forged), kind="bulk with forged ids")
        if resp.status == 200:
            assert {r["status"] for r in resp.json["results"]} <= {400, 404}, resp.body
        else:
            _problem(resp, 400)

    return probe


def _batch(w: World, method: str, path: str) -> None:
    _bulk(lambda ids: {"ids": ids, "actions": [{"type": "set_status", "value": "closed"}]})(w, method, path)
    resp = api(
        method,
        path,
        w.b.key,
        body={"ids": [w.b_ids["ticket"]], "actions": [{"type": "assign", "value": w.a_ids["agent"]}]},
        kind="batch assigning A's agent",
    )
    (result,) = _ok(resp)["results"]
    assert result["status"] in (400, 404) and result["error"]["code"] in ("INVALID_ASSIGNEE", "NOT_FOUND"), result
    resp = api(
        method,
        path,
        w.b.key,
        body={"ids": [w.b_ids["ticket"]], "actions": [{"type": "set_group", "value": w.a_ids["group"]}]},
        kind="batch moving into A's group",
    )
    (result,) = _ok(resp)["results"]
    assert (result["status"], result["error"]["code"]) == (400, "INVALID_GROUP"), result


def _create_group(w: World, method: str, path: str) -> None:
    """B's group cannot take A's agents as members; one named like A's is B's own."""
    for agent_id in (w.a_ids["agent"], f"TENANT#{w.a.tenant_id}#AGENT#{w.a_ids['agent']}"):
        body = {"name": "Tier 1", "agentIds": [agent_id]}
        problem = _problem(api(method, path, w.b.key, body=body, kind="group with A's agent"), 400)
        assert problem["errors"][0]["field"].startswith("agentIds"), problem
    _create_plain(lambda w: {"name": "Tier 1", "routing": "manual"})(w, method, path)


def _solve_unfinished(w: World, method: str, path: str) -> None:
    resp = api(method, path, w.b.key, body={"customerId": w.a_ids["customer"]}, kind="solve A's customer")
    if resp.status == 200:
        assert resp.json["resolved"] == 0, resp.body
    else:
        _problem(resp, 400, 404)
    unfinished = "new,open,in_progress,pending,on_hold"
    b_unfinished = _ok(api("GET", "/v1/tickets", w.b.key, query={"status": unfinished}))["total"]
    resp = api(method, path, w.b.key, body={}, kind="solve all of B")
    assert _ok(resp)["resolved"] == b_unfinished, resp.body  # B's own tickets, and none of A's (the snapshot)


def _create_ticket(w: World, method: str, path: str) -> None:
    for field_name, value, code in [
        ("customerId", w.a_ids["customer"], "INVALID_CUSTOMER"),
        ("assigneeId", w.a_ids["agent"], "INVALID_ASSIGNEE"),
        ("parentId", w.a_ids["ticket"], "INVALID_PARENT"),
        ("groupId", w.a_ids["group"], "INVALID_GROUP"),
        ("customerId", f"TENANT#{w.a.tenant_id}#CUSTOMER#{w.a_ids['customer']}", None),
    ]:
        resp = api(method, path, w.b.key, body={"subject": "x", field_name: value}, kind="create naming A's data")
        body = _problem(resp, 400, 404)
        assert code is None or body["code"] == code, body
    # A's Idempotency-Key with A's very body: a fresh ticket of B's, not A's stored answer.
    body = {"subject": "Same body, same Idempotency-Key"}
    resp = api(method, path, w.b.key, body=body, headers={"Idempotency-Key": "shared-idem-key"}, kind="A's idem key")
    assert _ok(resp, 201) and "idempotent-replayed" not in resp.headers
    _no_a_data(w, resp, "POST /v1/tickets with A's Idempotency-Key")


def _api_create(w: World, method: str, path: str) -> None:
    resp = api(method, path, w.b.key, body={"customerExternalId": "cus_a_only", "subject": "x"}, kind="api-create")
    assert _problem(resp, 404)["code"] == "CUSTOMER_NOT_FOUND"
    body = {"customerExternalId": "cus_shared", "subject": "x", "tagIds": [w.a_ids["tag"]]}
    assert _problem(api(method, path, w.b.key, body=body, kind="api-create"), 400)["code"] == "INVALID_TAG"
    body = {"customerExternalId": "cus_shared", "subject": "x", "groupId": w.a_ids["group"]}
    assert _problem(api(method, path, w.b.key, body=body, kind="api-create"), 400)["code"] == "INVALID_GROUP"
    # A's dedupeKey: a new ticket of B's for B's own customer, never a repeat of A's; never A's agent.
    body = {"customerExternalId": "cus_shared", "subject": "x", "dedupeKey": "dk-1"}
    resp = api(method, path, w.b.key, body=body, headers={"Idempotency-Key": "shared-idem-key"}, kind="api-create")
    created = _ok(resp, 201)
    assert created["customerId"] == w.b_ids["customer"] and created["occurrences"] == 1, created
    _no_a_data(w, resp, "api-create with A's dedupeKey")


def _create_plain(body: Callable[[World], dict[str, Any]]) -> Callable[[World, str, str], None]:
    """A create that names what A also has (externalId, tag name): B's own, 201, nothing of A's."""

    def probe(w: World, method: str, path: str) -> None:
        resp = api(method, path, w.b.key, body=body(w), kind="create with A's names")
        _ok(resp, 201)
        _no_a_data(w, resp, f"{method} {path}")

    return probe


def _attachments(w: World, method: str, path: str) -> None:
    """B's upload is B's; and A's attachment, named in B's comment on B's own ticket, is unknown there."""
    _create_plain(lambda w: ATTACHMENT)(w, method, path)
    comment = {"body": "B claims A's file", "attachmentIds": [w.a_ids["attachment"]]}
    resp = api("POST", f"/v1/tickets/{w.b_ids['ticket']}/comments", w.b.key, body=comment, kind="A's attachment by B")
    body = _problem(resp, 400)
    assert body["code"] == "INVALID_ATTACHMENT" and body["errors"][0]["field"] == "attachmentIds", body


def _realtime_token(w: World, method: str, path: str) -> None:
    """B's token is bound to B's key: it opens a connection under B's partition only, whatever B names."""
    from tools.events import websocket_event

    resp = api(method, path, w.b.key, kind="realtime token")
    token = _ok(resp, 201)["token"]
    _no_a_data(w, resp, f"{method} {path}")
    for headers in ({"x-tenant-id": w.a.tenant_id}, {"x-api-key": w.b.key, "authorization": f"Bearer {w.a.key}"}):
        _no_a_data(w, api(method, path, w.b.key, headers=headers, kind="realtime token, naming A"), path)
    connect = FUNCTIONS[template.websocket_routes()["$connect"].function]
    event = websocket_event("$connect", "isolationConnB=", api_id="local", stage="v1", domain="127.0.0.1",
                            query={"token": token})  # fmt: skip
    assert template.load_handler(connect)(event, FakeContext(connect.name))["statusCode"] == 200
    PROBES["realtime connect"] += 1
    conns = w.client.query(
        TableName=TABLE, KeyConditionExpression="PK = :pk AND begins_with(SK, :c)",
        ExpressionAttributeValues={":pk": {"S": f"TENANT#{w.b.tenant_id}"}, ":c": {"S": "CONN#"}},
    )["Items"]  # fmt: skip
    assert [c["connectionId"]["S"] for c in conns] == ["isolationConnB="]


def _create_view(w: World, method: str, path: str) -> None:
    """A view of another tenant's agent is refused; one whose conditions name A's ids lists B's tickets only."""
    resp = api(method, path, w.b.key, body={"name": "A's agent's", "agentId": w.a_ids["agent"]}, kind="view for A")
    assert _problem(resp, 400)["errors"][0]["field"] == "agentId"
    naming_a = {"name": "A's things", "conditions": {"any": [
        {"field": "customerId", "operator": "in", "value": [w.a_ids["customer"], w.b_ids["customer"]]},
        {"field": "assigneeId", "operator": "is", "value": w.a_ids["agent"]},
        {"field": "status", "operator": "is_not", "value": "closed"}]}}  # fmt: skip
    view = _ok(api(method, path, w.b.key, body=naming_a, kind="view naming A's data"), 201)
    for sub in ("tickets", "count"):
        resp = api("GET", f"/v1/views/{view['id']}/{sub}", w.b.key, kind="B's view naming A's data")
        _ok(resp)
        _no_a_data(w, resp, f"B's view naming A's data: {sub}")


def _create_business_hours(w: World, method: str, path: str) -> None:
    body = {
        "name": "Paris office",
        "timeZone": "Europe/Paris",
        "weekly": [{"day": "mon", "start": "09:00", "end": "17:00"}],
    }
    created = _ok(api(method, path, w.b.key, body=body, kind="business hours named like A's"), 201)
    assert created["id"] != w.a_ids["business_hours"]
    _no_a_data(w, api("GET", "/v1/business-hours", w.b.key), "B's business hours")


def _create_sla_policy(w: World, method: str, path: str) -> None:
    targets = {"high": {"firstReplyMinutes": 1, "resolutionMinutes": 2}}
    body = {"name": "B's", "position": 0, "targets": targets, "businessHoursId": w.a_ids["business_hours"]}
    problem = _problem(api(method, path, w.b.key, body=body, kind="policy on A's business hours"), 400)
    assert problem["code"] == "INVALID_BUSINESS_HOURS" and problem["errors"][0]["field"] == "businessHoursId"
    body = {"name": "B's", "position": 0, "targets": targets}
    _ok(api(method, path, w.b.key, body=body, kind="B's own policy at position 0"), 201)
    # B's policy applies to B's tickets only; A's tickets keep A's policy (the snapshot)
    created = _ok(api("POST", "/v1/tickets", w.b.key, body={"subject": "B's", "priority": "high"}), 201)
    assert created["sla"]["policyId"] not in w.a_values and created["sla"]["firstReplyDueAt"]


BODY_PROBES: dict[tuple[str, str], Callable[[World, str, str], None]] = {
    ("POST", "/v1/views"): _create_view,
    ("POST", "/v1/business-hours"): _create_business_hours,
    ("POST", "/v1/sla-policies"): _create_sla_policy,
    ("POST", "/v1/attachments"): _attachments,
    ("POST", "/v1/tickets/bulk/status"): _bulk(lambda ids: {"ids": ids, "status": "closed"}),
    ("POST", "/v1/tickets/bulk/priority"): _bulk(lambda ids: {"ids": ids, "priority": "critical"}),
    ("POST", "/v1/tickets/bulk/delete"): _bulk(lambda ids: {"ids": ids}),
    ("POST", "/v1/tickets/batch"): _batch,
    ("POST", "/v1/tickets/solve-unfinished"): _solve_unfinished,
    ("POST", "/v1/tickets"): _create_ticket,
    ("POST", "/v1/tickets/api-create"): _api_create,
    ("POST", "/v1/customers"): _create_plain(lambda w: {"externalId": "cus_a_claim"}),
    ("POST", "/v1/tags"): _create_plain(lambda w: {"name": "vip"}),
    ("POST", "/v1/agents"): _create_plain(lambda w: {"name": "Ann Agent", "email": "ann@a.example.com"}),
    ("POST", "/v1/groups"): _create_group,
    ("POST", "/v1/webhooks"): _create_plain(lambda w: {"url": w.hook_url}),
    ("POST", "/v1/api-keys"): _create_plain(lambda w: {"scopes": ["tickets:read"], "name": "second"}),
    ("POST", "/v1/realtime/tokens"): _realtime_token,
}


@pytest.mark.parametrize(("method", "path"), sorted(BODY_PROBES), ids=[f"{m} {p}" for m, p in sorted(BODY_PROBES)])
def test_given_a_route_without_ids_when_b_names_a_data_in_the_body_then_nothing_of_a_is_reached(
    world: World, method: str, path: str
) -> None:
    BODY_PROBES[(method, path)](world, method, path)
    _assert_a_unchanged(world)


def test_given_every_probe_then_a_is_byte_for_byte_unchanged_and_still_works(world: World) -> None:
    _assert_a_unchanged(world)
    w = world
    for method, path in LIST_ROUTES:  # A still pages through its own lists with its own cursors
        a_path, a_query, a_cursor = w.a_cursors[(method, path)]
        assert (
            api(method, a_path, w.a.key, query={**a_query, CURSOR_PARAMS.get(path, "cursor"): a_cursor}).status == 200
        )
    print(f"\nisolation probes: {dict(PROBES)}; total {sum(PROBES.values())}")
