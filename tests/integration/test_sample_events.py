"""Every function's sample event in events/ runs through its real handler (in-process, moto) as expected."""

from __future__ import annotations

import json

import pytest

from tests.conftest import TABLE
from tests.utils import EVENTS, load_event
from tools import sample_events, template
from tools.events import FakeContext
from tools.sample_events import SAMPLE_KEY

FUNCTIONS = {fn.code_uri.name: fn for fn in template.functions().values()}
CONSUMERS = {name for name, fn in FUNCTIONS.items() if not fn.routes}

# On an empty tenant: creates succeed, lists are empty, and the sample ids/reference do not exist.
EXPECTED = {
    "list_tickets": 200,
    "get_ticket": 404,
    "create_ticket": 201,
    "update_ticket": 404,
    "delete_ticket": 404,
    "list_customers": 200,
    "get_customer": 404,
    "create_customer": 201,
    "update_customer": 404,
    "delete_customer": 404,
    "list_tags": 200,
    "get_tag": 404,
    "create_tag": 201,
    "update_tag": 404,
    "delete_tag": 404,
    "list_webhooks": 200,
    "get_webhook": 404,
    "create_webhook": 201,
    "update_webhook": 404,
    "delete_webhook": 404,
    "rotate_webhook_secret": 404,
    "test_webhook": 404,
    "list_webhook_deliveries": 404,
    "retry_webhook_delivery": 404,
    "get_ticket_history": 404,
    "list_api_keys": 200,  # lists the sample key itself
    "create_api_key": 201,
    "delete_api_key": 404,
    "bulk_set_ticket_status": 200,
    "bulk_set_ticket_priority": 200,
    "bulk_delete_tickets": 200,
    "batch_update_tickets": 200,
    "solve_unfinished_tickets": 200,
    "unlink_ticket_customer": 404,
    "list_agents": 200,
    "get_agent": 404,
    "create_agent": 201,
    "update_agent": 404,
    "delete_agent": 404,
    "api_create_ticket": 404,  # CUSTOMER_NOT_FOUND: the sample tenant has no customer crm-4711
    # Consumers: a Lambda batch response with no failed records.
    "fanout_webhooks": None,
    "record_ticket_history": None,
    "publish_status_events": None,
    "send_assignment_email": None,
    "deliver_webhook": None,
}


def test_given_the_template_then_every_function_has_a_sample_event_and_an_expected_status():
    samples = {p.stem for p in EVENTS.glob("*.json")}

    assert set(FUNCTIONS) - samples == set(), "add events/<folder>.json (python -m tools.sample_events)"
    assert samples - set(FUNCTIONS) == set(), "events/ holds samples for functions template.yaml no longer has"
    assert set(EXPECTED) == set(FUNCTIONS)


@pytest.mark.parametrize("name", sorted(FUNCTIONS))
def test_given_the_generator_when_rebuilding_a_sample_then_it_equals_the_committed_event(name):
    assert sample_events.build(FUNCTIONS[name]) == load_event(name), "run python -m tools.sample_events"


@pytest.mark.parametrize("name", sorted(FUNCTIONS))
def test_given_a_tenant_with_the_sample_key_when_the_sample_event_is_invoked_then_expected_status(aws, name):
    from tickets.logic import admin
    from tickets.models.tenants import SCOPES, TenantCreate

    tenant = admin.create_tenant(TenantCreate(name="Sample Corp", ticketPrefix="INV"))
    admin.create_api_key(tenant["id"], list(SCOPES), raw_key=SAMPLE_KEY)
    fn = FUNCTIONS[name]
    event = load_event(name)
    template.apply_env(fn, {"Table": TABLE})
    if name in CONSUMERS:
        assert template.load_handler(fn)(event, FakeContext(fn.name)) == {"batchItemFailures": []}
        return
    assert any(r.method + " " + r.path == event["routeKey"] for r in fn.routes), "sample routeKey not in template"
    result = template.load_handler(fn)(event, FakeContext(fn.name))

    assert result["statusCode"] == EXPECTED[name], result.get("body")
    body = json.loads(result["body"]) if result.get("body") else None
    if result["statusCode"] == 404:
        assert body["code"] == ("CUSTOMER_NOT_FOUND" if name == "api_create_ticket" else "NOT_FOUND")
    elif result["statusCode"] == 201:
        assert body["id"] and result["headers"]["Location"].endswith(body["id"])
    elif name == "list_api_keys":  # the sample tenant's only key is the sample key
        assert [k["hint"] for k in body["data"]] == [SAMPLE_KEY[:7]] and body["total"] == 1
    elif name == "solve_unfinished_tickets":
        assert body == {"resolved": 0, "remaining": 0}
    elif name.startswith(("bulk_", "batch_")):  # every sample id is unknown: each item is a 404 on its own
        assert body["succeeded"] == 0 and body["failed"] == len(body["results"]) > 0
        assert {r["status"] for r in body["results"]} == {404}
    elif result["statusCode"] == 200:
        assert body["data"] == [] and body["total"] == 0
