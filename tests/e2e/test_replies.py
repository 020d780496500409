"""End-to-end: an agent's public reply, through the local stack's API, stream and consumer, reaches the customer as one
threaded email, shown with all its headers at GET /_local/emails. make dev's InboundEmailDomain (inbound.localhost,
tools.devstack.DEV_PARAMETERS) gives replies a Reply-To."""

from __future__ import annotations

import time
from typing import Any

from tests.e2e.conftest import Stack


def _replies(stack: Stack, reference: str) -> list[dict[str, Any]]:
    return [e for e in stack.request("GET", "/_local/emails").json if e["subject"].startswith(f"Re: [{reference}]")]


def _wait(stack: Stack, reference: str, count: int, timeout: float = 8.0) -> list[dict[str, Any]]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and len(_replies(stack, reference)) < count:
        time.sleep(0.1)
    return _replies(stack, reference)


def test_given_an_agent_replying_twice_then_the_customer_gets_two_threaded_emails_with_a_reply_to(stack, make_tenant):
    tenant = make_tenant("RPL")
    agent = stack.request("POST", "/v1/agents", key=tenant.key, body={"name": "Grace", "email": "grace@x.io"}).json
    agent_key = stack.request(
        "POST", "/v1/api-keys", key=tenant.key,
        body={"name": "Grace's key", "scopes": ["tickets:read", "tickets:write", "tickets:status"],
              "agentId": agent["id"]},
    ).json["key"]  # fmt: skip
    customer = stack.request(
        "POST", "/v1/customers", key=tenant.key, body={"externalId": "c1", "name": "Ann Lee", "email": "ann@x.io"}
    ).json
    ticket = stack.create_ticket(tenant.key, subject="Printer <b>on fire</b>", customerId=customer["id"])
    ref, path = ticket["reference"], f"/v1/tickets/{ticket['id']}/comments"

    first = stack.request("POST", path, key=agent_key, body={"body": "Hi Ann,\n\n<script>x()</script> fixed?"})
    assert first.status == 201, first.body
    (mail,) = _wait(stack, ref, 1)
    h = mail["headers"]
    assert (mail["to"], h["From"]) == (["ann@x.io"], f"{tenant.prefix} Corp <tickets@example.com>")
    assert h["Subject"] == f"Re: [{ref}] Printer <b>on fire</b>"
    assert h["Message-ID"] == first.json["messageId"] and h["Message-ID"].endswith("@inbound.localhost>")
    assert h["Reply-To"].startswith("reply+") and h["Reply-To"].endswith("@inbound.localhost")
    assert "In-Reply-To" not in h and "References" not in h and h["Date"]
    assert mail["text"].startswith("Hi Ann,\n\n<script>x()</script> fixed?\n")
    assert "<script>" not in mail["html"] and "&lt;script&gt;x()&lt;/script&gt; fixed?" in mail["html"]
    assert mail["raw"].startswith("From: ") and f"Message-ID: {h['Message-ID']}\r\n" in mail["raw"]

    note = stack.request("POST", path, key=agent_key, body={"body": "internal only", "visibility": "internal"})
    second = stack.request("POST", path, key=agent_key, body={"body": "Following up.", "status": "pending"})
    assert (note.status, second.status) == (201, 201)
    newest, oldest = _wait(stack, ref, 2)
    assert oldest["headers"]["Message-ID"] == first.json["messageId"]
    assert newest["headers"]["Message-ID"] == second.json["messageId"]
    assert newest["headers"]["In-Reply-To"] == newest["headers"]["References"] == first.json["messageId"]
    assert newest["headers"]["Reply-To"] == h["Reply-To"]  # one reply address per ticket

    time.sleep(1.0)  # a duplicate, or the internal note, would have arrived by now
    assert len(_replies(stack, ref)) == 2
    assert all("internal only" not in e["text"] for e in _replies(stack, ref))
