"""send_reply_emails: comments written through the real API handlers, their records read from moto's table stream and
filtered as Lambda would, then the real consumer handler against moto's SES (and S3 for attachments)."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest
from aws_lambda_powertools.utilities.batch.exceptions import BatchProcessingError
from botocore.exceptions import ClientError

from tests.conftest import ATTACHMENTS_BUCKET, TABLE, TenantKey, call, items
from tests.integration.test_metrics import emitted, m
from tests.utils import TableStream as Stream
from tickets.dal.client import serialize
from tools import localmail, template
from tools.events import FakeContext
from tools.eventsources import matches

FN = template.functions()["SendReplyEmailsFunction"]
DOMAIN = {"InboundEmailDomain": "mail.example.com"}
BUCKET = ATTACHMENTS_BUCKET  # the template gives the function AttachmentsBucket


@pytest.fixture
def stream(aws: Any) -> Stream:
    return Stream(aws, TABLE, FN.event_sources[0].filters)


@pytest.fixture
def handler(aws: Any) -> Any:
    from tickets.logic import reply_emails

    reply_emails.send_once.cache_clear()  # its idempotency store holds a client and the table name
    return template.load_handler(FN)


def run(handler: Any, records: list[dict[str, Any]]) -> list[str]:
    """Invoke the consumer with its function's own environment, as Lambda would; the failed records' ids."""
    from tickets.config import settings

    template.apply_env(FN, {"Table": TABLE, "AttachmentsBucket": ATTACHMENTS_BUCKET})
    settings.cache_clear()
    result = handler({"Records": records}, FakeContext(FN.name))
    return [f["itemIdentifier"] for f in result["batchItemFailures"]]


def customer(key: str, email: str | None = "ann@example.org", name: str = "Ann Lee") -> dict[str, Any]:
    body = {"externalId": "cus_1", "name": name, **({"email": email} if email else {})}
    resp = call("POST", "/v1/customers", key=key, body=body)
    assert resp.status == 201, resp.body
    return resp.json


def ticket(key: str, **fields: Any) -> dict[str, Any]:
    resp = call("POST", "/v1/tickets", key=key, body={"subject": "Card declined", **fields})
    assert resp.status == 201, resp.body
    return resp.json


def reply(key: str, ticket_id: str, body: str, **fields: Any) -> dict[str, Any]:
    resp = call("POST", f"/v1/tickets/{ticket_id}/comments", key=key, body={"body": body, **fields},
                parameters=DOMAIN)  # fmt: skip
    assert resp.status == 201, resp.body
    return resp.json


def sequence(record: dict[str, Any]) -> str:
    return str(record["dynamodb"]["SequenceNumber"])


# ---------------------------------------------------------------- a reply goes out, once, threaded


def test_given_two_public_replies_then_one_email_each_with_reply_to_and_the_second_threaded_on_the_first(
    aws, tenant: TenantKey, stream: Stream, handler
):
    t = ticket(tenant.key, customerId=customer(tenant.key)["id"])
    first = reply(tenant.key, t["id"], "Hello Ann,\n\nwe are on it.")
    assert run(handler, stream.new()) == []
    second = reply(tenant.key, t["id"], "Fixed now.")
    assert run(handler, stream.new()) == []

    newest, oldest = localmail.sent_emails()
    token = next(i for i in items(aws, f"TENANT#{tenant.tenant_id}") if i["SK"] == f"TICKET#{t['id']}")["replyToken"]
    for mail in (oldest, newest):
        h = mail["headers"]
        assert (mail["from"], mail["to"]) == ("tickets@example.com", ["ann@example.org"])
        assert h["From"] == "INV Corp <tickets@example.com>" and h["To"] == "ann@example.org"
        assert h["Reply-To"] == f"reply+{token}@mail.example.com"
        assert h["Subject"] == mail["subject"] == f"Re: [{t['reference']}] Card declined"
        assert "Auto-Submitted" not in h and mail["attachments"] == []
    assert oldest["headers"]["Message-ID"] == first["messageId"]
    assert "In-Reply-To" not in oldest["headers"] and "References" not in oldest["headers"]
    assert newest["headers"]["Message-ID"] == second["messageId"]
    assert newest["headers"]["In-Reply-To"] == newest["headers"]["References"] == first["messageId"]
    footer = f"Ticket {t['reference']}. Reply to this email to answer."
    assert oldest["text"] == f"Hello Ann,\n\nwe are on it.\n\n-- \n{footer}\n"
    assert "<p>Hello Ann,</p>\n<p>we are on it.</p>" in oldest["html"]


def test_given_a_requester_without_a_customer_then_the_requester_is_emailed(aws, tenant, stream, handler):
    t = ticket(tenant.key, requester={"name": "Bo", "email": "bo@example.com"})
    reply(tenant.key, t["id"], "Hi Bo")

    assert run(handler, stream.new()) == []
    assert [m["to"] for m in localmail.sent_emails()] == [["bo@example.com"]]


def test_given_html_in_a_reply_then_the_text_part_has_it_as_typed_and_the_html_part_escaped(
    aws, tenant, stream, handler
):
    t = ticket(tenant.key, customerId=customer(tenant.key)["id"], subject="Card <b>declined</b>")
    body = 'See <script>alert(1)</script> and <img src=x onerror="alert(2)">'
    reply(tenant.key, t["id"], body)

    assert run(handler, stream.new()) == []
    (mail,) = localmail.sent_emails()
    assert mail["text"].startswith(body + "\n\n-- \n")
    assert "<script" not in mail["html"] and "<img" not in mail["html"] and "<b>" not in mail["html"]
    escaped = "See &lt;script&gt;alert(1)&lt;/script&gt; and &lt;img src=x onerror=&quot;alert(2)&quot;&gt;"
    assert escaped in mail["html"]
    assert "<title>Re: [INV-1] Card &lt;b&gt;declined&lt;/b&gt;</title>" in mail["html"]
    assert mail["subject"] == "Re: [INV-1] Card <b>declined</b>"  # a subject is text, never rendered


def test_given_a_sent_reply_when_the_stream_redelivers_the_record_then_no_second_email(aws, tenant, stream, handler):
    t = ticket(tenant.key, customerId=customer(tenant.key)["id"])
    reply(tenant.key, t["id"], "Once")
    records = stream.new()

    assert run(handler, records) == []
    assert run(handler, records) == []
    assert run(handler, records) == []
    assert len(localmail.sent_emails()) == 1


def test_given_a_crash_after_the_send_when_the_record_is_retried_then_no_second_email(aws, tenant, stream, handler):
    from tickets.consumers import stream_consumer
    from tickets.logic.reply_emails import send_reply_emails

    def send_then_crash(events: Any, state: dict[str, Any]) -> None:
        send_reply_emails(events, state["record"], state.get("context"))
        raise RuntimeError("crash after the email went out")

    t = ticket(tenant.key, customerId=customer(tenant.key)["id"])
    reply(tenant.key, t["id"], "Once")
    records = stream.new()
    template.apply_env(FN, {"Table": TABLE})
    with pytest.raises(BatchProcessingError):  # every record failed: Lambda retries the whole batch
        stream_consumer(send_then_crash)({"Records": records}, FakeContext(FN.name))
    assert len(localmail.sent_emails()) == 1

    assert run(handler, records) == []  # the retry, with the real handler
    assert len(localmail.sent_emails()) == 1


def test_given_ses_throttles_once_then_the_record_fails_and_its_retry_sends_exactly_once(
    aws, tenant, stream, handler, monkeypatch, capsys
):
    from tickets.aws import client

    a = ticket(tenant.key, customerId=customer(tenant.key)["id"])
    b = ticket(tenant.key, requester={"email": "b@x.io"})
    reply(tenant.key, a["id"], "To Ann")
    reply(tenant.key, b["id"], "To B")
    records = stream.new()
    ses = client("sesv2")
    real, calls = ses.send_email, []

    def throttled_once(**kwargs: Any) -> Any:
        calls.append(kwargs)
        if len(calls) == 1:
            raise ClientError({"Error": {"Code": "TooManyRequestsException", "Message": "Rate exceeded"}}, "SendEmail")
        return real(**kwargs)

    monkeypatch.setattr(ses, "send_email", throttled_once)
    capsys.readouterr()

    assert run(handler, records) == [sequence(records[0])]  # reported, not dropped; the other reply went out
    assert [m["to"] for m in localmail.sent_emails()] == [["b@x.io"]]
    assert emitted(capsys.readouterr().out) == {m("Throttles", source="consumer"): 1, m("EmailsSent"): 1}

    assert run(handler, records) == []  # Lambda retries from the failed record
    assert sorted(m["to"][0] for m in localmail.sent_emails()) == ["ann@example.org", "b@x.io"]
    assert len(calls) == 3 and all("Raw" in c["Content"] for c in calls)
    assert emitted(capsys.readouterr().out) == {m("EmailsSent"): 1}


# ---------------------------------------------------------------- what is never emailed


def test_given_an_internal_note_a_customer_comment_and_a_reply_to_nobody_then_no_email(aws, tenant, stream, handler):
    t = ticket(tenant.key, customerId=customer(tenant.key)["id"])
    reply(tenant.key, t["id"], "Card issuer is down", visibility="internal")
    nobody = ticket(tenant.key, customerId=None, requester={"name": "No Mail"})
    reply(tenant.key, nobody["id"], "Hello?")
    inbound = {
        "PK": f"TENANT#{tenant.tenant_id}", "SK": f"COMMENT#{t['id']}#01KQ219W80DEM0C0MMENT0000C", "type": "comment",
        "tenantId": tenant.tenant_id, "id": "01KQ219W80DEM0C0MMENT0000C", "ticketId": t["id"], "body": "Thanks!",
        "visibility": "public", "channel": "email", "direction": "inbound", "from": "ann@example.org",
        "to": ["inv@mail.example.com"], "messageId": "<abc@example.org>", "attachments": [],
        "author": {"type": "customer", "id": None, "name": "Ann", "email": "ann@example.org"},
        "createdAt": "2026-04-25T10:00:00.000Z", "ticket": t,
    }  # fmt: skip
    aws.put_item(TableName=TABLE, Item=serialize(inbound))  # as the inbound email consumer writes one

    every = stream.new(filtered=False)
    comments = [r for r in every if r["dynamodb"]["Keys"]["SK"]["S"].startswith("COMMENT#")]
    assert len(comments) == 3
    assert not [r for r in every if matches(FN.event_sources[0].filters, r)]  # Lambda would not even invoke it
    assert run(handler, comments) == []  # and given them anyway, the consumer sends nothing
    assert localmail.sent_emails() == []


# ---------------------------------------------------------------- refused for good: dropped, counted, not retried


def test_given_ses_rejects_the_message_then_no_retry_no_email_and_it_is_counted(
    aws, tenant, stream, handler, monkeypatch, capsys
):
    from tickets.aws import client

    t = ticket(tenant.key, customerId=customer(tenant.key)["id"])
    reply(tenant.key, t["id"], "Rejected")
    records = stream.new()
    ses, calls = client("sesv2"), []

    def rejected(**kwargs: Any) -> Any:
        calls.append(kwargs)
        raise ClientError({"Error": {"Code": "MessageRejected", "Message": "Email address is not verified."}}, "x")

    monkeypatch.setattr(ses, "send_email", rejected)
    capsys.readouterr()

    assert run(handler, records) == []
    assert run(handler, records) == []  # a redelivery does not ask SES again
    assert len(calls) == 1 and localmail.sent_emails() == []
    assert emitted(capsys.readouterr().out) == {m("EmailsRejected"): 1}
    (outcome,) = items(aws, "IDEMPOTENCY#send_reply_emails")  # the saved outcome a redelivery replays
    assert (outcome["status"], json.loads(outcome["data"])) == ("COMPLETED", {"rejected": "MessageRejected"})


def test_given_a_requester_address_no_email_can_go_to_then_dropped_and_counted_without_calling_ses(
    aws, tenant, stream, handler, capsys
):
    t = ticket(tenant.key, requester={"name": "Typo", "email": "ann at example.org"})  # requester emails are free text
    reply(tenant.key, t["id"], "Hello")
    capsys.readouterr()

    assert run(handler, stream.new()) == []
    assert localmail.sent_emails() == []
    assert emitted(capsys.readouterr().out) == {m("EmailsRejected"): 1}
    (outcome,) = items(aws, "IDEMPOTENCY#send_reply_emails")
    assert json.loads(outcome["data"]) == {"rejected": "unsendable"}


# ---------------------------------------------------------------- attachments (the bucket is ATTACHMENTS_BUCKET)


def _attachment(aws: Any, tenant: TenantKey, attachment_id: str, content: bytes, size: int | None = None) -> None:
    """A ready attachment and its file, as the upload checker leaves them."""
    boto3.client("s3", region_name="us-east-1").put_object(
        Bucket=BUCKET, Key=f"t/{tenant.tenant_id}/{attachment_id}", Body=content
    )
    item = {
        "PK": f"TENANT#{tenant.tenant_id}", "SK": f"ATTACHMENT#{attachment_id}", "type": "attachment",
        "tenantId": tenant.tenant_id, "id": attachment_id, "filename": f"{attachment_id[-1]}.pdf",
        "contentType": "application/pdf", "size": len(content) if size is None else size, "state": "ready",
        "expiresAt": 4102444800,  # unclaimed records expire; this one is well within its day
    }  # fmt: skip
    aws.put_item(TableName=TABLE, Item=serialize(item))


@pytest.fixture
def bucket(aws: Any, monkeypatch: pytest.MonkeyPatch) -> str:
    boto3.client("s3", region_name="us-east-1").create_bucket(Bucket=BUCKET)
    monkeypatch.setenv("ATTACHMENTS_BUCKET", BUCKET)  # as the template gives it, for handlers run without call()
    return BUCKET


def test_given_attachments_up_to_10_mb_then_they_travel_as_files(aws, tenant, stream, handler, bucket):
    ids = ["01KQ219W80DEM0ATTACH00000A", "01KQ219W80DEM0ATTACH00000B"]
    _attachment(aws, tenant, ids[0], b"%PDF-1.7 a")
    _attachment(aws, tenant, ids[1], b"%PDF-1.7 bb")
    t = ticket(tenant.key, customerId=customer(tenant.key)["id"])
    reply(tenant.key, t["id"], "Both attached", attachmentIds=ids)

    assert run(handler, stream.new()) == []
    (mail,) = localmail.sent_emails()
    assert mail["attachments"] == [
        {"filename": "A.pdf", "contentType": "application/pdf", "size": 10},
        {"filename": "B.pdf", "contentType": "application/pdf", "size": 11},
    ]
    assert "Not included" not in mail["text"]


def test_given_attachments_over_10_mb_in_all_then_named_in_the_text_not_attached(aws, tenant, stream, handler, bucket):
    ids = ["01KQ219W80DEM0ATTACH00000A", "01KQ219W80DEM0ATTACH00000B"]
    _attachment(aws, tenant, ids[0], b"%PDF-1.7 a", size=6 * 2**20)
    _attachment(aws, tenant, ids[1], b"%PDF-1.7 b", size=5 * 2**20)
    t = ticket(tenant.key, customerId=customer(tenant.key)["id"])
    reply(tenant.key, t["id"], "Too big", attachmentIds=ids)

    assert run(handler, stream.new()) == []
    (mail,) = localmail.sent_emails()
    assert mail["attachments"] == []
    assert "Not included in this email: A.pdf (6.0 MB), B.pdf (5.0 MB)\n" in mail["text"]


def test_given_an_attachment_file_gone_meanwhile_then_the_reply_goes_out_naming_it(
    aws, tenant, stream, handler, bucket
):
    _attachment(aws, tenant, "01KQ219W80DEM0ATTACH00000A", b"%PDF-1.7")
    t = ticket(tenant.key, customerId=customer(tenant.key)["id"])
    reply(tenant.key, t["id"], "Gone", attachmentIds=["01KQ219W80DEM0ATTACH00000A"])
    boto3.client("s3", region_name="us-east-1").delete_object(
        Bucket=BUCKET, Key=f"t/{tenant.tenant_id}/01KQ219W80DEM0ATTACH00000A"
    )

    assert run(handler, stream.new()) == []
    (mail,) = localmail.sent_emails()
    assert mail["attachments"] == [] and "Not included in this email: A.pdf (8 bytes)" in mail["text"]


def test_given_the_template_then_the_function_reads_inserts_of_public_outbound_comments_with_a_dlq(aws):
    (source,) = FN.event_sources
    assert source.on_failure == "StreamFailureDLQ" and source.report_batch_item_failures and source.bisect_on_error
    statements = [st for p in template.load()["Resources"][FN.name]["Properties"]["Policies"] for st in p["Statement"]]
    actions = sorted(a for st in statements for a in st["Action"])
    assert actions == sorted(["dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem",
                              "sqs:SendMessage", "ses:SendEmail", "s3:GetObject"])  # fmt: skip
