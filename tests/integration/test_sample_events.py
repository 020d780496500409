"""Every function's sample event in events/ runs through its real handler (in-process, moto) as expected.

Each test starts from the demo tenant that tools.sample_events.seed() makes for make dev and make invoke: the
sample key, one customer (crm-4711), agent, group (Billing, of that agent), tag, webhook (disabled) and ticket
DEMO-1, under the ids that the events name. So a sample reads, changes or deletes what it names, as
`make invoke FN=...` would.
"""

from __future__ import annotations

import gc
import json
from collections.abc import Callable
from typing import Any

import boto3
import pytest

from tests.conftest import TABLE
from tests.utils import EVENTS, load_event
from tools import sample_events, template
from tools.events import FakeContext
from tools.sample_events import (
    DEMO_TENANT_ID,
    SAMPLE_AGENT_ID,
    SAMPLE_BUSINESS_HOURS_ID,
    SAMPLE_CUSTOMER_ID,
    SAMPLE_GROUP_ID,
    SAMPLE_KEY,
    SAMPLE_OLD_KEY_ID,
    SAMPLE_SLA_POLICY_ID,
    SAMPLE_TAG_ID,
    SAMPLE_TICKET_ID,
    SAMPLE_VIEW_ID,
    SAMPLE_WEBHOOK_ID,
    UNKNOWN_ID,
)

template.ensure_shared_layer_on_path()
from tickets import coldstart  # noqa: E402

FUNCTIONS = {fn.code_uri.name: fn for fn in template.functions().values()}
_WEBSOCKET_FUNCTIONS = {route.function for route in template.websocket_routes().values()}
WEBSOCKET = {name for name, fn in FUNCTIONS.items() if fn.name in _WEBSOCKET_FUNCTIONS}  # the WebSocket API's routes
CONSUMERS = {name for name, fn in FUNCTIONS.items() if not fn.routes} - WEBSOCKET
Body = Any


def _results(body: Body) -> dict[str, int]:
    return {r["id"]: r["status"] for r in body["results"]}


# Per sample: the status it answers in the seeded demo tenant, and what its body must say.
EXPECTED: dict[str, tuple[int, Callable[[Body], bool]]] = {
    "list_tickets": (200, lambda b: [t["reference"] for t in b["data"]] == ["DEMO-1"] and b["total"] == 1),
    "get_ticket": (
        200,
        lambda b: (b["id"], b["reference"], b["customer"]["externalId"]) == (SAMPLE_TICKET_ID, "DEMO-1", "crm-4711"),
    ),
    # In the Billing group, whose round robin gives it to its one member.
    "create_ticket": (
        201,
        lambda b: (
            (b["reference"], b["groupId"], b["assigneeId"], b["status"])
            == ("DEMO-2", SAMPLE_GROUP_ID, SAMPLE_AGENT_ID, "open")
            and b["subject"].startswith("Checkout fails")
        ),
    ),
    "update_ticket": (200, lambda b: (b["status"], b["priority"], b["version"]) == ("in_progress", "urgent", 2)),
    "delete_ticket": (204, lambda b: b is None),
    "list_customers": (200, lambda b: [c["id"] for c in b["data"]] == [SAMPLE_CUSTOMER_ID] and b["total"] == 1),
    "get_customer": (200, lambda b: (b["externalId"], b["name"]) == ("crm-4711", "Ada Lovelace")),
    "create_customer": (201, lambda b: b["externalId"] == "crm-4712"),
    "update_customer": (200, lambda b: (b["id"], b["name"], b["phone"]) == (SAMPLE_CUSTOMER_ID, "Ada King", None)),
    "delete_customer": (409, lambda b: b["code"] == "CONFLICT"),  # DEMO-1 is still the customer's
    "list_tags": (200, lambda b: [(t["id"], t["name"]) for t in b["data"]] == [(SAMPLE_TAG_ID, "invoices")]),
    "get_tag": (200, lambda b: b == {"id": SAMPLE_TAG_ID, "name": "invoices"}),
    "create_tag": (201, lambda b: b["name"] == "billing"),
    "update_tag": (200, lambda b: b == {"id": SAMPLE_TAG_ID, "name": "payments"}),
    "delete_tag": (204, lambda b: b is None),
    "list_business_hours": (200, lambda b: [h["id"] for h in b["data"]] == [SAMPLE_BUSINESS_HOURS_ID]),
    "get_business_hours": (200, lambda b: (b["timeZone"], len(b["weekly"]), b["holidays"]) == ("Europe/London", 5, [])),
    "create_business_hours": (201, lambda b: b["timeZone"] == "Europe/Lisbon" and b["weekly"][0]["start"] == "08:30"),
    "update_business_hours": (200, lambda b: b["holidays"] == ["2026-12-24"] and b["name"] == "London office"),
    "delete_business_hours": (409, lambda b: b["code"] == "CONFLICT"),  # the seeded policy uses them
    "list_sla_policies": (200, lambda b: [p["id"] for p in b["data"]] == [SAMPLE_SLA_POLICY_ID] and b["total"] == 1),
    "get_sla_policy": (200, lambda b: b["conditions"]["channel"] == ["phone"] and b["position"] == 10),
    "create_sla_policy": (
        201,
        lambda b: b["targets"]["critical"] == {"firstReplyMinutes": 15, "resolutionMinutes": 120},
    ),
    "update_sla_policy": (200, lambda b: (b["id"], b["position"], b["name"]) == (SAMPLE_SLA_POLICY_ID, 5, "Phone")),
    "delete_sla_policy": (204, lambda b: b is None),
    "list_webhooks": (200, lambda b: [(w["id"], w["enabled"]) for w in b["data"]] == [(SAMPLE_WEBHOOK_ID, False)]),
    "get_webhook": (200, lambda b: b["id"] == SAMPLE_WEBHOOK_ID and "secret" not in b),
    "create_webhook": (201, lambda b: b["secret"].startswith("whsec_") and b["enabled"] is True),
    "update_webhook": (200, lambda b: (b["description"], b["enabled"]) == ("CRM sync v2", False)),
    "delete_webhook": (204, lambda b: b is None),
    "rotate_webhook_secret": (200, lambda b: b["id"] == SAMPLE_WEBHOOK_ID and b["secret"].startswith("whsec_")),
    "test_webhook": (202, lambda b: b["id"].startswith("dlv_") and (b["state"], b["attempt"]) == ("pending", 0)),
    "list_webhook_deliveries": (200, lambda b: b["data"] == [] and b["total"] == 0),
    "retry_webhook_delivery": (404, lambda b: b["code"] == "NOT_FOUND"),  # the seed makes no delivery
    "get_ticket_history": (200, lambda b: b["data"] == []),  # history is written by a consumer, which has not run
    # The feed is written by a consumer too, and shows events 5 s after that: empty, and a cursor to resume from.
    "list_events": (200, lambda b: b["data"] == [] and b["endOfFeed"] is True and len(b["nextCursor"]) > 40),
    # The demo key, the sample key and the "Old integration" key, newest first.
    "list_api_keys": (200, lambda b: b["total"] == 3 and SAMPLE_KEY[:7] in {k["hint"] for k in b["data"]}),
    "list_comments": (200, lambda b: b["data"] == [] and b["total"] == 0),
    # A public reply to Ada (the customer, with an email): emailed, and it sets the status it asks for.
    "create_comment": (
        201,
        lambda b: (b["direction"], b["to"], b["author"]["type"]) == ("outbound", ["ada@example.com"], "api"),
    ),
    "redact_comment": (404, lambda b: b["code"] == "NOT_FOUND"),  # the seed makes no comment
    "create_attachment": (
        201,
        lambda b: (
            (b["state"], b["size"]) == ("pending", 48213)
            and b["upload"]["fields"]["key"] == f"u/{DEMO_TENANT_ID}/{b['id']}"
        ),
    ),
    "get_attachment": (404, lambda b: b["code"] == "NOT_FOUND"),  # the seed makes no attachment
    "get_me": (200, lambda b: (b["tenant"]["id"], b["tenant"]["ticketPrefix"]) == (DEMO_TENANT_ID, "DEMO")),
    # DEMO-1 counts in the month of its fixed id (April 2026), not this one; the demo tenant has no quota.
    "get_usage": (200, lambda b: (b["ticketsCreated"], b["monthlyTicketQuota"], b["remaining"]) == (0, None, None)),
    "create_api_key": (201, lambda b: b["key"].startswith("tk_") and b["name"] == "CI pipeline"),
    "delete_api_key": (204, lambda b: b is None),
    "bulk_set_ticket_status": (200, lambda b: _results(b) == {SAMPLE_TICKET_ID: 200, UNKNOWN_ID: 404}),
    "bulk_set_ticket_priority": (200, lambda b: _results(b) == {SAMPLE_TICKET_ID: 200}),
    "bulk_delete_tickets": (200, lambda b: _results(b) == {SAMPLE_TICKET_ID: 200}),
    "batch_update_tickets": (200, lambda b: _results(b) == {SAMPLE_TICKET_ID: 200}),
    "solve_unfinished_tickets": (200, lambda b: b == {"resolved": 1, "remaining": 0}),
    "unlink_ticket_customer": (
        200,
        lambda b: (b["id"], b["customerId"], b["customer"]) == (SAMPLE_TICKET_ID, None, None),
    ),
    "list_agents": (200, lambda b: [(a["id"], a["name"]) for a in b["data"]] == [(SAMPLE_AGENT_ID, "Grace Hopper")]),
    "get_agent": (200, lambda b: (b["id"], b["level"], b["openTickets"]) == (SAMPLE_AGENT_ID, "N1", 0)),
    "create_agent": (
        201,
        lambda b: (
            (b["name"], b["level"], b["skills"], b["capacity"])
            == ("Katherine Johnson", "N2", ["billing", "french"], 20)
        ),
    ),
    "update_agent": (200, lambda b: (b["id"], b["available"]) == (SAMPLE_AGENT_ID, False)),
    "delete_agent": (204, lambda b: b is None),  # and it leaves the Billing group
    "list_groups": (200, lambda b: [(g["id"], g["name"]) for g in b["data"]] == [(SAMPLE_GROUP_ID, "Billing")]),
    "get_group": (
        200,
        lambda b: (
            (b["id"], b["agentIds"], b["routing"], b["businessHoursId"])
            == (SAMPLE_GROUP_ID, [SAMPLE_AGENT_ID], "round_robin", None)
        ),
    ),
    "create_group": (
        201,
        lambda b: (b["name"], b["agentIds"], b["routing"]) == ("Escalations", [SAMPLE_AGENT_ID], "least_loaded"),
    ),
    "update_group": (
        200,
        lambda b: (b["id"], b["routing"], b["description"]) == (SAMPLE_GROUP_ID, "manual", "By hand"),
    ),
    "delete_group": (204, lambda b: b is None),  # DEMO-1 is in no group
    # The customer exists by externalId, and the demo tenant's one available N1 agent takes the ticket.
    "create_realtime_token": (
        201,
        lambda b: b["token"].startswith("rt_") and b["url"].endswith(f"?token={b['token']}"),
    ),
    # The WebSocket routes. The seed mints no token (tokens live 60 s) and opens no connection: $connect refuses
    # the sample's token, a ping on the sample connection says it is not registered, $disconnect has nothing to do.
    "connect_realtime": (401, lambda b: b["code"] == "UNAUTHORIZED"),
    "disconnect_realtime": (200, lambda b: b is None),
    "answer_realtime_message": (200, lambda b: (b["type"], b["code"]) == ("error", "UNKNOWN_CONNECTION")),
    # The agent console's page: HTML, with no API key (and no data in it).
    "serve_console": (200, lambda b: b.startswith("<!doctype html>") and "Agent console" in b),
    "api_create_ticket": (
        201,
        lambda b: (b["reference"], b["customerId"], b["assigneeId"]) == ("DEMO-2", SAMPLE_CUSTOMER_ID, SAMPLE_AGENT_ID),
    ),
    # The seeded shared view (unfinished, high or above, billing or invoices) holds DEMO-1.
    "list_views": (200, lambda b: [(v["id"], v["agentId"]) for v in b["data"]] == [(SAMPLE_VIEW_ID, None)]),
    # A shared view (the sample key has settings:manage and no agent) whose `me` means each caller's own agent.
    "create_view": (201, lambda b: (b["agentId"], b["sort"], len(b["conditions"]["all"])) == (None, "-updatedAt", 2)),
    "get_view": (
        200,
        lambda b: (b["id"], b["name"], len(b["conditions"]["any"])) == (SAMPLE_VIEW_ID, "Urgent billing", 2),
    ),
    "update_view": (200, lambda b: (b["id"], b["name"]) == (SAMPLE_VIEW_ID, "Urgent billing, EMEA")),
    "delete_view": (204, lambda b: b is None),
    "list_view_tickets": (
        200,
        lambda b: [t["reference"] for t in b["data"]] == ["DEMO-1"] and (b["total"], b["totalExact"]) == (1, True),
    ),
    "count_view_tickets": (200, lambda b: b == {"viewId": SAMPLE_VIEW_ID, "total": 1, "totalExact": True}),
}


def _still_stored(name: str) -> bool:
    """Whether the item that a delete sample names is still in the table (the old key: still unrevoked)."""
    from tickets.dal import agents, business_hours, customers, groups, sla_policies, tags, tickets, views, webhooks
    from tickets.logic import api_keys
    from tickets.models.tenants import ApiKeyListQuery

    tenant = sample_events.DEMO_TENANT_ID
    if name == "delete_api_key":
        listed = api_keys.list_api_keys(tenant, ApiKeyListQuery())["data"]
        return any(k["id"] == SAMPLE_OLD_KEY_ID and not k["revokedAt"] for k in listed)
    dal, item_id = {
        "delete_ticket": (tickets, SAMPLE_TICKET_ID),
        "delete_customer": (customers, SAMPLE_CUSTOMER_ID),
        "delete_tag": (tags, SAMPLE_TAG_ID),
        "delete_webhook": (webhooks, SAMPLE_WEBHOOK_ID),
        "delete_agent": (agents, SAMPLE_AGENT_ID),
        "delete_view": (views, SAMPLE_VIEW_ID),
        "delete_business_hours": (business_hours, sample_events.SAMPLE_BUSINESS_HOURS_ID),
        "delete_sla_policy": (sla_policies, sample_events.SAMPLE_SLA_POLICY_ID),
        "delete_group": (groups, SAMPLE_GROUP_ID),
    }[name]
    return dal.get(tenant, item_id) is not None


@pytest.fixture
def refs(aws: Any) -> dict[str, str]:
    """What the functions' environment resolves to: the test table, the template's queues and buckets, parameter
    defaults."""
    queues = template.create_queues(boto3.client("sqs", region_name="us-east-1"))
    buckets = template.create_buckets(boto3.client("s3", region_name="us-east-1"), queues)
    assert buckets["AttachmentsBucket"] == sample_events.SAMPLE_BUCKET  # the bucket the consumer's sample names
    return template.build_refs(table={"Table": TABLE}, queues=queues, buckets=buckets)


def test_given_the_template_then_every_function_has_a_sample_event_and_an_expected_outcome():
    samples = {p.stem for p in EVENTS.glob("*.json")}

    assert set(FUNCTIONS) - samples == set(), "add events/<folder>.json (python -m tools.sample_events)"
    assert samples - set(FUNCTIONS) == set(), "events/ holds samples for functions template.yaml no longer has"
    assert set(EXPECTED) | CONSUMERS == set(FUNCTIONS) and not set(EXPECTED) & CONSUMERS


@pytest.mark.parametrize("name", sorted(FUNCTIONS))
def test_given_the_generator_when_rebuilding_a_sample_then_it_equals_the_committed_event(name):
    assert sample_events.build(FUNCTIONS[name]) == load_event(name), "run python -m tools.sample_events"


def _invoke(fn: template.Function, event: dict[str, Any]) -> Any:
    """The function's handler on `event`, as a Lambda container's first invocation: the collector is held, as the
    cold start holds it (tickets.coldstart), and the invocation must let it go, whatever kind of handler it is."""
    enabled = gc.isenabled()
    gc.disable()
    coldstart._deferred = True
    try:
        result = template.load_handler(fn)(event, FakeContext(fn.name))
        assert gc.isenabled() and not coldstart._deferred, f"{fn.name} kept the collector off after its invocation"
        return result
    finally:
        gc.unfreeze()
        coldstart._deferred = False
        gc.enable() if enabled else gc.disable()


@pytest.mark.parametrize("name", sorted(FUNCTIONS))
def test_given_the_seeded_demo_tenant_when_the_sample_event_is_invoked_then_it_finds_what_it_names(refs, name):
    fn = FUNCTIONS[name]
    template.apply_env(fn, refs)
    sample_events.seed()
    event = load_event(name)
    if name in CONSUMERS and event.get("detail-type") == "Scheduled Event":  # the breach sweep's sample
        result = _invoke(fn, event)
        assert result["result"]["facts"] == 0 and result["result"]["checkpoint"], result  # nothing due in the seed
        return
    if name in CONSUMERS:
        assert _invoke(fn, event) == {"batchItemFailures": []}
        return
    if name in WEBSOCKET:
        assert template.websocket_routes()[event["requestContext"]["routeKey"]].function == fn.name
    else:
        assert any(r.method + " " + r.path == event["routeKey"] for r in fn.routes), "sample routeKey not in template"
    result = _invoke(fn, event)

    status, says = EXPECTED[name]
    content_type = str((result.get("headers") or {}).get("Content-Type", "application/json"))
    body = result.get("body") or None
    if body and "json" in content_type:
        body = json.loads(body)
    assert result["statusCode"] == status, body
    assert says(body), body
    # A comment is read through its ticket's list, a token is not read at all: no Location.
    if status == 201 and name not in ("create_comment", "create_realtime_token"):
        assert result["headers"]["Location"].endswith(body["id"])
    if name.startswith("delete_"):  # a 204 removed what the sample names; a refusal left it
        assert _still_stored(name) == (status != 204)


def test_given_the_seed_when_reading_demo_1_then_it_is_the_item_the_consumer_samples_carry(aws, refs):
    from boto3.dynamodb.types import TypeDeserializer

    template.apply_env(FUNCTIONS["get_ticket"], refs)
    demo = sample_events.seed(api_key=None)
    stored = aws.get_item(TableName=TABLE, Key={"PK": {"S": f"TENANT#{demo.tenant_id}"},
                                                "SK": {"S": f"TICKET#{SAMPLE_TICKET_ID}"}})["Item"]  # fmt: skip

    de = TypeDeserializer()
    assert {k: de.deserialize(v) for k, v in stored.items()} == sample_events.sample_ticket_item()
    insert = load_event("record_ticket_history")["Records"][0]["dynamodb"]["NewImage"]
    assert insert == stored


def test_given_a_chosen_demo_key_when_seeding_then_that_key_and_the_sample_key_open_the_demo_tenant(refs):
    from tickets.api import auth

    template.apply_env(FUNCTIONS["get_ticket"], refs)
    chosen = "tk_" + "c" * 40
    demo = sample_events.seed(api_key=chosen)

    assert demo.api_key == chosen
    tenants = {auth.authenticate({"x-api-key": key}).tenantId for key in (chosen, SAMPLE_KEY)}
    assert tenants == {sample_events.DEMO_TENANT_ID}


def test_given_logic_that_makes_two_ids_in_one_create_when_seeding_then_the_seed_refuses():
    template.ensure_shared_layer_on_path()
    from tickets import ids

    with pytest.raises(RuntimeError, match="second new id"), sample_events._made_with_id(SAMPLE_TAG_ID):
        ids.new_id()
        ids.new_id()
    with pytest.raises(RuntimeError, match="made no new id"), sample_events._made_with_id(SAMPLE_TAG_ID):
        pass
    assert ids.new_id() != SAMPLE_TAG_ID  # the real generator is back
