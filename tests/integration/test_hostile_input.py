"""Hostile input on every route, through the real handlers: always a 4xx problem+json, never a write, never a 500.

The routes come from template.yaml (tools.template.functions()), so a new route is probed without anyone
listing it: every route gets the request-level probes (malformed or non-object JSON, wrong media types,
oversized and base64 bodies, 10,000-level nesting, invalid UTF-8, NUL and lone surrogates in path ids,
headers and query strings), and every write route with a body also gets the field-level probes, generated
from a valid body per route (BODIES, which a test keeps complete): every string in it is replaced in turn
by a huge string, a NUL and lone surrogates, every number by numbers DynamoDB cannot store. Paged routes
(a `limit` parameter in the OpenAPI document) get hostile counts and repeated parameters.

The requests run against one moto table per module with a tenant that owns one of everything, so each
path id is real: the request would succeed if it were not hostile (TestControls proves it). "Writes
nothing" is checked by scanning the whole table before and after each request.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import boto3
import pytest
from moto import mock_aws

from tests.conftest import TABLE, ApiResponse, TenantKey, call, make_tenant, reset_caches
from tickets.config import settings
from tools import template
from tools.events import FakeContext, http_event

pytestmark = pytest.mark.slow  # every write route x every field x every hostile value

FUNCTIONS = template.functions()
# The API's routes. The console's file routes take no input but a file name: tests/integration/test_console.py.
ROUTES = sorted({(r.method, r.path) for fn in FUNCTIONS.values() for r in fn.routes if r.is_api})
WRITE_ROUTES = [(m, p) for m, p in ROUTES if m in ("POST", "PATCH", "PUT")]
OPENAPI = json.loads((template.ROOT / "docs" / "openapi.json").read_text())
PAGED_ROUTES = sorted(
    ("GET", path)
    for path, ops in OPENAPI["paths"].items()
    if any(p["name"] == "limit" for p in (ops.get("get") or {}).get("parameters", []))
)

HOOK_URL = "https://93.184.215.14/hook"  # a public address: the SSRF check needs no DNS

# A valid body for every write route (None: the route takes no body). Path ids are filled in from the world.
BODIES: dict[tuple[str, str], dict[str, Any] | None] = {
    ("POST", "/v1/tickets"): {
        "subject": "Printer on fire",
        "description": "It smokes",
        "priority": "high",
        "category": "hardware",
        "requester": {"name": "Ann", "email": "ann@example.com", "phone": "+33"},
        "tags": ["billing"],
        "customFields": {"seats": 3, "plan": "pro"},
        "metadata": {"orderId": "ord_1", "amount": 12.5},
        "dedupeKey": "k-1",
        "dueAt": "2030-01-01T00:00:00Z",
        "groupId": "{group}",
        "requiredSkills": ["french"],
    },
    ("PATCH", "/v1/tickets/{id}"): {
        "subject": "Printer still on fire",
        "status": "open",
        "category": "hw",
        "tags": ["vip"],
        "customFields": {"seats": 4},
        "metadata": {"orderId": "ord_2"},
        "groupId": "{group}",
        "requiredSkills": ["billing"],
    },
    ("POST", "/v1/tickets/api-create"): {
        "customerExternalId": "cus_1",
        "subject": "Payment failed",
        "description": "card declined",
        "category": "billing",
        "tags": ["payments"],
        "metadata": {"orderId": "ord_3"},
        "dedupeKey": "payment-failed:ord_3",
        "groupId": "{group}",
        "requiredSkills": ["payments"],
    },
    ("POST", "/v1/customers"): {
        "externalId": "cus_2",
        "name": "Bob",
        "email": "bob@example.com",
        "phone": "+44",
        "metadata": {"plan": "pro"},
    },
    ("PATCH", "/v1/customers/{id}"): {"name": "Ann Lee", "email": "ann.lee@example.com", "metadata": {"tier": 2}},
    ("POST", "/v1/tags"): {"name": "urgent-ish"},
    ("PATCH", "/v1/tags/{id}"): {"name": "billing-2"},
    ("POST", "/v1/agents"): {
        "name": "Ada",
        "email": "ada@example.com",
        "level": "N2",
        "available": False,
        "skills": ["billing"],
        "capacity": 5,
    },
    ("PATCH", "/v1/agents/{id}"): {"name": "Grace H", "email": "grace.h@example.com", "skills": ["sso"], "capacity": 9},
    ("POST", "/v1/groups"): {
        "name": "Tier 1",
        "description": "First line",
        "agentIds": ["{agent}"],
        "routing": "round_robin",
    },
    ("PATCH", "/v1/groups/{id}"): {"name": "Tier 1b", "description": "Second", "agentIds": [], "routing": "manual"},
    ("POST", "/v1/webhooks"): {"url": HOOK_URL, "events": ["ticket.created"], "description": "CRM sync"},
    ("PATCH", "/v1/webhooks/{id}"): {"description": "CRM sync v2", "events": ["*"]},
    ("POST", "/v1/webhooks/{id}/rotate-secret"): None,
    ("POST", "/v1/webhooks/{id}/test"): None,
    ("POST", "/v1/webhooks/{id}/deliveries/{deliveryId}/retry"): None,
    ("POST", "/v1/api-keys"): {"scopes": ["tickets:read"], "name": "ci"},
    ("POST", "/v1/tickets/bulk/status"): {"ids": ["{ticket}"], "status": "pending"},
    ("POST", "/v1/tickets/bulk/priority"): {"ids": ["{ticket}"], "priority": "low"},
    ("POST", "/v1/tickets/bulk/delete"): {"ids": ["{ticket}"]},
    ("POST", "/v1/tickets/batch"): {
        "ids": ["{ticket}"],
        "actions": [{"type": "set_category", "value": "batched"}, {"type": "set_group", "value": "{group}"}],
    },
    ("POST", "/v1/tickets/solve-unfinished"): {"customerId": "{customer}"},
    ("POST", "/v1/tickets/{id}/unlink-customer"): None,
    ("POST", "/v1/tickets/{id}/comments"): {"body": "We are on it.", "visibility": "internal", "status": "open"},
    ("POST", "/v1/tickets/{id}/comments/{commentId}/redact"): None,
    ("POST", "/v1/attachments"): {"filename": "invoice.pdf", "contentType": "application/pdf", "size": 1234},
    ("POST", "/v1/realtime/tokens"): None,
    ("POST", "/v1/views"): {
        "name": "Urgent VIP",
        "conditions": {
            "all": [
                {"field": "tag", "operator": "is", "value": "vip"},
                {"field": "status", "operator": "in", "value": ["new", "open"]},
            ]
        },
        "sort": "-createdAt",
    },
    ("PATCH", "/v1/views/{id}"): {
        "name": "Urgent VIP 2",
        "conditions": {"any": [{"field": "category", "operator": "is", "value": "billing"}]},
    },
    ("POST", "/v1/business-hours"): {
        "name": "Paris office",
        "timeZone": "Europe/Paris",
        "weekly": [{"day": "mon", "start": "09:00", "end": "17:30"}],
        "holidays": ["2026-12-25"],
    },
    ("PATCH", "/v1/business-hours/{id}"): {
        "name": "Paris",
        "timeZone": "America/New_York",
        "weekly": [{"day": "tue", "start": "08:00", "end": "12:00"}],
        "holidays": ["2027-01-01"],
    },
    ("POST", "/v1/sla-policies"): {
        "name": "Urgent",
        "position": 1,
        "conditions": {"priority": ["urgent"], "groupId": ["g1"], "channel": ["email"]},
        "targets": {"urgent": {"firstReplyMinutes": 30, "resolutionMinutes": 240}},
        "businessHoursId": "{businesshours}",
    },
    ("PATCH", "/v1/sla-policies/{id}"): {
        "name": "Urgent 2",
        "position": 2,
        "conditions": {"groupId": ["g2"]},
        "targets": {"low": {"firstReplyMinutes": 600, "resolutionMinutes": 6000}},
        "businessHoursId": "{businesshours}",
    },
}
# What the valid request answers in this world (retry needs a delivery that only the pipeline makes).
CONTROL_STATUS = {("POST", "/v1/webhooks/{id}/deliveries/{deliveryId}/retry"): 404}
# A path's first segment -> the key of its entity in World.ids, where dropping the plural "s" does not make it.
PATH_ENTITIES = {"api-keys": "apikey", "business-hours": "businesshours", "sla-policies": "slapolicy"}


# ---------------------------------------------------------------- the world: one of everything, one table


@dataclass
class World:
    client: Any
    tenant: TenantKey
    ids: dict[str, str]  # entity -> id: ticket, customer, tag, agent, group, webhook, apikey, comment, attachment,
    # view, businesshours, slapolicy
    refs: dict[str, str]  # what the functions' environment resolves against (table, queues)

    def path(self, template_path: str) -> str:
        """The route's path with real ids of this tenant."""
        segment = template_path.split("/")[2]
        entity = PATH_ENTITIES.get(segment, segment.rstrip("s"))
        path = template_path.replace("{deliveryId}", "dlv_01J0000000000000000000000")
        path = path.replace("{commentId}", self.ids["comment"])
        return path.replace("{id}", self.ids[entity]) if "{id}" in path else path

    def body(self, route: tuple[str, str]) -> Any:
        text = json.dumps(BODIES[route])
        for entity, entity_id in self.ids.items():  # "{ticket}", "{customer}", "{businesshours}"...
            text = text.replace(f'"{{{entity}}}"', json.dumps(entity_id))
        return json.loads(text)

    def snapshot(self) -> list[str]:
        """Every item of the whole table (all tenants, key lookups, idempotency records), comparable."""
        out, kwargs = [], {"TableName": TABLE}
        while True:
            page = self.client.scan(**kwargs)
            out += [json.dumps(i, sort_keys=True) for i in page["Items"]]
            if "LastEvaluatedKey" not in page:
                return sorted(out)
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def _ok(r: ApiResponse, status: int = 201) -> dict[str, Any]:
    assert r.status == status, r.body
    return r.json


def _tenant_with_one_of_each(prefix: str) -> tuple[TenantKey, dict[str, str]]:
    """A tenant owning one resource of every kind, so that every route's path id is real."""
    tenant = make_tenant(prefix)
    k = tenant.key
    ids = {
        "customer": _ok(call("POST", "/v1/customers", key=k, body={"externalId": "cus_1", "name": "Ann"}))["id"],
        "tag": _ok(call("POST", "/v1/tags", key=k, body={"name": "billing"}))["id"],
        "agent": _ok(call("POST", "/v1/agents", key=k, body={"name": "Grace", "email": "g@example.com"}))["id"],
        "webhook": _ok(call("POST", "/v1/webhooks", key=k, body={"url": HOOK_URL}))["id"],
        "apikey": _ok(call("POST", "/v1/api-keys", key=k, body={"scopes": ["tickets:read"]}))["id"],
    }
    ids["group"] = _ok(call("POST", "/v1/groups", key=k, body={"name": "Tier 1", "agentIds": [ids["agent"]]}))["id"]
    ids["ticket"] = _ok(call("POST", "/v1/tickets", key=k, body={"subject": "x", "customerId": ids["customer"]}))["id"]
    note = {"body": "first note", "visibility": "internal"}
    ids["comment"] = _ok(call("POST", f"/v1/tickets/{ids['ticket']}/comments", key=k, body=note))["id"]
    upload = {"filename": "a.pdf", "contentType": "application/pdf", "size": 10}
    ids["attachment"] = _ok(call("POST", "/v1/attachments", key=k, body=upload))["id"]
    ids["view"] = _ok(call("POST", "/v1/views", key=k, body={"name": "All"}))["id"]
    week = [{"day": "mon", "start": "09:00", "end": "17:00"}]
    calendar = {"name": "Office", "timeZone": "UTC", "weekly": week}
    ids["businesshours"] = _ok(call("POST", "/v1/business-hours", key=k, body=calendar))["id"]
    policy = {"name": "P", "position": 9, "targets": {"high": {"firstReplyMinutes": 60, "resolutionMinutes": 240}}}
    ids["slapolicy"] = _ok(call("POST", "/v1/sla-policies", key=k, body=policy))["id"]
    return tenant, ids


@pytest.fixture(scope="module")
def world() -> Iterator[World]:
    with mock_aws():
        reset_caches()
        client = boto3.client("dynamodb", region_name="us-east-1")
        template.create_table(client, TABLE)
        queues = template.create_queues(boto3.client("sqs", region_name="us-east-1"))
        buckets = template.create_buckets(boto3.client("s3", region_name="us-east-1"), queues)
        refs = template.build_refs(table={"Table": TABLE}, queues=queues, buckets=buckets)
        tenant, ids = _tenant_with_one_of_each("HOS")
        yield World(client, tenant, ids, refs)
    reset_caches()


def invoke(
    world: World,
    method: str,
    path: str,
    *,
    body: Any = None,
    headers: dict[str, str] | None = None,
    query: str | None = None,
    event_changes: dict[str, Any] | None = None,
) -> ApiResponse:
    """Like tests.conftest.call, but the event can be edited after it is built: API Gateway can hand a function
    values (lone surrogates in path ids or query values) that no HTTP client library will encode."""
    for fn in FUNCTIONS.values():
        for route in fn.routes:
            if (route.method, route.path) == (method, path):
                break
        else:
            continue
        break
    else:
        raise LookupError(f"no function serves {method} {path}")
    template.apply_env(fn, world.refs)
    settings.cache_clear()  # the settings model is read from the environment once per container
    real_path = world.path(path)
    params = route.match(method, real_path) or {}
    hdrs = {"x-api-key": world.tenant.key, **(headers or {})}
    event = http_event(method, real_path, route_path=path, path_params=params, headers=hdrs, query=query, body=body)
    event.update(event_changes or {})
    result = template.load_handler(fn)(event, FakeContext(fn.name))
    out_headers = {k.lower(): v for k, v in (result.get("headers") or {}).items()}
    return ApiResponse(result["statusCode"], out_headers, result.get("body") or "")


def assert_refused(
    world: World, status: int, code: str, field: str | None, method: str, path: str, **kwargs: Any
) -> dict[str, Any]:
    """The request is a `status` problem+json with `code` (naming `field`, or a parent of it) and writes nothing."""
    before = world.snapshot()
    r = invoke(world, method, path, **kwargs)
    assert world.snapshot() == before, f"{method} {path} wrote to the table"
    assert r.status == status, r.body
    assert r.headers["content-type"] == "application/problem+json", r.headers
    problem = r.json
    assert problem["status"] == status and problem["code"] == code, problem
    assert set(problem) >= {"type", "title", "detail", "code", "errors", "requestId"}
    if field is not None:
        named = [e["field"] for e in problem["errors"]]
        assert any(field == f or field.startswith(f"{f}.") for f in named), (field, problem)
    return problem


def _id(route: tuple[str, str]) -> str:
    return f"{route[0]} {route[1]}"


def _params(path: str) -> list[str]:
    return [part[1:-1] for part in path.split("/") if part.startswith("{")]


# ---------------------------------------------------------------- coverage of the route list


def test_given_the_template_then_every_write_route_has_a_valid_body_to_mutate() -> None:
    assert len(WRITE_ROUTES) >= 20, WRITE_ROUTES
    assert sorted(BODIES) == WRITE_ROUTES, "add the new route's valid body to BODIES"
    assert len(PAGED_ROUTES) >= 8, PAGED_ROUTES
    assert set(PAGED_ROUTES) <= set(ROUTES)


# ---------------------------------------------------------------- 1. the body as a whole, on every write route

JSON_CT = {"content-type": "application/json"}
BIG = 300 * 1024
# (name, body, headers, status, code, field)
BODY_PROBES: list[tuple[str, str | bytes, dict[str, str], int, str, str | None]] = [
    ("truncated JSON", '{"subject": ', JSON_CT, 400, "INVALID_JSON", None),
    ("not JSON at all", "subject=x", JSON_CT, 400, "INVALID_JSON", None),
    ("trailing garbage", "{} {}", JSON_CT, 400, "INVALID_JSON", None),
    ("an array", "[]", JSON_CT, 400, "VALIDATION_ERROR", "body"),
    ("an array of objects", '[{"subject": "x"}]', JSON_CT, 400, "VALIDATION_ERROR", "body"),
    ("a string", '"subject"', JSON_CT, 400, "VALIDATION_ERROR", "body"),
    ("a number", "42", JSON_CT, 400, "VALIDATION_ERROR", "body"),
    ("null", "null", JSON_CT, 400, "VALIDATION_ERROR", "body"),
    ("true", "true", JSON_CT, 400, "VALIDATION_ERROR", "body"),
    ("a form", "subject=x", {"content-type": "application/x-www-form-urlencoded"}, 415, "UNSUPPORTED_MEDIA_TYPE", None),
    ("text/plain JSON", '{"subject": "x"}', {"content-type": "text/plain"}, 415, "UNSUPPORTED_MEDIA_TYPE", None),
    ("merge-patch", "{}", {"content-type": "application/merge-patch+json"}, 415, "UNSUPPORTED_MEDIA_TYPE", None),
    ("a vendor +json", "{}", {"content-type": "application/vnd.api+json"}, 415, "UNSUPPORTED_MEDIA_TYPE", None),
    (
        "latin-1 charset",
        "{}",
        {"content-type": "application/json; charset=latin-1"},
        415,
        "UNSUPPORTED_MEDIA_TYPE",
        None,
    ),
    ("multipart", "--x--", {"content-type": "multipart/form-data; boundary=x"}, 415, "UNSUPPORTED_MEDIA_TYPE", None),
    ("300 KB", '{"subject": "' + "x" * BIG + '"}', JSON_CT, 413, "PAYLOAD_TOO_LARGE", None),
    (
        "300 KB in 100 K characters",
        '{"subject": "' + "\u20ac" * (BIG // 3) + '"}',
        JSON_CT,
        413,
        "PAYLOAD_TOO_LARGE",
        None,
    ),
    ("300 KB of base64", b"\xff" + b" " * BIG, JSON_CT, 413, "PAYLOAD_TOO_LARGE", None),
    ("300 KB without Content-Type", "[" * BIG, {}, 413, "PAYLOAD_TOO_LARGE", None),
    ("10,000 nested arrays", "[" * 10_000 + "]" * 10_000, JSON_CT, 400, "VALIDATION_ERROR", "body"),
    ("10,000 nested objects", '{"a":' * 10_000 + "1" + "}" * 10_000, JSON_CT, 400, "VALIDATION_ERROR", "body"),
    (
        "10,000 levels in a field",
        '{"metadata": ' + "[" * 10_000 + "]" * 10_000 + "}",
        JSON_CT,
        400,
        "VALIDATION_ERROR",
        "body",
    ),
    ("33 levels", '{"metadata": ' + '{"a":' * 32 + "1" + "}" * 32 + "}", JSON_CT, 400, "VALIDATION_ERROR", "body"),
    ("10,000 unclosed brackets", "[" * 10_000, JSON_CT, 400, "VALIDATION_ERROR", "body"),
    ("invalid UTF-8", b'{"subject": "\xff\xfe\xc3"}', JSON_CT, 400, "INVALID_JSON", None),
    ("UTF-16", '{"subject": "x"}'.encode("utf-16"), JSON_CT, 400, "INVALID_JSON", None),
    ("CESU-8 surrogate bytes", b'{"subject": "\xed\xa0\x80"}', JSON_CT, 400, "INVALID_JSON", None),
    ("a 5,000-digit number", '{"subject": ' + "9" * 5000 + "}", JSON_CT, 400, "VALIDATION_ERROR", "body"),
    ("a lone surrogate key", '{"\\ud800": 1}', JSON_CT, 400, "VALIDATION_ERROR", "body"),
    ("a NUL key", '{"\\u0000": 1}', JSON_CT, 400, "VALIDATION_ERROR", "body"),
]


@pytest.mark.parametrize("probe", BODY_PROBES, ids=[p[0] for p in BODY_PROBES])
@pytest.mark.parametrize("route", WRITE_ROUTES, ids=_id)
def test_given_a_hostile_body_on_any_write_route_then_4xx_problem_and_nothing_written(
    world: World, route: tuple[str, str], probe: tuple[str, str | bytes, dict[str, str], int, str, str | None]
) -> None:
    _name, body, headers, status, code, field = probe
    assert_refused(world, status, code, field, *route, body=body, headers=headers)


# ---------------------------------------------------------------- 2. every field of every write route's body

HUGE = "x" * 200_000  # over every field's limit, under the 256 KB body limit
TOO_LONG_INT = "__5000_DIGITS__"
STRING_VARIANTS = {
    "huge": HUGE,
    "NUL": "a\x00b",
    "lone high surrogate": "a\ud800",
    "lone low surrogate": "\udc00b",
}
NUMBER_VARIANTS: dict[str, Any] = {
    "39 digits": 10**39,
    "1e300": 1e300,
    "-1e300": -1e300,
    "1e-300": 1e-300,
    "5,000 digits": TOO_LONG_INT,
}
KEY_VARIANTS = {"lone surrogate key": "\ud800", "NUL key": "k\x00"}


def _leaves(value: Any, path: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], Any]]:
    if isinstance(value, dict):
        yield path, value
        for key, item in value.items():
            yield from _leaves(item, (*path, key))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from _leaves(item, (*path, str(i)))
    else:
        yield path, value


def _field_cases() -> list[tuple[tuple[str, str], tuple[str, ...], str]]:
    cases = []
    for route, body in BODIES.items():
        if body is None:
            continue
        for path, leaf in _leaves(body):
            if isinstance(leaf, dict):
                variants: Any = KEY_VARIANTS
            elif isinstance(leaf, str):
                variants = STRING_VARIANTS
            else:
                variants = NUMBER_VARIANTS
            cases += [(route, path, name) for name in variants]
    return cases


FIELD_CASES = _field_cases()


def _set(body: Any, path: tuple[str, ...], variant: str) -> str:
    """The body as JSON text with the value at `path` replaced by the hostile variant."""
    parent = body
    for part in path[:-1]:
        parent = parent[int(part)] if isinstance(parent, list) else parent[part]
    if variant in KEY_VARIANTS:
        target = (parent[int(path[-1])] if isinstance(parent, list) else parent[path[-1]]) if path else body
        target[KEY_VARIANTS[variant]] = "v"
    else:
        value = STRING_VARIANTS.get(variant, NUMBER_VARIANTS.get(variant))
        key: Any = int(path[-1]) if isinstance(parent, list) else path[-1]
        parent[key] = value
    return json.dumps(body).replace(f'"{TOO_LONG_INT}"', "9" * 5000)  # json.dumps escapes NUL and surrogates


@pytest.mark.parametrize(
    ("route", "path", "variant"), FIELD_CASES, ids=[f"{_id(r)} {'.'.join(p) or 'body'} {v}" for r, p, v in FIELD_CASES]
)
def test_given_a_hostile_value_in_any_field_then_400_naming_the_field_and_nothing_written(
    world: World, route: tuple[str, str], path: tuple[str, ...], variant: str
) -> None:
    body = _set(world.body(route), path, variant)
    problem = assert_refused(world, 400, "VALIDATION_ERROR", None, *route, body=body, headers=JSON_CT)
    named = [e["field"] for e in problem["errors"]]
    if variant in KEY_VARIANTS or variant == "5,000 digits":
        wanted = ".".join(path) or "body"  # the object that holds the key (or, for a number json cannot read, the body)
        assert wanted in named or "body" in named, (wanted, problem)
    elif variant in STRING_VARIANTS and variant != "huge":
        assert ".".join(path) in named, problem  # NUL and lone surrogates are named exactly
    else:  # a limit of the field or of the object it is in (metadata's 8 KB) names it
        assert any(f.split(".")[0] == path[0] for f in named), (path, problem)


@pytest.mark.parametrize("value", ["99999999999999999999999", "-9223372036854775809", "9223372036854775808"])
def test_given_an_integer_beyond_64_bits_in_a_custom_field_then_400_not_a_float(world: World, value: str) -> None:
    body = '{"subject": "x", "customFields": {"seats": ' + value + "}}"
    problem = assert_refused(world, 400, "VALIDATION_ERROR", "customFields.seats", "POST", "/v1/tickets", body=body)
    assert "64 bits" in problem["detail"], problem


# ---------------------------------------------------------------- 3. path ids, headers, query strings: every route

ALL_ROUTES = [r for r in ROUTES if r[0] in ("GET", "POST", "PATCH", "PUT", "DELETE")]
PATH_CASES = [(r, name, v) for r in ALL_ROUTES for name in _params(r[1]) for v in ("NUL", "surrogate", "300 chars")]
BAD_ID = {"NUL": "abc\x00def", "surrogate": "abc\ud800", "300 chars": "a" * 300}


@pytest.mark.parametrize(("route", "name", "variant"), PATH_CASES, ids=[f"{_id(r)} {n} {v}" for r, n, v in PATH_CASES])
def test_given_a_hostile_path_id_then_400_naming_it_and_nothing_written(
    world: World, route: tuple[str, str], name: str, variant: str
) -> None:
    real = invoke_params(world, route)
    assert_refused(
        world, 400, "VALIDATION_ERROR", name, *route, event_changes={"pathParameters": {**real, name: BAD_ID[variant]}}
    )


def invoke_params(world: World, route: tuple[str, str]) -> dict[str, str]:
    for fn in FUNCTIONS.values():
        for r in fn.routes:
            if (r.method, r.path) == route:
                return r.match(*route[:1], world.path(route[1])) or {}
    raise LookupError(route)


HEADER_CASES = [
    ("idempotency-key", "\ud800"),
    ("idempotency-key", "k\x00"),
    ("if-match", '"1\x00"'),
    ("user-agent", "curl/\udfff"),
    ("x-anything", "\ud83d"),
]


@pytest.mark.parametrize(("header", "value"), HEADER_CASES, ids=[f"{h} {v!a}" for h, v in HEADER_CASES])
@pytest.mark.parametrize("route", ALL_ROUTES, ids=_id)
def test_given_a_header_with_a_nul_or_lone_surrogate_then_400_naming_it_and_nothing_written(
    world: World, route: tuple[str, str], header: str, value: str
) -> None:
    body = world.body(route) if route in BODIES else None
    assert_refused(
        world, 400, "VALIDATION_ERROR", header, *route,
        body=None if body is None else json.dumps(body), headers={header: value},
    )  # fmt: skip


@pytest.mark.parametrize("key", ["tk_\ud800" + "a" * 40, "tk_\x00", "\ud800", "tk_" + "a" * 5000])
@pytest.mark.parametrize("scheme", ["x-api-key", "authorization"])
def test_given_a_hostile_api_key_then_401_not_500(world: World, scheme: str, key: str) -> None:
    value = key if scheme == "x-api-key" else f"Bearer {key}"
    for route in (("GET", "/v1/tickets"), ("POST", "/v1/tickets")):
        before = world.snapshot()
        r = invoke(world, *route, body='{"subject": "x"}', headers={"x-api-key": "", scheme: value})
        assert world.snapshot() == before
        assert r.status == 401 and r.json["code"] == "UNAUTHORIZED", r.body


def _query_event(params: dict[str, str]) -> dict[str, Any]:
    """Query parameters as API Gateway would hand them over, including values no client library encodes."""
    raw = "&".join(f"{k.encode('utf-8', 'surrogatepass').hex()}=x" for k in params)  # shape only
    return {"queryStringParameters": params, "rawQueryString": raw}


QUERY_STRING_CASES = [("limit", "\ud800"), ("limit", "1\x00"), ("cursor", "\udc00"), ("\ud800", "1"), ("q\x00", "1")]


@pytest.mark.parametrize(("name", "value"), QUERY_STRING_CASES, ids=[f"{n!a}={v!a}" for n, v in QUERY_STRING_CASES])
@pytest.mark.parametrize("route", PAGED_ROUTES, ids=_id)
def test_given_a_query_parameter_with_a_nul_or_lone_surrogate_then_400_not_500(
    world: World, route: tuple[str, str], name: str, value: str
) -> None:
    field = name if name in ("limit", "cursor") else "query"
    assert_refused(world, 400, "VALIDATION_ERROR", field, *route, event_changes=_query_event({name: value}))


def test_given_a_ticket_filter_with_a_nul_or_lone_surrogate_then_400_naming_it(world: World) -> None:
    for name in ("q", "customerId", "assigneeId", "tag", "category", "status", "createdAfter"):
        for value in ("\ud800", "a\x00"):
            assert_refused(
                world, 400, "VALIDATION_ERROR", name, "GET", "/v1/tickets", event_changes=_query_event({name: value})
            )


# ---------------------------------------------------------------- 4. counts and repeated query parameters

BAD_COUNTS = ["99999999999999999999999", "9" * 5000, "1.5", "1.0", "1e2", "-1", "abc", "", "0x10", " 1",
              "\uff11", "NaN", "Infinity", "true", "[1]"]  # fmt: skip


def _query_params(route: tuple[str, str]) -> set[str]:
    """The query parameters a paged route documents (the change feed pages by cursor only: no offset)."""
    return {p["name"] for p in OPENAPI["paths"][route[1]]["get"].get("parameters", []) if p.get("in") == "query"}


COUNT_CASES = [
    (r, p, v) for r in PAGED_ROUTES for p in ("limit", "offset") if p in _query_params(r) for v in BAD_COUNTS
]


@pytest.mark.parametrize(
    ("route", "param", "value"), COUNT_CASES, ids=[f"{_id(r)} {p}={v[:12]!a}" for r, p, v in COUNT_CASES]
)
def test_given_a_count_that_is_not_a_small_whole_number_then_400_naming_it(
    world: World, route: tuple[str, str], param: str, value: str
) -> None:
    assert_refused(world, 400, "VALIDATION_ERROR", param, *route, query=f"{param}={value}")


@pytest.mark.parametrize(("param", "value"), [("limit", "0"), ("limit", "101"), ("offset", "10001")])
def test_given_a_count_out_of_range_then_400_naming_it(world: World, param: str, value: str) -> None:
    for route in PAGED_ROUTES:
        if param in _query_params(route):
            assert_refused(world, 400, "VALIDATION_ERROR", param, *route, query=f"{param}={value}")


def test_given_the_gateway_then_repeated_query_parameters_arrive_joined_with_commas() -> None:
    # What HTTP API (payload 2.0) does, and so what tools.events and the local stack hand the functions.
    event = http_event("GET", "/v1/tickets", route_path="/v1/tickets", query="status=open&status=closed&limit=5")
    assert event["queryStringParameters"] == {"status": "open,closed", "limit": "5"}
    assert event["rawQueryString"] == "status=open&status=closed&limit=5"


REPEATED_CASES = [
    (route, query)
    for route in PAGED_ROUTES
    for query in ("limit=1&limit=2", "offset=0&offset=0", "limit=5&limit=5")
    if query.split("=")[0] in _query_params(route)
]


@pytest.mark.parametrize(("route", "query"), REPEATED_CASES, ids=[f"{_id(r)}-{q}" for r, q in REPEATED_CASES])
def test_given_a_repeated_single_valued_parameter_then_400_naming_it(
    world: World, route: tuple[str, str], query: str
) -> None:
    problem = assert_refused(world, 400, "VALIDATION_ERROR", query.split("=")[0], *route, query=query)
    assert "repeated" in problem["detail"]


@pytest.mark.parametrize("query", ["q=a&q=b", "customerId=a&customerId=b", "sort=createdAt&sort=-createdAt",
                                   "cursor=a&cursor=b", "tag=a&tag=b"])  # fmt: skip
def test_given_a_repeated_ticket_filter_then_400_not_a_silently_joined_value(world: World, query: str) -> None:
    assert_refused(world, 400, "VALIDATION_ERROR", query.split("=")[0], "GET", "/v1/tickets", query=query)


REPEATED_LISTS = [
    ("status=open&status=new", "status=open,new"),
    ("priority=high&priority=MEDIUM", "priority=high,MEDIUM"),
]


@pytest.mark.parametrize(("repeated", "joined"), REPEATED_LISTS)
def test_given_a_repeated_list_parameter_then_it_is_the_same_as_its_comma_list(
    world: World, repeated: str, joined: str
) -> None:
    a = invoke(world, "GET", "/v1/tickets", query=repeated)
    b = invoke(world, "GET", "/v1/tickets", query=joined)
    assert a.status == b.status == 200, (a.body, b.body)
    assert a.json == b.json and a.json["total"] >= 1


# ---------------------------------------------------------------- 5. controls: the same requests, not hostile


class TestControls:
    """Without the hostile part each request succeeds, so the refusals above are about the input, not the ids."""

    @pytest.mark.parametrize("route", WRITE_ROUTES, ids=_id)
    def test_given_a_valid_body_with_a_utf8_charset_then_the_route_accepts_it(
        self, world: World, route: tuple[str, str]
    ) -> None:
        local = _fresh_world(world)  # these requests do write
        body = local.body(route)
        headers = {"content-type": "application/json; charset=UTF-8"}
        r = invoke(local, *route, body=None if body is None else json.dumps(body), headers=headers)
        assert r.status == CONTROL_STATUS.get(route, r.status), r.body
        assert route in CONTROL_STATUS or 200 <= r.status < 300, r.body

    @pytest.mark.parametrize(
        "headers", [{}, {"content-type": "APPLICATION/JSON"}, {"content-type": 'application/json;charset="utf-8"'}]
    )
    def test_given_no_or_differently_spelled_json_content_type_then_a_ticket_is_created(
        self, world: World, headers: dict[str, str]
    ) -> None:
        r = invoke(world, "POST", "/v1/tickets", body='{"subject": "spelled"}', headers=headers)
        assert r.status == 201, r.body

    def test_given_an_empty_object_on_a_route_without_a_body_then_it_is_accepted(self, world: World) -> None:
        local = _fresh_world(world)
        r = invoke(local, "POST", "/v1/webhooks/{id}/rotate-secret", body="{}", headers=JSON_CT)
        assert r.status == 200 and r.json["secret"].startswith("whsec_"), r.body

    def test_given_32_levels_of_metadata_nesting_then_it_is_stored(self, world: World) -> None:
        body = '{"subject": "deep", "metadata": ' + '{"a":' * 30 + "1" + "}" * 30 + "}"
        r = invoke(world, "POST", "/v1/tickets", body=body, headers=JSON_CT)
        assert r.status == 201, r.body


_FRESH = itertools.count(1)


def _fresh_world(world: World) -> World:
    tenant, ids = _tenant_with_one_of_each(f"CTL{next(_FRESH)}")  # ticket prefixes are unique across tenants
    return World(world.client, tenant, ids, world.refs)
