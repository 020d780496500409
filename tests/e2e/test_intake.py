"""End-to-end: a business event through the local stack assigns an agent and emails them exactly once."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from tests.e2e.conftest import Stack, assert_problem


def _emails(stack: Stack, subject_prefix: str) -> list[dict[str, Any]]:
    return [e for e in stack.request("GET", "/_local/emails").json if e["subject"].startswith(subject_prefix)]


def _wait_emails(stack: Stack, subject_prefix: str, count: int, timeout: float = 8.0) -> list[dict[str, Any]]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = _emails(stack, subject_prefix)
        if len(found) >= count:
            return found
        time.sleep(0.1)
    return _emails(stack, subject_prefix)


def test_given_an_available_agent_when_a_business_event_arrives_then_assigned_and_one_email(stack, make_tenant):
    tenant = make_tenant("BIZ")
    agent = stack.request("POST", "/v1/agents", key=tenant.key, body={"name": "Grace", "email": "grace@x.io"}).json
    stack.request("POST", "/v1/customers", key=tenant.key, body={"externalId": "cus_9", "name": "Ann"})
    r = stack.request(
        "POST", "/v1/tickets/api-create", key=tenant.key,
        body={"customerExternalId": "cus_9", "subject": "Order blocked", "priority": "urgent"},
    )  # fmt: skip
    assert r.status == 201 and r.json["assignee"]["id"] == agent["id"] and r.json["status"] == "open"
    reference = r.json["reference"]
    emails = _wait_emails(stack, f"[{reference}]", 1)
    assert [(e["to"], e["subject"]) for e in emails] == [(["grace@x.io"], f"[{reference}] Order blocked")]
    assert "urgent" in emails[0]["text"] and "Ann" in emails[0]["html"]
    time.sleep(1.0)  # anything duplicated would have arrived by now
    assert len(_emails(stack, f"[{reference}]")) == 1


def test_given_no_agent_when_a_business_event_arrives_then_new_unassigned_and_no_email(stack, make_tenant):
    tenant = make_tenant("NOA")
    stack.request("POST", "/v1/customers", key=tenant.key, body={"externalId": "c"})
    r = stack.request(
        "POST", "/v1/tickets/api-create", key=tenant.key, body={"customerExternalId": "c", "subject": "x"}
    )
    assert r.status == 201 and (r.json["status"], r.json["assignee"]) == ("new", None)
    time.sleep(1.0)
    assert _emails(stack, f"[{r.json['reference']}]") == []
    assert_problem(
        stack.request(
            "POST", "/v1/tickets/api-create", key=tenant.key, body={"customerExternalId": "?", "subject": "x"}
        ),
        404,
        "CUSTOMER_NOT_FOUND",
    )


def test_given_concurrent_events_and_two_agents_then_an_even_split_and_one_email_each(stack, make_tenant):
    tenant = make_tenant("SPL")
    agents = [
        stack.request("POST", "/v1/agents", key=tenant.key, body={"name": n, "email": f"{n}@x.io"}).json
        for n in ("ann", "bea")
    ]
    stack.request("POST", "/v1/customers", key=tenant.key, body={"externalId": "c"})

    def event(i: int) -> Any:
        body = {"customerExternalId": "c", "subject": f"split {i}"}
        return stack.request("POST", "/v1/tickets/api-create", key=tenant.key, body=body)

    with ThreadPoolExecutor(10) as pool:
        results = list(pool.map(event, range(20)))
    assert [r.status for r in results] == [201] * 20
    counts = {a["id"]: sum(r.json["assigneeId"] == a["id"] for r in results) for a in agents}
    assert sorted(counts.values()) == [10, 10]
    for a in agents:
        assert stack.request("GET", f"/v1/agents/{a['id']}", key=tenant.key).json["openTickets"] == 10
    emails = _wait_emails(stack, f"[{tenant.prefix}-", 20)
    assert len(emails) == 20 and len({e["subject"] for e in emails}) == 20
