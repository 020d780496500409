"""End-to-end: email into the local stack as on AWS. `POST /_local/inbound-email` stores the raw message where SES
would (the inbound bucket, under its prefix), S3 notifies the queue and the stack's poller runs the real consumer.

The agent's reply is read from what its comment stored (Reply-To, Message-ID, subject: what the outbound email
carries), and the customer's answer is built from it, as their mail client would.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import boto3

from tests.e2e.conftest import Stack, Tenant, assert_problem
from tests.e2e.test_readme import bash, here, json_values, sh_blocks, shell_env
from tests.inbound_mail import raw_mail
from tools.devproc import aimed_at

DOMAIN = "inbound.localhost"  # make dev's InboundEmailDomain
__all__ = ["shell_env"]  # the README test's fixture, used here for this README section


def _until(what: Callable[[], Any], timeout: float = 15.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = what()
        if found:
            return found
        time.sleep(0.1)
    return what()


def _post_mail(stack: Stack, raw: bytes) -> dict[str, Any]:
    resp = stack.request("POST", "/_local/inbound-email", raw_body=raw, headers={"Content-Type": "message/rfc822"})
    assert resp.status == 202, resp.body
    return resp.json


def _queue_drained(stack: Stack) -> bool:
    with aimed_at(stack):
        sqs = boto3.client("sqs", endpoint_url=stack.aws_endpoint_url, region_name="us-east-1")
        url = sqs.get_queue_url(QueueName="InboundMailQueue")["QueueUrl"]
        attrs = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    return attrs["ApproximateNumberOfMessages"] == attrs["ApproximateNumberOfMessagesNotVisible"] == "0"


def _stored_comment(stack: Stack, tenant: Tenant, ticket_id: str, comment_id: str) -> dict[str, Any]:
    """The comment as its write stored it: the outbound email's Reply-To, Message-ID and subject."""
    with aimed_at(stack):
        from tickets.dal import comments

        found = comments.get(tenant.id, ticket_id, comment_id)
    assert found, "the comment is not stored"
    return found


def _tickets(stack: Stack, tenant: Tenant) -> list[dict[str, Any]]:
    return stack.request("GET", "/v1/tickets", key=tenant.key, query={"sort": "createdAt"}).json["data"]


def test_given_an_agent_reply_when_the_customer_answers_by_email_then_an_inbound_comment_reopens_the_ticket(
    stack, make_tenant
):
    tenant = make_tenant("MAIL")
    agent = stack.request("POST", "/v1/agents", key=tenant.key, body={"name": "Grace", "email": "grace@x.io"}).json
    agent_key = stack.request(
        "POST", "/v1/api-keys", key=tenant.key, body={"scopes": ["tickets:read", "tickets:write", "tickets:status"],
                                                      "agentId": agent["id"]}
    ).json["key"]  # fmt: skip
    customer = stack.request(
        "POST", "/v1/customers", key=tenant.key, body={"externalId": "ann", "name": "Ann Lee", "email": "ann@x.io"}
    ).json
    ticket = stack.create_ticket(tenant.key, subject="Card declined", customerId=customer["id"])
    reply = stack.request(
        "POST", f"/v1/tickets/{ticket['id']}/comments", key=agent_key,
        body={"body": "Which card did you use?", "status": "pending"},
    ).json  # fmt: skip
    assert (reply["direction"], reply["author"]["type"], reply["to"]) == ("outbound", "agent", ["ann@x.io"])
    sent = _stored_comment(stack, tenant, ticket["id"], reply["id"])
    assert sent["replyTo"].startswith("reply+") and sent["replyTo"].endswith(f"@{DOMAIN}")

    answer = raw_mail(
        sender="Ann Lee <ann@x.io>",
        to=sent["replyTo"],
        subject=f"Re: {sent['subject']}",
        in_reply_to=sent["messageId"],
        references=sent["messageId"],
        text=f"The blue one.\n\nOn Mon, 30 Nov 2026, {tenant.prefix} Corp <tickets@example.com> wrote:\n> Which card?",
    )
    stored = _post_mail(stack, answer)
    assert stored["key"].startswith("inbound/") and len(stored["key"]) == len("inbound/") + 40

    def inbound() -> list[dict[str, Any]]:
        data = stack.request("GET", f"/v1/tickets/{ticket['id']}/comments", key=tenant.key).json["data"]
        return [c for c in data if c["direction"] == "inbound"]

    (comment,) = _until(inbound)
    assert comment["body"] == "The blue one."
    assert comment["author"] == {"type": "customer", "id": customer["id"], "name": "Ann Lee", "email": "ann@x.io"}
    after = stack.request("GET", f"/v1/tickets/{ticket['id']}", key=tenant.key).json
    assert (after["status"], after["commentCount"]) == ("open", 2)

    _post_mail(stack, answer)  # delivered again: nothing new
    assert _until(lambda: _queue_drained(stack))
    assert len(inbound()) == 1 and len(_tickets(stack, tenant)) == 1


def test_given_a_new_email_to_the_tenant_address_then_a_ticket_opens_and_an_auto_reply_is_dropped(stack, make_tenant):
    tenant = make_tenant("NEW")
    address = stack.request("GET", "/v1/me", key=tenant.key).json["tenant"]["inboundEmail"]
    assert address == f"{tenant.prefix.lower()}@{DOMAIN}"

    _post_mail(stack, raw_mail(sender="Out Of Office <ooo@x.io>", to=address, subject="Automatic reply",
                               headers={"Auto-Submitted": "auto-replied"}))  # fmt: skip
    _post_mail(stack, raw_mail(sender="Bo <bo@x.io>", to=address, subject="Lost parcel", text="Where is it?"))

    (ticket,) = _until(lambda: _tickets(stack, tenant))
    assert (ticket["subject"], ticket["channel"], ticket["description"]) == ("Lost parcel", "email", "Where is it?")
    assert ticket["requester"] == {"name": "Bo", "email": "bo@x.io", "phone": None}
    assert _until(lambda: _queue_drained(stack))
    assert [t["subject"] for t in _tickets(stack, tenant)] == ["Lost parcel"]  # the auto-reply made nothing


def test_given_the_demo_tenant_then_it_receives_at_demo_address_and_an_empty_post_is_refused(stack):
    me = stack.request("GET", "/v1/me", key=stack.api_key).json
    assert me["tenant"]["inboundEmail"] == f"demo@{DOMAIN}"
    assert_problem(stack.request("POST", "/_local/inbound-email", raw_body=b"  "), 400, "VALIDATION_ERROR")


def test_given_make_dev_when_the_readme_inbound_email_example_runs_as_written_then_a_ticket_and_a_comment(
    stack, shell_env
):
    (block,) = sh_blocks("Inbound email")

    done = bash(here(block, stack), shell_env)

    printed = json_values(done.stdout)
    stored = [v for v in printed if set(v) == {"bucket", "key", "size"}]
    assert len(stored) == 2 and all(s["key"].startswith("inbound/") for s in stored)
    (newest,) = [v for v in printed if "data" in v and v["data"] and "reference" in v["data"][0]]
    assert (newest["data"][0]["subject"], newest["data"][0]["channel"]) == ("Where is my parcel?", "email")
    (comments,) = [v for v in printed if "data" in v and v["data"] and "body" in v["data"][0]]
    (inbound,) = [c for c in comments["data"] if c["direction"] == "inbound"]
    assert inbound["body"] == "It works now, thank you!" and inbound["author"]["type"] == "customer"
