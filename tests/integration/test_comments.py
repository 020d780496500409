"""The conversation on a ticket (contract v1.1, "Conversation: comments") through the real handlers against moto:
comments are written in their ticket's own transaction, with the counters, status, attachments and email
threading they move."""

from __future__ import annotations

import threading
from typing import Any

import boto3
import pytest

from tests.conftest import ATTACHMENTS_BUCKET, TABLE, TenantKey, call, items, make_tenant
from tickets.dal.client import serialize

DOMAIN = {"InboundEmailDomain": "mail.example.com"}


def _customer(key: str, email: str | None = "ann@example.com") -> dict:
    body = {"externalId": "cus_1", "name": "Ann Lee", **({"email": email} if email else {})}
    return call("POST", "/v1/customers", key=key, body=body).json


def _ticket(key: str, **fields: Any) -> dict:
    resp = call("POST", "/v1/tickets", key=key, body={"subject": "Card declined", **fields})
    assert resp.status == 201, resp.body
    return resp.json


def _comment(key: str, ticket_id: str, body: dict, **kwargs: Any):
    return call("POST", f"/v1/tickets/{ticket_id}/comments", key=key, body=body, **kwargs)


def _item(aws, tenant_id: str, sk: str) -> dict | None:
    return next((i for i in items(aws, f"TENANT#{tenant_id}") if i["SK"] == sk), None)


def _problem(resp, status: int, code: str, field: str | None = None) -> None:
    assert resp.status == status and resp.json["code"] == code, resp.body
    if field:
        assert [e["field"] for e in resp.json["errors"]] == [field], resp.json["errors"]


def _attachment(aws, tenant: TenantKey, attachment_id: str, state: str = "ready", *, file: bool = False,
                **extra: Any) -> None:  # fmt: skip
    """An attachment record as the upload checker leaves it, and with `file` its checked file (the `resources`
    fixture makes the bucket); the upload routes are tested in test_attachments.py."""
    if file:
        boto3.client("s3", region_name="us-east-1").put_object(
            Bucket=ATTACHMENTS_BUCKET, Key=f"t/{tenant.tenant_id}/{attachment_id}", Body=b"%PDF-1.7",
            Tagging="state=unclaimed",
        )  # fmt: skip
    item = {
        "PK": f"TENANT#{tenant.tenant_id}", "SK": f"ATTACHMENT#{attachment_id}", "type": "attachment",
        "tenantId": tenant.tenant_id, "id": attachment_id, "filename": "invoice.pdf", "contentType": "application/pdf",
        "size": 1234, "state": state, "expiresAt": 4102444800, **extra,
    }  # fmt: skip
    aws.put_item(TableName=TABLE, Item=serialize(item))


# ---- writing a comment moves its ticket


def test_given_a_new_ticket_when_an_api_key_replies_publicly_then_the_ticket_opens_and_counts_it(aws, tenant):
    ticket = _ticket(tenant.key, customerId=_customer(tenant.key)["id"])

    resp = _comment(tenant.key, ticket["id"], {"body": "Hello <b>Ann</b>, we are on it."})

    assert resp.status == 201, resp.body
    comment = resp.json
    assert comment["body"] == "Hello <b>Ann</b>, we are on it."  # stored as given; escaped wherever rendered
    assert (comment["visibility"], comment["channel"], comment["author"]["type"]) == ("public", "api", "api")
    assert comment["ticketId"] == ticket["id"] and comment["attachments"] == []
    after = call("GET", f"/v1/tickets/{ticket['id']}", key=tenant.key)
    t = after.json
    assert (t["status"], t["commentCount"], t["version"]) == ("open", 1, 2)
    assert t["lastCommentAt"] == t["firstRespondedAt"] == comment["createdAt"] == t["updatedAt"]
    assert after.headers["etag"] == '"2"'
    stored = _item(aws, tenant.tenant_id, f"COMMENT#{ticket['id']}#{comment['id']}")
    assert stored["ticket"]["version"] == 2 and stored["ticket"]["status"] == "open"  # for comment.created


def test_given_an_internal_note_then_it_is_not_emailed_and_the_ticket_keeps_status_and_first_response(aws, tenant):
    ticket = _ticket(tenant.key, customerId=_customer(tenant.key)["id"])

    note = _comment(tenant.key, ticket["id"], {"body": "Card issuer is down", "visibility": "INTERNAL"}).json

    assert (note["visibility"], note["direction"], note["to"], note["messageId"]) == ("internal", None, [], None)
    t = call("GET", f"/v1/tickets/{ticket['id']}", key=tenant.key).json
    assert (t["status"], t["commentCount"], t["firstRespondedAt"]) == ("new", 1, None)
    assert t["lastCommentAt"] == note["createdAt"]


def test_given_a_status_in_the_comment_then_reply_and_status_are_one_write(aws, tenant):
    ticket = _ticket(tenant.key)
    comment = _comment(tenant.key, ticket["id"], {"body": "Waiting for you", "status": "pending"}).json
    t = call("GET", f"/v1/tickets/{ticket['id']}", key=tenant.key).json
    assert (t["status"], t["version"], t["lastCommentAt"]) == ("pending", 2, comment["createdAt"])
    counts = _item(aws, tenant.tenant_id, "COUNTS#TICKETS")
    assert (counts["pending#medium"], counts["new#medium"]) == (1, 0)


def test_given_a_key_without_tickets_status_when_the_comment_sets_status_then_403_and_nothing_written(aws):
    t = make_tenant("NOS", scopes=["tickets:read", "tickets:write"])
    ticket = _ticket(t.key)
    before = items(aws, f"TENANT#{t.tenant_id}")
    _problem(_comment(t.key, ticket["id"], {"body": "x", "status": "solved"}), 403, "INSUFFICIENT_SCOPE")
    assert items(aws, f"TENANT#{t.tenant_id}") == before
    assert _comment(t.key, ticket["id"], {"body": "x"}).status == 201  # a reply alone needs tickets:write only


def test_given_a_closed_ticket_then_409_ticket_closed_and_nothing_written(aws, tenant):
    ticket = _ticket(tenant.key, status="closed")
    before = items(aws, f"TENANT#{tenant.tenant_id}")
    _problem(_comment(tenant.key, ticket["id"], {"body": "too late"}), 409, "TICKET_CLOSED")
    assert items(aws, f"TENANT#{tenant.tenant_id}") == before


def test_given_a_ticket_with_5000_comments_then_the_next_is_409_conflict(aws, tenant):
    ticket = _ticket(tenant.key)
    key = serialize({"PK": f"TENANT#{tenant.tenant_id}", "SK": f"TICKET#{ticket['id']}"})
    aws.update_item(TableName=TABLE, Key=key, UpdateExpression="SET commentCount = :n",
                    ExpressionAttributeValues={":n": {"N": "5000"}})  # fmt: skip
    _problem(_comment(tenant.key, ticket["id"], {"body": "one more"}), 409, "CONFLICT")


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"body": ""}, "body"),
        ({"body": "   "}, "body"),
        ({"body": "x" * 65_537}, "body"),
        ({}, "body"),
        ({"body": "x", "visibility": "secret"}, "visibility"),
        ({"body": "x", "attachmentIds": ["01JSQ4ZK8X3N5W7Y9B2C4D6F8H"] * 2}, "attachmentIds"),
        ({"body": "x", "attachmentIds": [f"01JSQ4ZK8X3N5W7Y9B2C4D6F{i:02d}" for i in range(11)]}, "attachmentIds"),
        ({"body": "x", "author": {"type": "customer"}}, "author"),
        ({"body": "x", "status": "done"}, "status"),
    ],
)
def test_given_bad_input_then_400_naming_the_field_and_nothing_written(aws, tenant, body, field):
    ticket = _ticket(tenant.key)
    before = items(aws, f"TENANT#{tenant.tenant_id}")
    resp = _comment(tenant.key, ticket["id"], body)
    assert resp.status in (400, 413) and resp.json["code"] in ("VALIDATION_ERROR", "PAYLOAD_TOO_LARGE"), resp.body
    if resp.status == 400:
        assert field in [e["field"] for e in resp.json["errors"]], resp.json["errors"]
    assert items(aws, f"TENANT#{tenant.tenant_id}") == before


def test_given_an_unknown_or_foreign_ticket_then_404(tenant, other_tenant):
    theirs = _ticket(other_tenant.key)
    for ticket_id in (theirs["id"], "01JSQ4ZK8X3N5W7Y9B2C4D6F8H", "INV-1", "nope"):
        _problem(_comment(tenant.key, ticket_id, {"body": "x"}), 404, "NOT_FOUND")
        _problem(call("GET", f"/v1/tickets/{ticket_id}/comments", key=tenant.key), 404, "NOT_FOUND")


def test_given_concurrent_comments_then_every_one_is_kept_and_counted(aws, tenant):
    ticket = _ticket(tenant.key)
    statuses: list[int] = []

    def post(i: int) -> None:
        statuses.append(_comment(tenant.key, ticket["id"], {"body": f"c{i}", "visibility": "internal"}).status)

    threads = [threading.Thread(target=post, args=(i,)) for i in range(12)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert statuses.count(201) == 12, statuses
    stored = [i for i in items(aws, f"TENANT#{tenant.tenant_id}") if i["SK"].startswith(f"COMMENT#{ticket['id']}#")]
    assert len(stored) == 12
    assert call("GET", f"/v1/tickets/{ticket['id']}", key=tenant.key).json["commentCount"] == 12


# ---- agent keys author as the agent


def test_given_an_agent_key_then_the_comment_is_authored_by_the_agent(tenant):
    grace = call("POST", "/v1/agents", key=tenant.key, body={"name": "Grace", "email": "grace@example.com"}).json
    body = {"scopes": ["tickets:write", "tickets:read"], "agentId": grace["id"]}
    agent_key = call("POST", "/v1/api-keys", key=tenant.key, body=body).json["key"]
    ticket = _ticket(tenant.key)
    comment = _comment(agent_key, ticket["id"], {"body": "On it"}).json
    assert comment["author"] == {"type": "agent", "id": grace["id"], "name": "Grace", "email": "grace@example.com"}


# ---- outbound email: what the write decides (the sender consumer is tested with SES)


def test_given_a_public_reply_to_a_customer_with_email_then_it_is_outbound_with_threading(aws, tenant):
    ticket = _ticket(tenant.key, customerId=_customer(tenant.key)["id"])

    first = _comment(tenant.key, ticket["id"], {"body": "First"}, parameters=DOMAIN).json
    second = _comment(tenant.key, ticket["id"], {"body": "Second"}, parameters=DOMAIN).json

    assert (first["direction"], first["to"], first["from"], first["fromName"]) == (
        "outbound", ["ann@example.com"], "tickets@example.com", "INV Corp")  # fmt: skip
    assert first["messageId"].startswith("<") and first["messageId"].endswith("@mail.example.com>")
    assert second["messageId"] != first["messageId"]
    stored = _item(aws, tenant.tenant_id, f"COMMENT#{ticket['id']}#{second['id']}")
    assert stored["inReplyTo"] == first["messageId"] and stored["references"] == [first["messageId"]]
    assert stored["subject"] == f"Re: [{ticket['reference']}] Card declined"
    token = stored["replyTo"].removeprefix("reply+").removesuffix("@mail.example.com")
    assert len(token) == 24 and token.isalnum() and token.islower()
    first_stored = _item(aws, tenant.tenant_id, f"COMMENT#{ticket['id']}#{first['id']}")
    assert first_stored["replyTo"] == stored["replyTo"]  # one token per ticket
    lookup = next(i for i in items(aws, f"REPLYTOKEN#{token}"))
    assert (lookup["tenantId"], lookup["ticketId"]) == (tenant.tenant_id, ticket["id"])
    ticket_item = _item(aws, tenant.tenant_id, f"TICKET#{ticket['id']}")
    assert ticket_item["messageIds"] == [first["messageId"], second["messageId"]]
    assert "replyToken" not in call("GET", f"/v1/tickets/{ticket['id']}", key=tenant.key).json


def test_given_a_requester_email_and_no_customer_then_the_requester_is_answered(tenant):
    ticket = _ticket(tenant.key, requester={"name": "Bo", "email": "bo@example.com"})
    assert _comment(tenant.key, ticket["id"], {"body": "Hi Bo"}).json["to"] == ["bo@example.com"]


def test_given_no_address_to_answer_then_a_public_reply_is_not_outbound(tenant):
    ticket = _ticket(tenant.key, customerId=_customer(tenant.key, email=None)["id"])
    comment = _comment(tenant.key, ticket["id"], {"body": "Hi"}).json
    assert (comment["direction"], comment["to"], comment["messageId"]) == (None, [], None)


def test_given_no_inbound_domain_then_replies_go_out_without_a_reply_token(aws, tenant):
    ticket = _ticket(tenant.key, customerId=_customer(tenant.key)["id"])
    comment = _comment(tenant.key, ticket["id"], {"body": "Hi"}).json
    stored = _item(aws, tenant.tenant_id, f"COMMENT#{ticket['id']}#{comment['id']}")
    assert comment["direction"] == "outbound" and "replyTo" not in stored
    assert comment["messageId"].endswith("@example.com>")  # the sender's own domain


# ---- attachments on a comment


def test_given_a_ready_attachment_then_the_comment_claims_it_and_no_other_comment_can(aws, tenant, resources):
    ticket = _ticket(tenant.key)
    _attachment(aws, tenant, "01JSQ4ZK8X3N5W7Y9B2C4D6F8H", file=True)

    comment = _comment(tenant.key, ticket["id"], {"body": "see PDF", "attachmentIds": ["01JSQ4ZK8X3N5W7Y9B2C4D6F8H"]})

    assert comment.status == 201, comment.body
    assert comment.json["attachments"] == [
        {"id": "01JSQ4ZK8X3N5W7Y9B2C4D6F8H", "filename": "invoice.pdf", "contentType": "application/pdf", "size": 1234}
    ]
    stored = _item(aws, tenant.tenant_id, "ATTACHMENT#01JSQ4ZK8X3N5W7Y9B2C4D6F8H")
    assert stored["commentId"] == comment.json["id"] and "expiresAt" not in stored
    tags = boto3.client("s3", region_name="us-east-1").get_object_tagging(
        Bucket=ATTACHMENTS_BUCKET, Key=f"t/{tenant.tenant_id}/01JSQ4ZK8X3N5W7Y9B2C4D6F8H"
    )["TagSet"]
    assert tags == [{"Key": "state", "Value": "claimed"}]  # the bucket's lifecycle rule no longer applies
    again = _comment(tenant.key, ticket["id"], {"body": "again", "attachmentIds": ["01JSQ4ZK8X3N5W7Y9B2C4D6F8H"]})
    _problem(again, 400, "INVALID_ATTACHMENT", "attachmentIds")


@pytest.mark.parametrize("state", ["pending", "rejected", None])
def test_given_an_attachment_that_is_not_ready_or_unknown_then_400_invalid_attachment_and_nothing_written(
    aws, tenant, state
):
    ticket = _ticket(tenant.key)
    if state:
        _attachment(aws, tenant, "01JSQ4ZK8X3N5W7Y9B2C4D6F8H", state=state)
    before = items(aws, f"TENANT#{tenant.tenant_id}")
    resp = _comment(tenant.key, ticket["id"], {"body": "x", "attachmentIds": ["01JSQ4ZK8X3N5W7Y9B2C4D6F8H"]})
    _problem(resp, 400, "INVALID_ATTACHMENT", "attachmentIds")
    assert items(aws, f"TENANT#{tenant.tenant_id}") == before


def test_given_another_tenants_ready_attachment_then_it_is_unknown_here(aws, tenant, other_tenant):
    _attachment(aws, other_tenant, "01JSQ4ZK8X3N5W7Y9B2C4D6F8H")
    ticket = _ticket(tenant.key)
    resp = _comment(tenant.key, ticket["id"], {"body": "x", "attachmentIds": ["01JSQ4ZK8X3N5W7Y9B2C4D6F8H"]})
    _problem(resp, 400, "INVALID_ATTACHMENT", "attachmentIds")
    assert "commentId" not in _item(aws, other_tenant.tenant_id, "ATTACHMENT#01JSQ4ZK8X3N5W7Y9B2C4D6F8H")


# ---- listing and redaction


def test_given_comments_then_listed_oldest_first_filtered_by_visibility_and_cursor_paged(tenant):
    ticket = _ticket(tenant.key)
    made = [_comment(tenant.key, ticket["id"], {"body": f"c{i}", "visibility": "internal" if i % 2 else "public"}).json
            for i in range(5)]  # fmt: skip
    page = call("GET", f"/v1/tickets/{ticket['id']}/comments", key=tenant.key, query={"limit": "2"}).json
    assert [c["id"] for c in page["data"]] == [made[0]["id"], made[1]["id"]] and page["total"] == 5
    rest = call("GET", f"/v1/tickets/{ticket['id']}/comments", key=tenant.key,
                query={"limit": "10", "cursor": page["nextCursor"]}).json  # fmt: skip
    assert [c["id"] for c in rest["data"]] == [c["id"] for c in made[2:]] and rest["nextCursor"] is None
    internal = call("GET", f"/v1/tickets/{ticket['id']}/comments", key=tenant.key, query={"visibility": "internal"})
    assert [c["id"] for c in internal.json["data"]] == [made[1]["id"], made[3]["id"]] and internal.json["total"] == 2


def test_given_a_comment_with_an_attachment_when_redacted_then_body_and_attachment_are_gone(aws, tenant, resources):
    s3 = boto3.client("s3", region_name="us-east-1")
    _attachment(aws, tenant, "01JSQ4ZK8X3N5W7Y9B2C4D6F8H", file=True)
    ticket = _ticket(tenant.key)
    comment = _comment(tenant.key, ticket["id"], {"body": "card 4111 1111 1111 1111",
                                                  "attachmentIds": ["01JSQ4ZK8X3N5W7Y9B2C4D6F8H"]}).json  # fmt: skip
    path = f"/v1/tickets/{ticket['id']}/comments/{comment['id']}/redact"
    assert s3.list_objects_v2(Bucket=ATTACHMENTS_BUCKET).get("KeyCount") == 1

    resp = call("POST", path, key=tenant.key)

    assert resp.status == 200, resp.body
    assert (resp.json["body"], resp.json["attachments"], resp.json["id"]) == ("[redacted]", [], comment["id"])
    assert resp.json["redactedAt"] >= comment["createdAt"]
    assert _item(aws, tenant.tenant_id, "ATTACHMENT#01JSQ4ZK8X3N5W7Y9B2C4D6F8H") is None
    assert s3.list_objects_v2(Bucket=ATTACHMENTS_BUCKET).get("KeyCount") == 0
    listed = call("GET", f"/v1/tickets/{ticket['id']}/comments", key=tenant.key).json["data"]
    assert listed[0]["body"] == "[redacted]" and "4111" not in str(listed)


def test_given_an_unknown_or_foreign_comment_when_redacted_then_404(tenant, other_tenant):
    theirs = _ticket(other_tenant.key)
    their_comment = _comment(other_tenant.key, theirs["id"], {"body": "secret"}).json
    for path in (f"/v1/tickets/{theirs['id']}/comments/{their_comment['id']}/redact",
                 f"/v1/tickets/{_ticket(tenant.key)['id']}/comments/{their_comment['id']}/redact"):  # fmt: skip
        _problem(call("POST", path, key=tenant.key), 404, "NOT_FOUND")
    assert call("GET", f"/v1/tickets/{theirs['id']}/comments", key=other_tenant.key).json["data"][0]["body"] == "secret"


def test_given_a_comment_when_the_history_consumer_has_run_then_history_shows_who_commented(aws, tenant):
    from tests.integration.test_event_order import _stream_events
    from tickets.logic.history import record

    ticket = _ticket(tenant.key)
    comment = _comment(tenant.key, ticket["id"], {"body": "Noted", "visibility": "internal"}).json
    record(_stream_events(ticket["id"]), frozenset({"created", "commented"}))  # what RecordTicketHistory does

    resp = call("GET", f"/v1/tickets/{ticket['id']}/history", key=tenant.key)

    assert resp.status == 200, resp.body
    entries = resp.json["data"]
    assert [e["type"] for e in entries] == ["created", "commented"]
    assert entries[1]["to"]["commentId"] == comment["id"] and entries[1]["to"]["visibility"] == "internal"
    assert entries[1]["at"] == comment["createdAt"]
